"""Turning an attended session's temporary agent into an installed Jump client (UNA-1, TOOL-9).

1. The technician who owns the live session, with the permission 'Manage devices' on its
   device, asks for it: he signs in again (his password, and his authenticator code when he has
   one; the sign-in's throttle and audit), gives the device's nickname, the customer company,
   the Jump group (a device group his roles reach; personal lists do not exist) and optionally
   a jump password (kept as its argon2id hash, copied to the device at enrolment, where jumps
   check it). The server keeps it as a single-use installer (purpose "jump_client", state
   "asking") and asks the agent, which shows the question in the customer's window.
2. The customer allows or denies there. Denied: the installer is revoked, the console says so.
   Allowed: the installer gets its token now (the first one was never shown to anyone) and the
   agent is told to install its own executable with it (agent/jump_client.py, through
   agent/system_install.py's install()): no new download.
3. The agent reports: installed (the new device enrolled with that installer), or failed (the
   message). Installed, the attended session ends normally; the installed agent stays.
Every step is audited and in the session's report."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.events import SessionState
from relaydesk.protocol.messages import (
    JumpClientAnswer,
    JumpClientAsk,
    JumpClientInstall,
    JumpClientResult,
)
from relaydesk.server.auth import passwords, totp
from relaydesk.server.auth.tokens import token_hash
from relaydesk.server.db.models import Device, Installer, SupportSession, User, utcnow
from relaydesk.server.domain import audit, support_sessions
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.device_groups import group_for_key
from relaydesk.server.domain.errors import Conflict, Invalid, RateLimited, Unauthenticated
from relaydesk.server.domain.installers import TOKEN_PREFIX
from relaydesk.server.domain.notifications import announce, device_topic, session_topic
from relaydesk.server.domain.password_checks import PasswordGuard
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.presence import Presence
from relaydesk.server.domain.self_service import device_name, single_use
from relaydesk.server.domain.session_keys import _one_line

PURPOSE = "jump_client"
# How long the agent has to enrol once the customer allowed.
INSTALL_MINUTES = 15
JUMP_PASSWORD_LIMIT = 200
ASKING, INSTALLING, INSTALLED, DENIED, FAILED = (
    "asking",
    "installing",
    "installed",
    "denied",
    "failed",
)
PENDING = (ASKING, INSTALLING)


async def reauthenticate(
    db: AsyncSession, actor: Actor, password: str, code: str, guard: PasswordGuard
) -> None:
    """The technician's own password, then his authenticator code when he has one: the
    sign-in's throttle per address and account, failures audited."""
    user = actor.user
    try:
        await guard.check(user.email, actor.ip)
    except RateLimited:
        first = await guard.first_refusal(user.email, actor.ip, "auth.signin_throttled")
        if first is not None:
            await guard.audit_first(db, first, user, "too many failures")
        raise
    if not passwords.verify_password(user.password_hash, password):
        await guard.refused(db, user, actor.ip, "wrong password (Jump client installation)")
        raise Unauthenticated("wrong_password", "Your password is wrong.", field="password")
    if user.totp_enabled and user.totp_secret:
        if not code.strip():
            raise Unauthenticated(
                "totp_required",
                "Enter the code from your authenticator app as well.",
                field="totp_code",
            )
        step = totp.matching_step(user.totp_secret, code.strip(), user.totp_last_step)
        if step is None:
            await guard.refused(db, user, actor.ip, "wrong authenticator code (Jump client)")
            raise Unauthenticated(
                "invalid_totp",
                "That authenticator code is wrong or was already used.",
                field="totp_code",
            )
        user.totp_last_step = step
    await guard.passed(user.email, actor.ip)


async def _pending(db: AsyncSession, session_id: int) -> Installer | None:
    return (
        await db.execute(
            select(Installer).where(
                Installer.purpose == PURPOSE,
                Installer.session_id == session_id,
                Installer.state.in_(PENDING),
            )
        )
    ).scalar_one_or_none()


def _page_changed(db: AsyncSession, session_id: int) -> None:
    """The customer's portal page gets a fresh snapshot (with the question, or without it)."""
    announce(db, session_topic(session_id), SessionState())


async def question(db: AsyncSession, session_id: int) -> tuple[int, str] | None:
    """The installation waiting for the customer's answer (the portal page asks it too): its
    id and who asks."""
    found = (
        await db.execute(
            select(Installer.id, User.name)
            .outerjoin(User, User.id == Installer.created_by_id)
            .where(
                Installer.purpose == PURPOSE,
                Installer.session_id == session_id,
                Installer.state == ASKING,
            )
            .order_by(Installer.id.desc())
            .limit(1)
        )
    ).first()
    return (found[0], found[1] or "") if found else None


