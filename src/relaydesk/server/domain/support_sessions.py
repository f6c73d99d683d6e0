"""Attended support sessions: from an agent's arrival through acceptance, hold and end, who sees
which session, and reports (ATT-3, ATT-4, TOOL-5, TOOL-6, GOV-8). Queues are in
session_queues.py, chat in session_chat.py; which move is allowed when, in transitions.py."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.codes import RefusalCode
from relaydesk.protocol.events import (
    QueueChange,
    QueueChanged,
    SessionOnline,
    SessionState,
    SessionSysinfo,
)
from relaydesk.protocol.messages import EndSession, Hello, JumpEnd, SysinfoRequest
from relaydesk.protocol.states import SessionStatus
from relaydesk.server.auth.tokens import token_hash
from relaydesk.server.db.models import (
    ChatMessage,
    Device,
    IssueType,
    Organisation,
    SessionEvent,
    SessionKey,
    SupportSession,
    TeamMember,
    User,
    utcnow,
)
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.device_scope import permissions_of
from relaydesk.server.domain.errors import Conflict, DomainError, Forbidden, NotFound
from relaydesk.server.domain.notifications import announce, device_topic, org_topic, session_topic
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.presence import Presence
from relaydesk.server.domain.session_keys import USED, KeyRefusal
from relaydesk.server.domain.transitions import Party, SessionMove, session_move


def record_event(
    db: AsyncSession, session: SupportSession, kind: str, actor: str, **details: Any
) -> None:
    db.add(SessionEvent(session_id=session.id, kind=kind, actor_label=actor, details=details))


def _announce_queue(db: AsyncSession, session: SupportSession, change: QueueChange) -> None:
    announce(
        db,
        org_topic(session.organisation_id),
        QueueChanged(session_id=session.id, change=change),
    )


def _announce_state(db: AsyncSession, session: SupportSession, technician: str = "") -> None:
    announce(
        db,
        session_topic(session.id),
        SessionState(status=SessionStatus(session.status), technician=technician),
    )


# --- agents arriving ------------------------------------------------------------------------
async def _device_group_of(db: AsyncSession, key: SessionKey) -> int | None:
    """The group a key's device joins: the one the technician picked for the key, else the one
    of the issue type the customer filed (GOV-3); none for a customer who picked a technician."""
    if key.device_group_id is not None:
        return key.device_group_id
    if key.issue_type_id is not None:
        issue_type = await db.get(IssueType, key.issue_type_id)
        if issue_type is not None:
            return issue_type.device_group_id
    return None


async def enrol_attended(
    db: AsyncSession, key: SessionKey, hello: Hello, ip: str
) -> SupportSession | KeyRefusal:
    """The agent proved its key pair: make the temporary device and the waiting session, and
    use up the key. A key used meanwhile by another agent is refused."""
    fresh = await db.get(SessionKey, key.id, with_for_update=True, populate_existing=True)
    if fresh is None or fresh.used_at is not None:
        return USED
    organisation = await db.get(Organisation, fresh.organisation_id)
    assert organisation is not None
    if not organisation.remote_support_enabled:
        return KeyRefusal(
            RefusalCode.REMOTE_SUPPORT_DISABLED,
            "Remote support is turned off for this organisation.",
        )
    device = Device(
        organisation_id=fresh.organisation_id,
        kind="temporary",
        public_key=hello.public_key,
        hostname=hello.device.hostname,
        os=hello.device.os,
        os_version=hello.device.os_version,
        username=hello.device.username,
        device_group_id=await _device_group_of(db, fresh),
        last_seen_at=utcnow(),
    )
    db.add(device)
    await db.flush()
    session = SupportSession(
        organisation_id=fresh.organisation_id,
        portal_id=fresh.portal_id,
        device_id=device.id,
        status=SessionStatus.WAITING,
        queue_user_id=fresh.queue_user_id,
        queue_team_id=fresh.queue_team_id,
        # Never the OS login ("root"): without a name the console says "Customer" and the host.
        customer_name=fresh.customer_name,
        reference=fresh.reference,
        issue_type_id=fresh.issue_type_id,
        issue_description=fresh.issue_description,
        customer_secret_hash=fresh.customer_secret_hash,
    )
    db.add(session)
    await db.flush()
    fresh.used_at = utcnow()
    fresh.session_id = session.id
    record_event(db, session, "agent.connected", hello.device.hostname, ip=ip, first=True)
    await audit.record(
        db,
        Who.system(session.organisation_id, label=f"agent on {device.hostname}"),
        "session.started",
        target=f"session:{session.id}",
        details={"device": device.hostname, "ip": ip, "key": fresh.id},
    )
    _announce_queue(db, session, "arrived")
    _announce_state(db, session)
    return session


async def resumable(
    db: AsyncSession, device_id: int, session_id: int, public_key: str
) -> SupportSession | KeyRefusal:
    session = await db.get(SupportSession, session_id)
    device = await db.get(Device, device_id)
    if session is None or device is None or session.device_id != device.id:
        return KeyRefusal(
            RefusalCode.SESSION_UNKNOWN, "This session does not exist on this server."
        )
    if device.public_key != public_key:
        return KeyRefusal(
            RefusalCode.BAD_PROOF, "This device's identity does not match its enrolment."
        )
    if session.status == SessionStatus.ENDED:
        return KeyRefusal(RefusalCode.SESSION_ENDED, "This support session has ended.")
    return session


async def resumable_with_used_key(
    db: AsyncSession, session_id: int, public_key: str
) -> SupportSession | None:
    """An agent killed after it enrolled but before it kept its welcome presents its key again
    with the same key pair: it may resume the session its key started (the proof that follows
    shows it holds that key pair). Anyone else gets the key's refusal."""
    session = await db.get(SupportSession, session_id)
    if session is None or session.status == SessionStatus.ENDED:
        return None
    device = await db.get(Device, session.device_id)
    return session if device is not None and device.public_key == public_key else None


