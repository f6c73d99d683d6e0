"""Command shells on the device (TOOL-3): a shell tunnel per tab, for technicians whose role
allows it, recorded when the organisation records sessions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.events import ToolOpened
from relaydesk.protocol.messages import TunnelOpen
from relaydesk.server.db.models import Organisation
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.notifications import announce, device_topic, session_topic
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.support_sessions import device_of, get_visible, require_owner
from relaydesk.server.domain.tool_openings import OpeningWriter, ToolOpening, written
from relaydesk.server.domain.tunnels import IssuedTunnel, TunnelRegistry


async def open_shell_tunnel(
    db: AsyncSession,
    actor: Actor,
    session_id: int,
    registry: TunnelRegistry,
    writer: OpeningWriter,
) -> IssuedTunnel:
    """Checked with reads (no write lock); the opening's event and audit entry are written by
    the group commit (domain/tool_openings.py) before the agent and the console hear of it."""
    actor.require(Permission.SHELL)
    session = await get_visible(db, actor, session_id)
    actor.require_on(Permission.SHELL, await device_of(db, session))
    require_owner(actor, session)
    organisation = await db.get(Organisation, session.organisation_id)
    assert organisation is not None
    recorded = organisation.recording_enabled
    issued = registry.create(
        session.id,
        session.organisation_id,
        "shell",
        actor.user.id,
        input_allowed=False,
        record=recorded,
    )
    details = {"tunnel": issued.tunnel.id, "recorded": recorded}
    opening = ToolOpening.audited(actor, session.id, "shell.opened", details)
    await written(db, writer, opening, registry, issued)
    announce(
        db,
        device_topic(session.device_id),
        TunnelOpen(
            type="tunnel_open",
            tunnel_id=issued.tunnel.id,
            kind="shell",
            token=issued.agent_token,
            input_allowed=False,
        ),
    )
    announce(db, session_topic(session.id), ToolOpened(kind="shell"))
    return issued
