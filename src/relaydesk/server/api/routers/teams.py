"""Administration of teams."""

from fastapi import Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from relaydesk.server.api import schemas
from relaydesk.server.api.deps import CurrentActor, Db
from relaydesk.server.api.routers import api_router
from relaydesk.server.db.models import Team
from relaydesk.server.domain import teams

router = api_router("/teams", tags=["teams"])


async def _present(db: Db, rows: list[Team]) -> list[schemas.TeamOut]:
    members = await teams.members_of(db, [t.id for t in rows])
    return [
        schemas.TeamOut(id=t.id, name=t.name, description=t.description, member_ids=members[t.id])
        for t in rows
    ]


@router.get("", response_model=list[schemas.TeamOut])
async def list_teams(db: Db, actor: CurrentActor) -> list[schemas.TeamOut]:
    return await _present(db, await teams.list_teams(db, actor))


@router.post("", response_model=schemas.TeamOut, status_code=HTTP_201_CREATED)
async def create_team(body: schemas.TeamCreate, db: Db, actor: CurrentActor) -> schemas.TeamOut:
    team = await teams.create_team(db, actor, body.name, body.description, body.member_ids)
    return (await _present(db, [team]))[0]


@router.get("/{team_id}", response_model=schemas.TeamOut)
async def get_team(team_id: schemas.Id, db: Db, actor: CurrentActor) -> schemas.TeamOut:
    return (await _present(db, [await teams.get_team(db, actor, team_id)]))[0]


@router.patch("/{team_id}", response_model=schemas.TeamOut)
async def update_team(
    team_id: schemas.Id, body: schemas.TeamUpdate, db: Db, actor: CurrentActor
) -> schemas.TeamOut:
    team = await teams.update_team(db, actor, team_id, schemas.present_fields(body))
    return (await _present(db, [team]))[0]


@router.delete("/{team_id}", status_code=HTTP_204_NO_CONTENT)
async def delete_team(team_id: schemas.Id, db: Db, actor: CurrentActor) -> Response:
    await teams.delete_team(db, actor, team_id)
    return Response(status_code=HTTP_204_NO_CONTENT)