async def agent_reconnected(db: AsyncSession, session_id: int, ip: str) -> SupportSession:
    session = await db.get(SupportSession, session_id)
    assert session is not None
    device = await db.get(Device, session.device_id)
    assert device is not None
    device.last_seen_at = utcnow()
    record_event(db, session, "agent.reconnected", device.hostname, ip=ip)
    announce(db, org_topic(session.organisation_id), _session_updated(session, online=True))
    return session


def _session_updated(session: SupportSession, online: bool) -> SessionOnline:
    return SessionOnline(session_id=session.id, online=online)


async def agent_disconnected(db: AsyncSession, session_id: int) -> None:
    session = await db.get(SupportSession, session_id)
    if session is None or session.status == SessionStatus.ENDED:
        return
    device = await db.get(Device, session.device_id)
    if device is not None:
        device.last_seen_at = utcnow()
    record_event(db, session, "agent.disconnected", device.hostname if device else "")
    announce(db, org_topic(session.organisation_id), _session_updated(session, online=False))


async def agent_cleaned_up(db: AsyncSession, session_id: int, cleaned_up: bool) -> None:
    session = await db.get(SupportSession, session_id)
    if session is None:
        return
    device = await db.get(Device, session.device_id)
    if device is not None and device.kind == "temporary" and cleaned_up:
        device.removed_at = utcnow()
    record_event(
        db, session, "agent.removed", device.hostname if device else "", cleaned_up=cleaned_up
    )


# --- who sees what --------------------------------------------------------------------------
async def team_ids_of_user(db: AsyncSession, user_id: int) -> list[int]:
    rows = await db.execute(select(TeamMember.team_id).where(TeamMember.user_id == user_id))
    return [tid for (tid,) in rows]


async def in_scope(db: AsyncSession, user: User, session: SupportSession) -> bool:
    """Whether the session's device is in the scope of the user's role assignments as they are
    now in the database (a console socket's user may be older than a role change)."""
    current = await db.get(User, user.id)
    device = await db.get(Device, session.device_id)
    return (
        current is not None
        and current.is_active
        and device is not None
        and (await permissions_of(db, current)).reaches(device.device_group_id, device.id)
    )


async def can_see(db: AsyncSession, user: User, session: SupportSession) -> bool:
    """The one rule for whether a technician sees a session, for every route and every console
    event: it is in one of his queues or his own, and its device is in his scope (GOV-3)."""
    if session.organisation_id != user.organisation_id:
        return False
    if user.id in (session.owner_id, session.queue_user_id):
        queued_for_him = True
    elif session.queue_team_id is not None and session.owner_id is None:
        queued_for_him = session.queue_team_id in await team_ids_of_user(db, user.id)
    else:
        queued_for_him = False
    return queued_for_him and await in_scope(db, user, session)


