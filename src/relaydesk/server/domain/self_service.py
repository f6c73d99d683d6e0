"""Self-service installation from the public portal (UNA-3): the customer proves he may install
a permanent (Jump) client — with an installer code from his administrator, or with a
technician's sign-in (e-mail, password and authenticator code, through the sign-in's throttle) —
names the computer and gets a single-use enrolment: a one-shot installer (cap 1, valid
SINGLE_USE_MINUTES) bound to the company and Jump group, carrying the name as the device's
nickname. The page shows the install command with that token as an argument.

Decisions: with an installer code the company and group are the installer's (fixed), and the
single-use enrolment takes one of its installations at once (the cap stays exact: an enrolment
issued and never used still counts). With a technician's sign-in he needs the permission 'Manage
devices'; the company is free text and the group one his roles reach (none: all-devices roles
only)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.auth import passwords, totp
from relaydesk.server.auth.rbac import PermissionSet
from relaydesk.server.auth.tokens import token_hash
from relaydesk.server.db.models import Installer, User, utcnow
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.device_groups import group_for_key
from relaydesk.server.domain.errors import Forbidden, Invalid, RateLimited, Unauthenticated
from relaydesk.server.domain.installers import TOKEN_PREFIX, UNKNOWN, _judge
from relaydesk.server.domain.password_checks import PasswordGuard
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.portal import find_portal
from relaydesk.server.domain.session_keys import KeyRefusal, _one_line
from relaydesk.server.domain.throttle import AttemptThrottle

SINGLE_USE_MINUTES = 60
DEVICE_NAME_LIMIT = 100
PURPOSE = "self_service"


@dataclass(frozen=True)
class SingleUse:
    token: str
    row: Installer


def device_name(text: str) -> str:
    name = _one_line(text, "device_name", "computer's name", DEVICE_NAME_LIMIT)
    if not name:
        raise Invalid("device_name_required", "Give this computer a name.", field="device_name")
    return name


def _refused(refusal: KeyRefusal) -> Forbidden:
    """An installer code that cannot be used (unknown, expired, revoked, cap reached)."""
    return Forbidden(str(refusal.code), refusal.message)


async def _take_one(db: AsyncSession, row: Installer) -> None:
    """Count one installation of the installer now, exactly (the same conditional update as an
    enrolment), or refuse with what is wrong with it."""
    now = utcnow()
    counted = await db.execute(
        update(Installer)
        .where(
            Installer.id == row.id,
            Installer.used < Installer.max_installations,
            Installer.revoked_at.is_(None),
            or_(Installer.expires_at.is_(None), Installer.expires_at > now),
        )
        .values(used=Installer.used + 1)
        .execution_options(synchronize_session=False)
    )
    await db.refresh(row)
    if counted.rowcount != 1:  # type: ignore[attr-defined]
        refusal = _judge(row, now)
        assert refusal is not None
        raise _refused(refusal)


async def single_use(
    db: AsyncSession,
    *,
    organisation_id: int,
    company: str,
    device_group_id: int | None,
    nickname: str,
    created_by_id: int | None,
    purpose: str,
    session_id: int | None = None,
    jump_password_hash: str | None = None,
) -> SingleUse:
    """A one-shot installer: cap 1, expires soon, bound to its company and group."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Installer(
        organisation_id=organisation_id,
        token_hash=token_hash(token),
        company=company,
        device_group_id=device_group_id,
        max_installations=1,
        used=0,
        created_by_id=created_by_id,
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(minutes=SINGLE_USE_MINUTES),
        purpose=purpose,
        nickname=nickname,
        session_id=session_id,
        jump_password_hash=jump_password_hash,
    )
    db.add(row)
    await db.flush()
    return SingleUse(token, row)


