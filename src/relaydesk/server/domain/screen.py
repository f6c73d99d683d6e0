"""Screen sharing with consent (TOOL-1, TOOL-2, GOV-2): the technician asks for view only or
full control, the customer allows or denies on the portal and may revoke control or stop sharing
at any moment; a granted screen is reached through a tunnel."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.events import CloseTunnels, CustomerScreen, ScreenRequest, SessionScreen
from relaydesk.protocol.messages import InputPolicy, TunnelOpen
from relaydesk.protocol.states import ScreenMode, ScreenState, SessionStatus
from relaydesk.server.db.models import SupportSession
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.errors import Conflict, Forbidden, Invalid
from relaydesk.server.domain.notifications import announce, device_topic, org_topic, session_topic
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.support_sessions import (
    device_of,
    get_visible,
    record_event,
    require_owner,
)
from relaydesk.server.domain.support_sessions import hold as hold_session
from relaydesk.server.domain.tool_openings import (
    SCREEN_NOT_GRANTED,
    OpeningWriter,
    ToolOpening,
    written,
)
from relaydesk.server.domain.transitions import Party, ScreenMove, screen_move
from relaydesk.server.domain.tunnels import IssuedTunnel, TunnelRegistry


def _announce(db: AsyncSession, session: SupportSession, technician: str = "") -> None:
    state = ScreenState(session.screen_state)
    requested: ScreenRequest = (
        ScreenMode(session.screen_requested) if session.screen_requested else ""
    )
    announce(
        db,
        org_topic(session.organisation_id),
        SessionScreen(
            session_id=session.id, state=state, requested=requested, technician=technician
        ),
    )
    announce(
        db,
        session_topic(session.id),
        CustomerScreen(state=state, requested=requested, technician=technician),
    )


async def request(db: AsyncSession, actor: Actor, session_id: int, mode: str) -> SupportSession:
    session = await get_visible(db, actor, session_id)
    require_owner(actor, session)
    if mode not in tuple(ScreenMode):
        raise Invalid("invalid_screen_mode", "Ask for 'view' or 'control'.", field="mode")
    device = await device_of(db, session)
    actor.require_on(Permission.VIEW_SCREEN, device)
    if mode == "control":
        actor.require_on(Permission.FULL_CONTROL, device)
    if session.screen_state in (ScreenState.CONTROL, mode):
        return session  # already granted (control covers view): nothing to ask
    if session.kind in ("jump", "adhoc"):
        # A jump was allowed by its policy or the user on the device: nobody else to ask (UNA-6).
        # An ad hoc connection: the access password, checked by the server and by the temporary
        # host itself, is the recipient's consent (ADH-4).
        move = ScreenMove.JUMP_CONTROL if mode == ScreenMode.CONTROL else ScreenMove.JUMP_VIEW
        session.screen_state = screen_move(session.screen_state, move, Party.SYSTEM)
        session.screen_requested = ""
        record_event(db, session, "screen.granted", actor.label, mode=mode, jump=True)
        announce(
            db,
            device_topic(session.device_id),
            InputPolicy(type="input_policy", allowed=mode == ScreenMode.CONTROL),
        )
        _announce(db, session)
        return session
    move = ScreenMove.ASK_CONTROL if mode == ScreenMode.CONTROL else ScreenMove.ASK_VIEW
    session.screen_state = screen_move(session.screen_state, move, Party.TECHNICIAN)
    session.screen_requested = mode
    record_event(db, session, "screen.requested", actor.label, mode=mode)
    await audit.record(
        db, actor.who, "screen.requested", target=f"session:{session.id}", details={"mode": mode}
    )
    _announce(db, session, technician=actor.user.name)
    return session


async def give_up_control(db: AsyncSession, actor: Actor, session_id: int) -> SupportSession:
    """The technician steps down from full control to view only (no consent needed)."""
    session = await get_visible(db, actor, session_id)
    require_owner(actor, session)
    session.screen_state = screen_move(
        session.screen_state, ScreenMove.GIVE_UP_CONTROL, Party.TECHNICIAN
    )
    record_event(db, session, "screen.control_released", actor.label)
    announce(db, device_topic(session.device_id), InputPolicy(type="input_policy", allowed=False))
    _announce(db, session)
    return session


async def answer(db: AsyncSession, session: SupportSession, allow: bool) -> SupportSession:
    if not session.screen_requested or session.status != SessionStatus.ACTIVE:
        raise Conflict("no_screen_request", "There is no request to answer.")
    mode = ScreenMode(session.screen_requested)
    if not allow:
        move = ScreenMove.DENY
    elif mode == ScreenMode.CONTROL:
        move = ScreenMove.ALLOW_CONTROL
    else:
        move = ScreenMove.ALLOW_VIEW
    session.screen_state = screen_move(session.screen_state, move, Party.CUSTOMER)
    session.screen_requested = ""
    who = Who.system(session.organisation_id, "customer")
    if allow:
        record_event(db, session, "screen.granted", "customer", mode=mode)
        await audit.record(
            db, who, "screen.granted", target=f"session:{session.id}", details={"mode": mode}
        )
        announce(
            db,
            device_topic(session.device_id),
            InputPolicy(type="input_policy", allowed=mode == ScreenMode.CONTROL),
        )
    else:
        record_event(db, session, "screen.denied", "customer", mode=mode)
        await audit.record(
            db, who, "screen.denied", target=f"session:{session.id}", details={"mode": mode}
        )
    _announce(db, session)
    return session


async def revoke_control(db: AsyncSession, session: SupportSession) -> SupportSession:
    session.screen_state = screen_move(
        session.screen_state, ScreenMove.REVOKE_CONTROL, Party.CUSTOMER
    )
    record_event(db, session, "screen.control_revoked", "customer")
    await audit.record(
        db,
        Who.system(session.organisation_id, "customer"),
        "screen.control_revoked",
        target=f"session:{session.id}",
    )
    announce(db, device_topic(session.device_id), InputPolicy(type="input_policy", allowed=False))
    _announce(db, session)
    return session


async def stop_sharing(
    db: AsyncSession, session: SupportSession, party: Party, by: str, who: Who
) -> SupportSession:
    """Sharing ends, or a pending request is withdrawn: by the technician, the customer, or the
    server itself (party SYSTEM)."""
    if session.screen_state == ScreenState.OFF and not session.screen_requested:
        return session
    session.screen_state = screen_move(session.screen_state, ScreenMove.STOP, party)
    session.screen_requested = ""
    record_event(db, session, "screen.stopped", by)
    await audit.record(
        db, who, "screen.stopped", target=f"session:{session.id}", details={"by": by}
    )
    announce(db, device_topic(session.device_id), CloseTunnels(kind="screen"))
    _announce(db, session)
    return session


async def hold(db: AsyncSession, actor: Actor, session_id: int) -> SupportSession:
    """The session goes on hold and takes screen sharing and its consent with it: the agent
    drops input and closes the screen, the customer and the console are told (sharing stopped),
    and resuming the session starts with the screen off, to be asked for again."""
    session = await hold_session(db, actor, session_id)
    sharing = session.screen_state != ScreenState.OFF or session.screen_requested
    announce(db, device_topic(session.device_id), InputPolicy(type="input_policy", allowed=False))
    if sharing:
        await stop_sharing(db, session, Party.SYSTEM, actor.label, actor.who)
    return session


async def technician_stops(db: AsyncSession, actor: Actor, session_id: int) -> SupportSession:
    session = await get_visible(db, actor, session_id)
    require_owner(actor, session)
    return await stop_sharing(db, session, Party.TECHNICIAN, actor.label, actor.who)


async def customer_stops(db: AsyncSession, session: SupportSession) -> SupportSession:
    who = Who.system(session.organisation_id, "customer")
    return await stop_sharing(db, session, Party.CUSTOMER, "customer", who)


async def open_screen_tunnel(
    db: AsyncSession,
    actor: Actor,
    session_id: int,
    registry: TunnelRegistry,
    writer: OpeningWriter,
) -> IssuedTunnel:
    """Checked with reads (no write lock); the opening's event is written by the group commit
    (domain/tool_openings.py, which checks again that the screen is still shared) before the
    agent and the console hear of it. No audit entry: the customer's consent is audited."""
    session = await get_visible(db, actor, session_id)
    require_owner(actor, session)
    device = await device_of(db, session)
    actor.require_on(Permission.VIEW_SCREEN, device)
    if session.screen_state not in (ScreenState.VIEW, ScreenState.CONTROL):
        raise Forbidden(*SCREEN_NOT_GRANTED)
    control = session.screen_state == ScreenState.CONTROL and actor.may(
        Permission.FULL_CONTROL, device
    )
    issued = registry.create(session.id, session.organisation_id, "screen", actor.user.id, control)
    opening = ToolOpening(
        session.id,
        actor.user.id,
        "tunnel.opened",
        actor.label,
        {"tool": "screen", "tunnel": issued.tunnel.id},
        screen=ScreenState.CONTROL if control else ScreenState.VIEW,
    )
    await written(db, writer, opening, registry, issued)
    announce(
        db,
        device_topic(session.device_id),
        TunnelOpen(
            type="tunnel_open",
            tunnel_id=issued.tunnel.id,
            kind="screen",
            token=issued.agent_token,
            input_allowed=control,
        ),
    )
    return issued
