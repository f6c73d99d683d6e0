"""Jumping to an installed device (UNA-6, UNA-8, issue 13 items 6–8 and 10): a technician starts a
support session with no customer present on a permanent device. The rules, in the order they are
checked: the organisation's switch, the permission "Unattended access" and its scope (a device out
of scope is 404, as everywhere), an installed device that is online, nobody else working on it,
the device's jump password (argon2id, throttled per technician and device), the policy's schedule
(unless the technician may override schedules, which is audited); then the session starts, owned
by the technician, and the agent is told to ask the logged-in user or not. Tools wait until the
jump is allowed (support_sessions.require_owner). Ending it leaves the agent installed and online.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.events import QueueChanged, SessionState
from relaydesk.protocol.messages import InputPolicy, JumpAnswer, JumpEnd, JumpStart
from relaydesk.protocol.states import OPEN_STATUSES, ScreenState, SessionStatus
from relaydesk.server.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password,
    verify_password,
)
from relaydesk.server.auth.rbac import PermissionSet
from relaydesk.server.db.models import Device, Portal, SupportSession, User, utcnow
from relaydesk.server.domain import audit, device_list, jump_policies, schedules
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.device_scope import permissions_of
from relaydesk.server.domain.devices import get_visible
from relaydesk.server.domain.errors import Conflict, Forbidden, Invalid
from relaydesk.server.domain.notifications import announce, device_topic, org_topic, session_topic
from relaydesk.server.domain.organisations import get_organisation
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.presence import Presence
from relaydesk.server.domain.support_sessions import finish_by_system, record_event
from relaydesk.server.domain.throttle import AttemptThrottle
from relaydesk.server.domain.transitions import Party, ScreenMove, screen_move

JUMP = "jump"
INSTALLED = "unattended"
# The states of a jump's consent (SupportSession.jump_state).
ASKING, ALLOWED, DENIED = "asking", "allowed", "denied"
MIN_JUMP_PASSWORD_LENGTH = 8


def password_throttle_key(actor: Actor, device_id: int) -> str:
    return f"jump-password:{actor.user.id}:{device_id}"


async def require_switched_on(db: AsyncSession, actor: Actor) -> None:
    organisation = await get_organisation(db, actor.organisation_id)
    if not organisation.unattended_access_enabled:
        raise Forbidden(
            "unattended_access_off",
            "Unattended access is turned off for this organisation; an administrator can turn "
            "it on in Administration → Settings.",
        )


async def open_jump_of(db: AsyncSession, device_id: int) -> SupportSession | None:
    return (
        await db.execute(
            select(SupportSession).where(
                SupportSession.device_id == device_id,
                SupportSession.kind == JUMP,
                SupportSession.status.in_(OPEN_STATUSES),
            )
        )
    ).scalar_one_or_none()


async def _default_portal(db: AsyncSession, organisation_id: int) -> int:
    portal_id = (
        await db.execute(
            select(Portal.id).where(
                Portal.organisation_id == organisation_id, Portal.is_default.is_(True)
            )
        )
    ).scalar_one_or_none()
    if portal_id is None:
        portal_id = (
            (await db.execute(select(Portal.id).where(Portal.organisation_id == organisation_id)))
            .scalars()
            .first()
        )
    assert portal_id is not None, "every organisation has a portal"
    return portal_id


async def _check_password(
    db: AsyncSession,
    actor: Actor,
    device: Device,
    password: str | None,
    throttle: AttemptThrottle,
) -> None:
    if device.jump_password_hash is None:
        return
    key = password_throttle_key(actor, device.id)
    await throttle.check(key)
    if not password:
        raise Forbidden(
            "jump_password_required",
            "This device has a jump password: enter it to jump.",
            field="password",
        )
    if verify_password(device.jump_password_hash, password[:MAX_PASSWORD_LENGTH]):
        await throttle.forget(key)
        return
    await throttle.count(key)
    await audit.record(
        db,
        actor.who,
        "jump.wrong_password",
        target=f"device:{device.id}",
        details={"device": device.hostname},
    )
    await db.commit()  # kept although the request fails (as failed sign-ins are)
    raise Forbidden("wrong_jump_password", "The jump password is wrong.", field="password")


async def _check_schedule(
    db: AsyncSession,
    actor: Actor,
    device: Device,
    policy: jump_policies.Effective,
    now: datetime,
) -> bool:
    """Whether the jump overrides the schedule; refused with the next allowed time otherwise."""
    schedule = policy.schedule
    if schedule is None or schedule.allows(now):
        return False
    if actor.may(Permission.OVERRIDE_SCHEDULES, device):
        return True
    upcoming = schedule.next_allowed(now)
    when = schedules.describe(upcoming, schedule.zone) if upcoming else ""
    await audit.record(
        db,
        actor.who,
        "jump.outside_schedule",
        target=f"device:{device.id}",
        details={
            "device": device.hostname,
            "next_allowed": upcoming.isoformat() if upcoming else None,
            "timezone": schedule.timezone,
        },
    )
    await db.commit()  # the refusal stays in the audit log although the request fails
    raise Conflict(
        "outside_schedule",
        f"Jumps to {device.hostname} are not allowed now; the next allowed time is {when}."
        if upcoming
        else f"Jumps to {device.hostname} are not allowed now.",
        next_allowed=upcoming.isoformat() if upcoming else None,
        timezone=schedule.timezone,
    )


def _share_screen(session: SupportSession, permissions: PermissionSet, device: Device) -> None:
    """The jump is allowed: the screen is shared at once, with control if the technician's roles
    give it on this device (no customer to ask; the policy or the user on the device decided)."""
    group = device.device_group_id
    if permissions.has_for_group(Permission.FULL_CONTROL, group, device.id):
        move = ScreenMove.JUMP_CONTROL
    elif permissions.has_for_group(Permission.VIEW_SCREEN, group, device.id):
        move = ScreenMove.JUMP_VIEW
    else:
        return
    session.screen_state = screen_move(session.screen_state, move, Party.SYSTEM)


async def jump(
    db: AsyncSession,
    actor: Actor,
    device_id: int,
    password: str | None,
    devices_online: Presence,
    throttle: AttemptThrottle,
    now: datetime | None = None,
) -> SupportSession:
    moment = now or utcnow()
    await require_switched_on(db, actor)
    actor.require(Permission.UNATTENDED_ACCESS)
    device = await get_visible(db, actor, device_id)
    if device.kind != INSTALLED or device.removed_at is not None:
        raise Conflict(
            "device_not_installed",
            f"{device.hostname} has no installed agent: only installed devices (Jump clients) "
            "can be jumped to.",
        )
    actor.require_on(Permission.UNATTENDED_ACCESS, device)
    if not devices_online.is_online(device.id):
        raise Conflict(
            "device_offline",
            f"{device.hostname} is offline: its agent is not connected, so nobody can jump to "
            "it now.",
        )
    current = await open_jump_of(db, device.id)
    if current is not None:
        if current.owner_id == actor.user.id:
            return current  # his own jump, still open: back to it
        owner = await db.get(User, current.owner_id) if current.owner_id else None
        raise Conflict(
            "jump_in_progress",
            f"{owner.name if owner else 'Another technician'} is already working on "
            f"{device.hostname}.",
        )
    await _check_password(db, actor, device, password, throttle)
    policy = await jump_policies.effective(db, device)
    override = await _check_schedule(db, actor, device, policy, moment)
    asking = policy.prompt == "ask"
    session = SupportSession(
        organisation_id=device.organisation_id,
        portal_id=await _default_portal(db, device.organisation_id),
        device_id=device.id,
        kind=JUMP,
        status=SessionStatus.ACTIVE,
        owner_id=actor.user.id,
        queue_user_id=actor.user.id,
        accepted_at=utcnow(),
        jump_state=ASKING if asking else ALLOWED,
        screen_state=ScreenState.OFF,
    )
    if not asking:
        _share_screen(session, actor.permissions, device)
    db.add(session)
    await db.flush()
    decision = "asking" if asking else "no_prompt"
    details = {
        "device": device.hostname,
        "decision": decision,
        "policy": policy.source,
        "override": override,
    }
    record_event(db, session, "jump.started", actor.label, **details)
    await audit.record(
        db, actor.who, "jump.started", target=f"session:{session.id}", details=details
    )
    await device_list.record_use(db, actor.user.id, device.id)
    if override:
        schedule = policy.schedule
        assert schedule is not None
        upcoming = schedule.next_allowed(moment)
        overridden = {
            "device": device.hostname,
            "timezone": schedule.timezone,
            "next_allowed": upcoming.isoformat() if upcoming else None,
        }
        record_event(db, session, "jump.schedule_overridden", actor.label, **overridden)
        await audit.record(
            db,
            actor.who,
            "jump.schedule_overridden",
            target=f"session:{session.id}",
            details=overridden,
        )
    organisation = await get_organisation(db, actor.organisation_id)
    announce(
        db,
        device_topic(device.id),
        JumpStart(
            type="jump_start",
            session_id=session.id,
            technician=actor.user.name[:500],
            company=(actor.user.company or organisation.name)[:500],
            prompt=policy.prompt,
            answer_seconds=policy.answer_seconds,
            when_nobody_answers=policy.when_nobody_answers,
        ),
    )
    if not asking:
        _allow_input(db, session)
    announce(
        db,
        org_topic(session.organisation_id),
        QueueChanged(session_id=session.id, change="accepted"),
    )
    return session


def _allow_input(db: AsyncSession, session: SupportSession) -> None:
    announce(
        db,
        device_topic(session.device_id),
        InputPolicy(type="input_policy", allowed=session.screen_state == ScreenState.CONTROL),
    )


async def answered(db: AsyncSession, device_id: int, answer: JumpAnswer) -> None:
    """The installed agent said what happened on the device: the user allowed or denied, nobody
    answered in time (the policy decides), or nobody was asked; and whether there is a desktop."""
    session = await db.get(SupportSession, answer.session_id)
    if (
        session is None
        or session.device_id != device_id
        or session.kind != JUMP
        or session.status == SessionStatus.ENDED
    ):
        return  # a late answer for a jump that ended meanwhile
    device = await db.get(Device, device_id)
    assert device is not None
    session.jump_desktop = answer.desktop
    who = Who.system(session.organisation_id, label=answer.user or f"user on {device.hostname}")
    target = f"session:{session.id}"
    if session.jump_state != ASKING:
        record_event(db, session, "jump.desktop", device.hostname, desktop=answer.desktop)
        _changed(db, session)
        return
    policy = await jump_policies.effective(db, device)
    if answer.outcome == "allowed":
        decision, allow = "allowed_by_user", True
    elif answer.outcome == "denied":
        decision, allow = "denied_by_user", False
    else:
        allow = policy.when_nobody_answers == "allow"
        decision = "no_answer_allowed" if allow else "no_answer_denied"
    details = {
        "device": device.hostname,
        "decision": decision,
        "user": answer.user,
        "seconds": policy.answer_seconds,
        "desktop": answer.desktop,
    }
    record_event(db, session, "jump.allowed" if allow else "jump.denied", answer.user, **details)
    await audit.record(
        db, who, "jump.allowed" if allow else "jump.denied", target=target, details=details
    )
    if allow:
        session.jump_state = ALLOWED
        owner = await db.get(User, session.owner_id) if session.owner_id else None
        if owner is not None:
            _share_screen(session, await permissions_of(db, owner), device)
        _allow_input(db, session)
        _changed(db, session)
        return
    session.jump_state = DENIED
    if answer.outcome == "denied":
        by = f"{answer.user or 'the user'} on {device.hostname}"
        reason = f"{answer.user or 'The user on the device'} denied the jump."
    else:
        by = f"nobody on {device.hostname} answered"
        reason = f"Nobody on {device.hostname} answered within {policy.answer_seconds} seconds."
    await finish_by_system(db, session, reason, by)
    await audit.record(
        db, who, "session.ended", target=target, details={"by": "jump_denied", "reason": reason}
    )


def _changed(db: AsyncSession, session: SupportSession) -> None:
    """The consoles read the session again (its jump state, screen, desktop)."""
    announce(
        db,
        org_topic(session.organisation_id),
        QueueChanged(session_id=session.id, change="accepted"),
    )
    announce(db, session_topic(session.id), SessionState(status=SessionStatus(session.status)))


def end_message(session: SupportSession, reason: str) -> JumpEnd:
    return JumpEnd(type="jump_end", session_id=session.id, reason=reason[:500])


# --- the jump password (UNA-1: "a password that anyone jumping must enter") ------------------
async def set_password(
    db: AsyncSession, actor: Actor, device_id: int, password: str | None
) -> Device:
    """Set, change or remove (None) a device's jump password: "Manage devices" on the device."""
    actor.require(Permission.MANAGE_DEVICES)
    device = await get_visible(db, actor, device_id)
    actor.require_on(Permission.MANAGE_DEVICES, device)
    if password is not None:
        if len(password) < MIN_JUMP_PASSWORD_LENGTH:
            raise Invalid(
                "jump_password_too_short",
                f"A jump password has at least {MIN_JUMP_PASSWORD_LENGTH} characters.",
                field="password",
            )
        if len(password) > MAX_PASSWORD_LENGTH:
            raise Invalid(
                "jump_password_too_long",
                f"A jump password has at most {MAX_PASSWORD_LENGTH} characters.",
                field="password",
            )
    had = device.jump_password_hash is not None
    device.jump_password_hash = hash_password(password) if password is not None else None
    if password is not None:
        action = "device.jump_password_changed" if had else "device.jump_password_set"
    else:
        action = "device.jump_password_removed"
    await audit.record(
        db, actor.who, action, target=f"device:{device.id}", details={"device": device.hostname}
    )
    return device