async def with_installer_code(
    db: AsyncSession,
    slug: str | None,
    code: str,
    name: str,
    ip: str,
    throttle: AttemptThrottle,
) -> SingleUse:
    portal = await find_portal(db, slug)
    nickname = device_name(name)
    await throttle.check(ip)
    code = code.strip()
    parent = (
        await db.execute(select(Installer).where(Installer.token_hash == token_hash(code)))
    ).scalar_one_or_none()
    if (
        parent is None
        or parent.organisation_id != portal.organisation_id
        or parent.purpose != "installer"
    ):
        await throttle.count(ip)
        raise Forbidden(
            str(UNKNOWN.code),
            "This installer code is not known. Check it with your administrator.",
        )
    refusal = _judge(parent, utcnow())
    if refusal is not None:
        raise _refused(refusal)
    await _take_one(db, parent)
    issued = await single_use(
        db,
        organisation_id=parent.organisation_id,
        company=parent.company,
        device_group_id=parent.device_group_id,
        nickname=nickname,
        created_by_id=parent.created_by_id,
        purpose=PURPOSE,
    )
    await audit.record(
        db,
        Who(parent.organisation_id, None, "customer on the portal", ip),
        "self_service.enrolment_issued",
        target=f"installer:{issued.row.id}",
        details={
            "with": "installer_code",
            "installer_id": parent.id,
            "nickname": nickname,
            "company": parent.company,
            "device_group_id": parent.device_group_id,
        },
    )
    return issued


async def _technician(
    db: AsyncSession,
    organisation_id: int,
    email: str,
    password: str,
    code: str,
    ip: str,
    guard: PasswordGuard,
) -> User:
    """The technician's password and authenticator code, checked like a sign-in: the same
    throttle per address and account, failures audited."""
    email = email.strip().lower()
    try:
        await guard.check(email, ip)
    except RateLimited:
        first = await guard.first_refusal(email, ip, "auth.signin_throttled")
        user = (await db.execute(select(User).where(User.email == email))).scalar_one_or_none()
        if first is not None and user is not None:
            await guard.audit_first(db, first, user, "too many failures")
        raise
    user = (await db.execute(select(User).where(User.email == email))).scalar_one_or_none()
    invalid = Unauthenticated("invalid_credentials", "The e-mail address or password is wrong.")
    if user is None or not user.is_active or user.organisation_id != organisation_id:
        passwords.verify_password(passwords.dummy_hash(), password)
        await guard.failed(email, ip)
        raise invalid
    if not passwords.verify_password(user.password_hash, password):
        await guard.refused(db, user, ip, "wrong password (self-service installation)")
        raise invalid
    if user.totp_enabled and user.totp_secret:
        if not code.strip():
            raise Unauthenticated(
                "totp_required", "Enter the code from your authenticator app as well."
            )
        step = totp.matching_step(user.totp_secret, code.strip(), user.totp_last_step)
        if step is None:
            await guard.refused(db, user, ip, "wrong authenticator code (self-service)")
            raise Unauthenticated(
                "invalid_totp", "That authenticator code is wrong or was already used."
            )
        user.totp_last_step = step
    await guard.passed(email, ip)
    return user


async def with_technician(
    db: AsyncSession,
    slug: str | None,
    *,
    email: str,
    password: str,
    totp_code: str,
    name: str,
    company: str,
    device_group_id: int | None,
    ip: str,
    guard: PasswordGuard,
) -> SingleUse:
    portal = await find_portal(db, slug)
    nickname = device_name(name)
    company = _one_line(company, "company", "company", 200)
    if not company:
        raise Invalid("company_required", "Give the customer's company.", field="company")
    user = await _technician(db, portal.organisation_id, email, password, totp_code, ip, guard)
    actor = Actor(user=user, ip=ip, permissions=PermissionSet.of(user))
    actor.require(Permission.MANAGE_DEVICES)
    group_id = await group_for_key(db, actor, device_group_id)
    issued = await single_use(
        db,
        organisation_id=user.organisation_id,
        company=company,
        device_group_id=group_id,
        nickname=nickname,
        created_by_id=user.id,
        purpose=PURPOSE,
    )
    await audit.record(
        db,
        actor.who,
        "self_service.enrolment_issued",
        target=f"installer:{issued.row.id}",
        details={
            "with": "technician",
            "nickname": nickname,
            "company": company,
            "device_group_id": group_id,
        },
    )
    return issued