async def latest(db: AsyncSession, actor: Actor, session_id: int) -> Installer | None:
    """The session's latest conversion, for the technician who sees the session."""
    session = await support_sessions.get_visible(db, actor, session_id)
    return (
        await db.execute(
            select(Installer)
            .where(Installer.purpose == PURPOSE, Installer.session_id == session.id)
            .order_by(Installer.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def request(
    db: AsyncSession,
    actor: Actor,
    session_id: int,
    *,
    password: str,
    totp_code: str,
    nickname: str,
    company: str,
    device_group_id: int | None,
    jump_password: str,
    devices_online: Presence,
    guard: PasswordGuard,
) -> Installer:
    session = await support_sessions.get_visible(db, actor, session_id)
    support_sessions.require_owner(actor, session)
    if session.kind != "attended":
        raise Conflict(
            "not_attended_session",
            "Only an attended session's support client can become an installed Jump client.",
        )
    device = await support_sessions.device_of(db, session)
    actor.require_on(Permission.MANAGE_DEVICES, device)
    nickname = device_name(nickname)
    company = _one_line(company, "company", "company", 200)
    if not company:
        raise Invalid("company_required", "Give the customer's company.", field="company")
    if len(jump_password) > JUMP_PASSWORD_LIMIT:
        raise Invalid(
            "jump_password_too_long",
            f"The jump password can be at most {JUMP_PASSWORD_LIMIT} characters.",
            field="jump_password",
        )
    group_id = await group_for_key(db, actor, device_group_id)
    await reauthenticate(db, actor, password, totp_code, guard)
    pending = await _pending(db, session.id)
    if pending is not None and pending.state == INSTALLING:
        raise Conflict(
            "jump_client_pending",
            "An installation is already under way in this session; wait for its outcome.",
        )
    if not devices_online.is_online(session.device_id):
        raise Conflict(
            "agent_offline",
            "The customer's support client is not connected now; it cannot install anything.",
        )
    issued = await single_use(
        db,
        organisation_id=session.organisation_id,
        company=company,
        device_group_id=group_id,
        nickname=nickname,
        created_by_id=actor.user.id,
        purpose=PURPOSE,
        session_id=session.id,
        jump_password_hash=passwords.hash_password(jump_password) if jump_password else None,
    )
    if pending is not None:  # a question nobody answered (yet): this one replaces it
        pending.state, pending.revoked_at = FAILED, utcnow()
        pending.outcome = "Replaced by a newer request."
    row = issued.row  # its token is never shown: a new one is made when the customer allows
    row.state = ASKING
    details = {
        "installer_id": row.id,
        "nickname": nickname,
        "company": company,
        "device_group_id": group_id,
        "jump_password": bool(jump_password),
    }
    support_sessions.record_event(db, session, "jump_client.requested", actor.label, **details)
    await audit.record(
        db, actor.who, "jump_client.requested", target=f"session:{session.id}", details=details
    )
    announce(
        db,
        device_topic(session.device_id),
        JumpClientAsk(type="jump_client_ask", request_id=row.id, technician=actor.user.name[:500]),
    )
    _page_changed(db, session.id)
    return row


async def _of_session(
    db: AsyncSession, session_id: int, request_id: int, states: tuple[str, ...]
) -> tuple[Installer, SupportSession]:
    row = await db.get(Installer, request_id)
    session = await db.get(SupportSession, session_id)
    if (
        row is None
        or session is None
        or row.purpose != PURPOSE
        or row.session_id != session_id
        or row.state not in states
    ):
        raise Conflict(
            "no_jump_client_request",
            "This installation request was already answered or is not this session's.",
        )
    return row, session


async def answered(db: AsyncSession, session_id: int, answer: JumpClientAnswer, ip: str) -> str:
    """The customer's answer in his window. Allowed: the installer's token, made now, for the
    agent; denied: the installer is revoked and "" comes back."""
    row, session = await _of_session(db, session_id, answer.request_id, (ASKING,))
    who = Who(session.organisation_id, None, "customer", ip)
    _page_changed(db, session.id)
    if not answer.allow:
        row.state, row.revoked_at = DENIED, utcnow()
        support_sessions.record_event(db, session, "jump_client.denied", "customer")
        await audit.record(
            db,
            who,
            "jump_client.denied",
            target=f"session:{session.id}",
            details={"installer_id": row.id},
        )
        return ""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row.token_hash = token_hash(token)
    row.expires_at = utcnow() + timedelta(minutes=INSTALL_MINUTES)
    row.state = INSTALLING
    support_sessions.record_event(db, session, "jump_client.consented", "customer")
    await audit.record(
        db,
        who,
        "jump_client.consented",
        target=f"session:{session.id}",
        details={"installer_id": row.id},
    )
    return token


async def reported(db: AsyncSession, session_id: int, result: JumpClientResult, ip: str) -> None:
    """How the installation went on the customer's computer. Installed: the attended session
    ends normally (its temporary agent cleans up and exits; the installed one stays). A support
    client with nobody to ask (no window, no terminal) fails the request at once."""
    states = (INSTALLING,) if result.installed else PENDING
    row, session = await _of_session(db, session_id, result.request_id, states)
    _page_changed(db, session.id)
    who = Who(session.organisation_id, None, "support client", ip)
    device = (
        await db.execute(select(Device).where(Device.installer_id == row.id))
    ).scalar_one_or_none()
    if not result.installed or device is None:
        row.state, row.revoked_at = FAILED, utcnow()
        row.outcome = (result.message or "The agent did not enrol.")[:500]
        support_sessions.record_event(
            db, session, "jump_client.failed", "support client", message=row.outcome
        )
        await audit.record(
            db,
            who,
            "jump_client.failed",
            target=f"session:{session.id}",
            details={"installer_id": row.id, "message": row.outcome},
        )
        return
    row.state = INSTALLED
    details = {
        "installer_id": row.id,
        "device_id": device.id,
        "nickname": row.nickname,
        "company": row.company,
        "device_group_id": row.device_group_id,
    }
    support_sessions.record_event(db, session, "jump_client.installed", "support client", **details)
    await audit.record(
        db, who, "jump_client.installed", target=f"device:{device.id}", details=details
    )
    await support_sessions.finish_by_system(
        db,
        session,
        "The permanent remote access client is installed; this support session is over.",
    )


async def answered_on_portal(
    db: AsyncSession, session: SupportSession, answer: JumpClientAnswer, ip: str
) -> None:
    """The customer answered on his portal page (the window's question, where there is no
    window): the same rules; allowed, the token goes to the agent through its device's topic."""
    token = await answered(db, session.id, answer, ip)
    if token:
        announce(
            db,
            device_topic(session.device_id),
            JumpClientInstall(
                type="jump_client_install", request_id=answer.request_id, token=token
            ),
        )