async def get_visible(db: AsyncSession, actor: Actor, session_id: int) -> SupportSession:
    """The session, if the technician sees it; else, existing or not, session_not_found (404)."""
    session = await db.get(SupportSession, session_id)
    if session is None or not await can_see(db, actor.user, session):
        raise NotFound("session_not_found", f"No support session with id {session_id}.")
    return session


async def device_of(db: AsyncSession, session: SupportSession) -> Device:
    device = await db.get(Device, session.device_id)
    assert device is not None
    return device


# --- a technician working the session --------------------------------------------------------
async def accept(db: AsyncSession, actor: Actor, session_id: int) -> SupportSession:
    session = await get_visible(db, actor, session_id)
    if session.status == SessionStatus.ACTIVE and session.owner_id == actor.user.id:
        return session  # accepted again by its owner (a retried request): nothing changes
    session.status = session_move(session.status, SessionMove.ACCEPT, Party.TECHNICIAN)
    session.owner_id = actor.user.id
    session.queue_user_id = actor.user.id
    session.accepted_at = session.accepted_at or utcnow()
    record_event(db, session, "session.accepted", actor.label)
    await audit.record(db, actor.who, "session.accepted", target=f"session:{session.id}")
    _announce_queue(db, session, "accepted")
    _announce_state(db, session, technician=actor.user.name)
    return session


def require_owner(actor: Actor, session: SupportSession) -> None:
    refusal = owner_refusal(actor.user.id, session)
    if refusal is not None:
        raise refusal


def owner_refusal(user_id: int, session: SupportSession) -> DomainError | None:
    """Why the technician may not work the session's tools now (None: he may)."""
    if session.owner_id != user_id or session.status != SessionStatus.ACTIVE:
        return Forbidden(
            "not_session_owner", "Only the technician who owns this session may do this."
        )
    if session.kind == "jump" and session.jump_state != "allowed":
        # A jump's tools wait for the user on the device (domain/jumps.py).
        return Conflict(
            "jump_not_allowed",
            "The user on the device has not allowed this jump (yet): the tools open once the "
            "jump is allowed.",
        )
    return None


async def hold(db: AsyncSession, actor: Actor, session_id: int) -> SupportSession:
    session = await get_visible(db, actor, session_id)
    require_owner(actor, session)
    session.status = session_move(session.status, SessionMove.HOLD, Party.TECHNICIAN)
    session.queue_user_id = actor.user.id
    session.queued_at = utcnow()
    record_event(db, session, "session.held", actor.label)
    await audit.record(db, actor.who, "session.held", target=f"session:{session.id}")
    _announce_queue(db, session, "held")
    _announce_state(db, session)
    return session


async def _finish(
    db: AsyncSession, session: SupportSession, party: Party, by: str, reason: str
) -> None:
    session.status = session_move(session.status, SessionMove.END, party)
    session.ended_at = utcnow()
    session.ended_by = by
    record_event(db, session, "session.ended", by, reason=reason)
    if session.kind in ("jump", "adhoc"):
        # An installed agent closes the jump's tools and stays connected (it is permanent); so
        # does a temporary host when a connection to it closes (its ad hoc session goes on).
        announce(
            db,
            device_topic(session.device_id),
            JumpEnd(type="jump_end", session_id=session.id, reason=reason[:500]),
        )
    else:
        announce(db, device_topic(session.device_id), EndSession(type="end", reason=reason))
    _announce_queue(db, session, "ended")
    _announce_state(db, session)


async def end(db: AsyncSession, actor: Actor, session_id: int) -> SupportSession:
    session = await get_visible(db, actor, session_id)
    session_move(session.status, SessionMove.END, Party.TECHNICIAN)  # an ended one is refused
    if session.owner_id not in (None, actor.user.id) or (
        session.owner_id is None and session.queue_user_id != actor.user.id
    ):
        raise Forbidden(
            "not_session_owner", "Only the technician who owns this session may end it."
        )
    reason = f"{actor.user.name} ended the support session."
    await _finish(db, session, Party.TECHNICIAN, actor.label, reason)
    await audit.record(db, actor.who, "session.ended", target=f"session:{session.id}")
    return session


