"""Administration of roles and the permission vocabulary."""

from fastapi import Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from relaydesk.server.api import presenters, schemas
from relaydesk.server.api.deps import CurrentActor, Db
from relaydesk.server.api.routers import api_router
from relaydesk.server.domain import roles
from relaydesk.server.domain.permissions import PERMISSION_LABELS, Permission

router = api_router(tags=["roles"])


@router.get("/permissions", response_model=list[schemas.PermissionOut])
async def list_permissions(actor: CurrentActor) -> list[schemas.PermissionOut]:
    return [schemas.PermissionOut(key=p.value, label=PERMISSION_LABELS[p]) for p in Permission]


@router.get("/roles", response_model=list[schemas.RoleOut])
async def list_roles(db: Db, actor: CurrentActor) -> list[schemas.RoleOut]:
    return await presenters.roles(db, await roles.list_roles(db, actor))


@router.post("/roles", response_model=schemas.RoleOut, status_code=HTTP_201_CREATED)
async def create_role(body: schemas.RoleCreate, db: Db, actor: CurrentActor) -> schemas.RoleOut:
    role = await roles.create_role(
        db, actor, body.name, body.description, body.permissions, body.allowed_paths
    )
    return (await presenters.roles(db, [role]))[0]


@router.get("/roles/{role_id}", response_model=schemas.RoleOut)
async def get_role(role_id: schemas.Id, db: Db, actor: CurrentActor) -> schemas.RoleOut:
    return (await presenters.roles(db, [await roles.get_role(db, actor, role_id)]))[0]


@router.patch("/roles/{role_id}", response_model=schemas.RoleOut)
async def update_role(
    role_id: schemas.Id, body: schemas.RoleUpdate, db: Db, actor: CurrentActor
) -> schemas.RoleOut:
    role = await roles.update_role(db, actor, role_id, schemas.present_fields(body))
    return (await presenters.roles(db, [role]))[0]


@router.delete("/roles/{role_id}", status_code=HTTP_204_NO_CONTENT)
async def delete_role(role_id: schemas.Id, db: Db, actor: CurrentActor) -> Response:
    await roles.delete_role(db, actor, role_id)
    return Response(status_code=HTTP_204_NO_CONTENT)