async def jump_status(
    db: AsyncSession,
    actor: Actor,
    device_id: int,
    devices_online: Presence,
    now: datetime | None = None,
) -> dict[str, object]:
    """What the console needs before a jump: may he jump, and if not why; does it ask for a
    password; the policy and whether its schedule allows a jump now."""
    moment = now or utcnow()
    device = await get_visible(db, actor, device_id)
    organisation = await get_organisation(db, actor.organisation_id)
    policy = await jump_policies.effective(db, device)
    schedule = policy.schedule
    upcoming = schedule.next_allowed(moment) if schedule else None
    blocked: tuple[str, str] | None = None
    if not organisation.unattended_access_enabled:
        blocked = (
            "unattended_access_off",
            "Unattended access is turned off for this organisation.",
        )
    elif not actor.may(Permission.UNATTENDED_ACCESS, device):
        blocked = (
            "permission_denied",
            "Your role does not include unattended access to this device.",
        )
    elif device.kind != INSTALLED or device.removed_at is not None:
        blocked = ("device_not_installed", "Only installed devices can be jumped to.")
    elif not devices_online.is_online(device.id):
        blocked = ("device_offline", "The device is offline.")
    current = await open_jump_of(db, device.id)
    return {
        "device_id": device.id,
        "can_jump": blocked is None,
        "reason_code": blocked[0] if blocked else "",
        "reason": blocked[1] if blocked else "",
        "password_required": device.jump_password_hash is not None,
        "prompt": policy.prompt,
        "when_nobody_answers": policy.when_nobody_answers,
        "answer_seconds": policy.answer_seconds,
        "policy_source": policy.source,
        "schedule_timezone": schedule.timezone if schedule else "",
        "schedule_windows": policy.policy.schedule_windows if policy.policy and schedule else [],
        "allowed_now": schedule is None or schedule.allows(moment),
        "may_override_schedule": actor.may(Permission.OVERRIDE_SCHEDULES, device),
        "next_allowed": upcoming if schedule and not schedule.allows(moment) else None,
        "open_session_id": current.id if current is not None else None,
    }


# An ad hoc connection (domain/ad_hoc_sessions.py) belongs to the same portal as a jump.
default_portal = _default_portal
