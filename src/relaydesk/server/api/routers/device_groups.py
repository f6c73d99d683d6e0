"""Administration of device groups."""

from fastapi import Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from relaydesk.server.api import schemas
from relaydesk.server.api.deps import CurrentActor, Db
from relaydesk.server.api.routers import api_router
from relaydesk.server.domain import device_groups

router = api_router("/device-groups", tags=["device groups"])


@router.get("", response_model=list[schemas.DeviceGroupOut])
async def list_groups(db: Db, actor: CurrentActor) -> list[schemas.DeviceGroupOut]:
    rows = await device_groups.list_groups(db, actor)
    return [schemas.DeviceGroupOut.model_validate(g) for g in rows]


@router.post("", response_model=schemas.DeviceGroupOut, status_code=HTTP_201_CREATED)
async def create_group(
    body: schemas.DeviceGroupCreate, db: Db, actor: CurrentActor
) -> schemas.DeviceGroupOut:
    group = await device_groups.create_group(db, actor, body.name, body.description)
    return schemas.DeviceGroupOut.model_validate(group)


@router.get("/{group_id}", response_model=schemas.DeviceGroupOut)
async def get_group(group_id: schemas.Id, db: Db, actor: CurrentActor) -> schemas.DeviceGroupOut:
    return schemas.DeviceGroupOut.model_validate(await device_groups.get_group(db, actor, group_id))


@router.patch("/{group_id}", response_model=schemas.DeviceGroupOut)
async def update_group(
    group_id: schemas.Id, body: schemas.DeviceGroupUpdate, db: Db, actor: CurrentActor
) -> schemas.DeviceGroupOut:
    group = await device_groups.update_group(db, actor, group_id, schemas.present_fields(body))
    return schemas.DeviceGroupOut.model_validate(group)


@router.delete("/{group_id}", status_code=HTTP_204_NO_CONTENT)
async def delete_group(group_id: schemas.Id, db: Db, actor: CurrentActor) -> Response:
    await device_groups.delete_group(db, actor, group_id)
    return Response(status_code=HTTP_204_NO_CONTENT)
