"""Administration of the portal's issue types."""

from fastapi import Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from relaydesk.server.api import schemas
from relaydesk.server.api.deps import CurrentActor, Db
from relaydesk.server.api.routers import api_router
from relaydesk.server.domain import issue_types

router = api_router("/issue-types", tags=["issue types"])


@router.get("", response_model=list[schemas.IssueTypeOut])
async def list_issue_types(db: Db, actor: CurrentActor) -> list[schemas.IssueTypeOut]:
    rows = await issue_types.list_issue_types(db, actor)
    return [schemas.IssueTypeOut.model_validate(r) for r in rows]


@router.post("", response_model=schemas.IssueTypeOut, status_code=HTTP_201_CREATED)
async def create_issue_type(
    body: schemas.IssueTypeCreate, db: Db, actor: CurrentActor
) -> schemas.IssueTypeOut:
    row = await issue_types.create_issue_type(
        db, actor, body.name, body.team_id, body.device_group_id
    )
    return schemas.IssueTypeOut.model_validate(row)


@router.patch("/{issue_type_id}", response_model=schemas.IssueTypeOut)
async def update_issue_type(
    issue_type_id: schemas.Id, body: schemas.IssueTypeUpdate, db: Db, actor: CurrentActor
) -> schemas.IssueTypeOut:
    changes = schemas.present_fields(body)
    if "device_group_id" in body.model_fields_set:  # null is meaningful here: no group
        changes["device_group_id"] = body.device_group_id
    row = await issue_types.update_issue_type(db, actor, issue_type_id, changes)
    return schemas.IssueTypeOut.model_validate(row)


@router.delete("/{issue_type_id}", status_code=HTTP_204_NO_CONTENT)
async def delete_issue_type(issue_type_id: schemas.Id, db: Db, actor: CurrentActor) -> Response:
    await issue_types.delete_issue_type(db, actor, issue_type_id)
    return Response(status_code=HTTP_204_NO_CONTENT)
