"""Issue types: what the portal's issue form offers; each routes to one team's queue (ATT-2)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import DeviceGroup, IssueType, Team
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.ownership import clean_name, ensure_name_free, get_owned
from relaydesk.server.domain.permissions import Permission


async def list_issue_types(db: AsyncSession, actor: Actor) -> list[IssueType]:
    actor.require(Permission.ADMINISTER)
    rows = await db.execute(
        select(IssueType)
        .where(IssueType.organisation_id == actor.organisation_id)
        .order_by(IssueType.name)
    )
    return list(rows.scalars())


async def create_issue_type(
    db: AsyncSession, actor: Actor, name: str, team_id: int, device_group_id: int | None = None
) -> IssueType:
    """device_group_id: the group the customer's computer joins (GOV-3 scope); None: no group,
    so that only technicians whose roles reach all devices see these sessions."""
    actor.require(Permission.ADMINISTER)
    name = clean_name(name, "issue type")
    await ensure_name_free(db, IssueType, actor.organisation_id, name, "issue type")
    await get_owned(db, Team, team_id, actor.organisation_id, "team")
    if device_group_id is not None:
        await get_owned(db, DeviceGroup, device_group_id, actor.organisation_id, "device_group")
    row = IssueType(
        organisation_id=actor.organisation_id,
        name=name,
        team_id=team_id,
        device_group_id=device_group_id,
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        actor.who,
        "issue_type.created",
        target=f"issue_type:{row.id}",
        details={"name": name, "team_id": team_id, "device_group_id": device_group_id},
    )
    return row


async def update_issue_type(
    db: AsyncSession, actor: Actor, issue_type_id: int, changes: dict[str, Any]
) -> IssueType:
    actor.require(Permission.ADMINISTER)
    row = await get_owned(db, IssueType, issue_type_id, actor.organisation_id, "issue_type")
    diff: dict[str, Any] = {}
    if "name" in changes:
        name = clean_name(changes["name"], "issue type")
        await ensure_name_free(
            db, IssueType, actor.organisation_id, name, "issue type", exclude_id=row.id
        )
        if name != row.name:
            diff["name"] = {"from": row.name, "to": name}
            row.name = name
    if "team_id" in changes and changes["team_id"] != row.team_id:
        await get_owned(db, Team, changes["team_id"], actor.organisation_id, "team")
        diff["team_id"] = {"from": row.team_id, "to": changes["team_id"]}
        row.team_id = changes["team_id"]
    if "device_group_id" in changes and changes["device_group_id"] != row.device_group_id:
        if changes["device_group_id"] is not None:
            await get_owned(
                db, DeviceGroup, changes["device_group_id"], actor.organisation_id, "device_group"
            )
        diff["device_group_id"] = {"from": row.device_group_id, "to": changes["device_group_id"]}
        row.device_group_id = changes["device_group_id"]
    if diff:
        await audit.record(
            db, actor.who, "issue_type.updated", target=f"issue_type:{row.id}", details=diff
        )
    return row


async def delete_issue_type(db: AsyncSession, actor: Actor, issue_type_id: int) -> None:
    actor.require(Permission.ADMINISTER)
    row = await get_owned(db, IssueType, issue_type_id, actor.organisation_id, "issue_type")
    await db.delete(row)
    await audit.record(
        db,
        actor.who,
        "issue_type.deleted",
        target=f"issue_type:{row.id}",
        details={"name": row.name},
    )
