"""Device groups: the scope of role assignments (GOV-3). Devices join them in later work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import DeviceGroup, RoleAssignment
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.errors import Conflict
from relaydesk.server.domain.ownership import clean_name, ensure_name_free, get_owned
from relaydesk.server.domain.permissions import Permission


async def list_groups(db: AsyncSession, actor: Actor) -> list[DeviceGroup]:
    actor.require(Permission.ADMINISTER)
    rows = await db.execute(
        select(DeviceGroup)
        .where(DeviceGroup.organisation_id == actor.organisation_id)
        .order_by(DeviceGroup.name)
    )
    return list(rows.scalars())


async def get_group(db: AsyncSession, actor: Actor, group_id: int) -> DeviceGroup:
    actor.require(Permission.ADMINISTER)
    return await get_owned(db, DeviceGroup, group_id, actor.organisation_id, "device_group")


async def create_group(db: AsyncSession, actor: Actor, name: str, description: str) -> DeviceGroup:
    actor.require(Permission.ADMINISTER)
    name = clean_name(name, "device group")
    await ensure_name_free(db, DeviceGroup, actor.organisation_id, name, "device group")
    group = DeviceGroup(
        organisation_id=actor.organisation_id, name=name, description=description.strip()
    )
    db.add(group)
    await db.flush()
    await audit.record(
        db,
        actor.who,
        "device_group.created",
        target=f"device_group:{group.id}",
        details={"name": name},
    )
    return group


async def update_group(
    db: AsyncSession, actor: Actor, group_id: int, changes: dict[str, Any]
) -> DeviceGroup:
    group = await get_group(db, actor, group_id)
    diff: dict[str, Any] = {}
    if "name" in changes:
        name = clean_name(changes["name"], "device group")
        await ensure_name_free(
            db, DeviceGroup, actor.organisation_id, name, "device group", exclude_id=group.id
        )
        if name != group.name:
            diff["name"] = {"from": group.name, "to": name}
            group.name = name
    if "description" in changes and changes["description"].strip() != group.description:
        diff["description"] = {"from": group.description, "to": changes["description"].strip()}
        group.description = changes["description"].strip()
    if diff:
        await audit.record(
            db, actor.who, "device_group.updated", target=f"device_group:{group.id}", details=diff
        )
    return group


async def delete_group(db: AsyncSession, actor: Actor, group_id: int) -> None:
    group = await get_group(db, actor, group_id)
    rows = await db.execute(
        select(RoleAssignment.device_group_ids).where(RoleAssignment.all_devices.is_(False))
    )
    if any(group.id in ids for (ids,) in rows):
        raise Conflict(
            "device_group_in_use",
            f"The device group '{group.name}' is the scope of a role assignment; "
            "change that assignment first.",
        )
    await db.delete(group)
    await audit.record(
        db,
        actor.who,
        "device_group.deleted",
        target=f"device_group:{group.id}",
        details={"name": group.name},
    )