async def finish_by_system(
    db: AsyncSession, session: SupportSession, reason: str, by: str = "system"
) -> None:
    """The server ends a session by a rule (a jump denied on the device); the caller audits."""
    if session.status == SessionStatus.ENDED:
        return
    await _finish(db, session, Party.SYSTEM, by, reason)


async def end_by_customer(db: AsyncSession, session: SupportSession) -> None:
    if session.status == SessionStatus.ENDED:
        return  # the customer's second click, or after the technician
    reason = "The customer ended the support session."
    await _finish(db, session, Party.CUSTOMER, "customer", reason)
    await audit.record(
        db,
        Who.system(session.organisation_id, "customer"),
        "session.ended",
        target=f"session:{session.id}",
        details={"by": "customer"},
    )


async def request_sysinfo(
    db: AsyncSession, actor: Actor, session_id: int, devices_online: Presence
) -> str:
    """Asks the agent for a snapshot; only a connected agent can answer (the request is not
    kept for one that is away)."""
    session = await get_visible(db, actor, session_id)
    require_owner(actor, session)
    if not devices_online.is_online(session.device_id):
        raise Conflict(
            "agent_offline",
            "The support client is not connected right now; try again when it is back.",
        )
    request_id = secrets.token_hex(8)
    record_event(db, session, "sysinfo.viewed", actor.label)
    announce(
        db,
        device_topic(session.device_id),
        SysinfoRequest(type="sysinfo_request", request_id=request_id),
    )
    return request_id


async def sysinfo_arrived(
    db: AsyncSession, session_id: int, request_id: str, info: dict[str, Any]
) -> None:
    session = await db.get(SupportSession, session_id)
    if session is None:
        return
    announce(
        db,
        org_topic(session.organisation_id),
        SessionSysinfo(session_id=session.id, request_id=request_id, info=info),
    )


async def events_of(db: AsyncSession, session: SupportSession) -> list[SessionEvent]:
    rows = await db.execute(
        select(SessionEvent).where(SessionEvent.session_id == session.id).order_by(SessionEvent.id)
    )
    return list(rows.scalars())


# --- the customer's side --------------------------------------------------------------------
async def by_customer_secret(db: AsyncSession, secret: str) -> SupportSession | SessionKey | None:
    """The session a customer's portal page follows, or its key while the agent is not there."""
    digest = token_hash(secret)
    session = (
        await db.execute(
            select(SupportSession).where(SupportSession.customer_secret_hash == digest)
        )
    ).scalar_one_or_none()
    if session is not None:
        return session
    return (
        await db.execute(select(SessionKey).where(SessionKey.customer_secret_hash == digest))
    ).scalar_one_or_none()


# --- reports (GOV-8) ------------------------------------------------------------------------
def _reports_in_reach(actor: Actor) -> ColumnElement[bool]:
    """Which sessions' reports the technician reads (GOV-8): an administrator all of the
    organisation's; anyone else those he owned or wrote in (a session he took part in)."""
    in_organisation = SupportSession.organisation_id == actor.organisation_id
    if actor.permissions.has(Permission.ADMINISTER):
        return in_organisation
    took_part = or_(
        SupportSession.owner_id == actor.user.id,
        SupportSession.id.in_(
            select(ChatMessage.session_id).where(ChatMessage.sender_user_id == actor.user.id)
        ),
    )
    return and_(in_organisation, took_part)


async def reports(
    db: AsyncSession, actor: Actor, limit: int, offset: int
) -> tuple[list[SupportSession], int]:
    base = select(SupportSession).where(_reports_in_reach(actor))
    total = len((await db.execute(base.with_only_columns(SupportSession.id))).all())
    rows = await db.execute(base.order_by(SupportSession.id.desc()).limit(limit).offset(offset))
    return list(rows.scalars()), total


async def report(db: AsyncSession, actor: Actor, session_id: int) -> SupportSession:
    """The session's report, if in reach; else, existing or not, session_not_found (404)."""
    found = await db.execute(
        select(SupportSession).where(SupportSession.id == session_id, _reports_in_reach(actor))
    )
    session = found.scalar_one_or_none()
    if session is None:
        raise NotFound("session_not_found", f"No support session with id {session_id}.")
    return session


async def user_can_see(db: AsyncSession, user: User, session_id: int) -> bool:
    session = await db.get(SupportSession, session_id)
    return session is not None and await can_see(db, user, session)
