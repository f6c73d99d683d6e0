"""Device groups: the scope of role assignments (GOV-3). A device joins the group its session key
or its issue type names; a device without a group is reached by all-devices assignments only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import DeviceGroup, RoleAssignment
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.errors import Conflict, Invalid, NotFound
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


async def groups_in_scope(db: AsyncSession, actor: Actor) -> list[DeviceGroup]:
    """The groups whose devices the technician may help: what a session key he generates may
    put its device in."""
    query = select(DeviceGroup).where(DeviceGroup.organisation_id == actor.organisation_id)
    if not actor.permissions.reaches_every_group():
        query = query.where(DeviceGroup.id.in_(actor.permissions.groups_reached()))
    rows = await db.execute(query.order_by(DeviceGroup.name))
    return list(rows.scalars())


async def group_for_key(db: AsyncSession, actor: Actor, group_id: int | None) -> int | None:
    """Check the group a technician picked for a key's device: it must be in his scope, so that
    the session it starts is one he may see. No group is in the scope of all-devices
    assignments only."""
    if group_id is None:
        if not actor.permissions.reaches(None):
            raise Invalid(
                "device_group_required",
                "Pick the device group of the customer's computer: your roles reach only "
                "devices in the groups they name.",
                field="device_group_id",
            )
        return None
    group = await db.get(DeviceGroup, group_id)
    if (
        group is None
        or group.organisation_id != actor.organisation_id
        or not actor.permissions.reaches(group.id)
    ):
        # The same answer for a group outside his scope as for none at all.
        raise NotFound("device_group_not_found", f"No device group with id {group_id}.")
    return group.id


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
