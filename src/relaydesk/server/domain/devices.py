"""Devices: the computers agents run on, each with its own Ed25519 key pair, enrolled once. A
support session attaches to a device; presence and the agent's commands are the device's, and a
device keeps the history of its sessions. Attended devices are temporary: removed (removed_at)
when their session ends and the agent has cleaned up."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import Device, SupportSession
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.errors import NotFound
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.session_queues import SessionCard, card
from relaydesk.server.domain.support_sessions import can_see


async def get_visible(db: AsyncSession, actor: Actor, device_id: int) -> Device:
    """The device, if it is in the technician's organisation and scope (GOV-3); else, existing
    or not, device_not_found (404), as for sessions."""
    device = await db.get(Device, device_id)
    if (
        device is None
        or device.organisation_id != actor.organisation_id
        or not actor.permissions.reaches(device.device_group_id, device.id)
    ):
        raise NotFound("device_not_found", f"No device with id {device_id}.")
    return device


async def sessions_of(
    db: AsyncSession, actor: Actor, device_id: int
) -> tuple[Device, list[SessionCard]]:
    """A device's sessions, newest first: those the technician sees (can_see: his own, his
    queues'), all of them for one who may administer (as for reports)."""
    device = await get_visible(db, actor, device_id)
    rows = await db.execute(
        select(SupportSession)
        .where(SupportSession.device_id == device.id)
        .order_by(SupportSession.id.desc())
    )
    every = actor.permissions.has(Permission.ADMINISTER)
    return device, [
        await card(db, session)
        for session in rows.scalars()
        if every or await can_see(db, actor.user, session)
    ]
