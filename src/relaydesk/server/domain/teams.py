"""Teams: groups of users with a shared queue (ATT-3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import Team, TeamMember, User
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.ownership import clean_name, ensure_name_free, get_owned
from relaydesk.server.domain.permissions import Permission


async def members_of(db: AsyncSession, team_ids: list[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {tid: [] for tid in team_ids}
    if team_ids:
        rows = await db.execute(
            select(TeamMember.team_id, TeamMember.user_id)
            .where(TeamMember.team_id.in_(team_ids))
            .order_by(TeamMember.user_id)
        )
        for tid, uid in rows:
            result[tid].append(uid)
    return result


async def _set_members(db: AsyncSession, team: Team, member_ids: list[int]) -> list[int]:
    wanted = sorted(set(member_ids))
    for user_id in wanted:
        await get_owned(db, User, user_id, team.organisation_id, "user")
    await db.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    for user_id in wanted:
        db.add(TeamMember(team_id=team.id, user_id=user_id))
    await db.flush()
    return wanted


async def list_teams(db: AsyncSession, actor: Actor) -> list[Team]:
    actor.require(Permission.ADMINISTER)
    rows = await db.execute(
        select(Team).where(Team.organisation_id == actor.organisation_id).order_by(Team.name)
    )
    return list(rows.scalars())


async def get_team(db: AsyncSession, actor: Actor, team_id: int) -> Team:
    actor.require(Permission.ADMINISTER)
    return await get_owned(db, Team, team_id, actor.organisation_id, "team")


async def create_team(
    db: AsyncSession, actor: Actor, name: str, description: str, member_ids: list[int]
) -> Team:
    actor.require(Permission.ADMINISTER)
    name = clean_name(name, "team")
    await ensure_name_free(db, Team, actor.organisation_id, name, "team")
    team = Team(organisation_id=actor.organisation_id, name=name, description=description.strip())
    db.add(team)
    await db.flush()
    members = await _set_members(db, team, member_ids)
    await audit.record(
        db,
        actor.who,
        "team.created",
        target=f"team:{team.id}",
        details={"name": name, "members": members},
    )
    return team


async def update_team(
    db: AsyncSession, actor: Actor, team_id: int, changes: dict[str, Any]
) -> Team:
    team = await get_team(db, actor, team_id)
    details: dict[str, Any] = {}
    if "name" in changes:
        name = clean_name(changes["name"], "team")
        await ensure_name_free(db, Team, actor.organisation_id, name, "team", exclude_id=team.id)
        if name != team.name:
            details["name"] = {"from": team.name, "to": name}
            team.name = name
    if "description" in changes and changes["description"] != team.description:
        details["description"] = {"from": team.description, "to": changes["description"]}
        team.description = changes["description"].strip()
    if "member_ids" in changes:
        before = (await members_of(db, [team.id]))[team.id]
        after = await _set_members(db, team, changes["member_ids"])
        if before != after:
            details["members"] = {"from": before, "to": after}
    if details:
        await audit.record(db, actor.who, "team.updated", target=f"team:{team.id}", details=details)
    return team


async def delete_team(db: AsyncSession, actor: Actor, team_id: int) -> None:
    team = await get_team(db, actor, team_id)
    await db.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    await db.delete(team)
    await audit.record(
        db, actor.who, "team.deleted", target=f"team:{team_id}", details={"name": team.name}
    )


async def teams_of_user(db: AsyncSession, user: User) -> list[Team]:
    rows = await db.execute(
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == user.id)
        .order_by(Team.name)
    )
    return list(rows.scalars())
