"""Staged console sign-in (AUTH-1, GOV-4): password, then TOTP, then any step the account or the
organisation still demands (a new password, TOTP enrolment)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.auth import passwords, totp
from relaydesk.server.auth.tokens import new_secret_token, token_hash
from relaydesk.server.db.models import ConsoleLogin, LoginFailure, Organisation, User, utcnow
from relaydesk.server.domain import audit
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.errors import Forbidden, Locked, Unauthenticated
from relaydesk.server.domain.organisations import check_console_address
from relaydesk.server.domain.throttle import AttemptThrottle

log = logging.getLogger(__name__)


class Stage(StrEnum):
    SIGNED_OUT = "signed_out"
    MFA = "mfa"
    PASSWORD_CHANGE = "password_change"
    MFA_ENROLMENT = "mfa_enrolment"
    COMPLETE = "complete"


@dataclass(frozen=True)
class SignInPolicy:
    failures_before_lockout: int
    lockout_window: timedelta
    session_lifetime: timedelta


def next_stage(user: User, organisation: Organisation, mfa_verified: bool) -> Stage:
    if user.totp_enabled and not mfa_verified:
        return Stage.MFA
    if user.must_change_password:
        return Stage.PASSWORD_CHANGE
    if organisation.mfa_required and not user.totp_enabled:
        return Stage.MFA_ENROLMENT
    return Stage.COMPLETE


@dataclass
class NewLogin:
    login: ConsoleLogin
    user: User
    cookie_token: str


async def _recent_failures(db: AsyncSession, user: User, policy: SignInPolicy) -> int:
    since = utcnow() - policy.lockout_window
    query = select(func.count(LoginFailure.id)).where(
        LoginFailure.user_id == user.id, LoginFailure.at > since
    )
    return int((await db.execute(query)).scalar_one())


async def _check_not_locked(db: AsyncSession, user: User, policy: SignInPolicy) -> None:
    if await _recent_failures(db, user, policy) >= policy.failures_before_lockout:
        minutes = int(policy.lockout_window.total_seconds() // 60)
        raise Locked(
            "account_locked",
            "This account is locked after too many failed sign-in attempts. "
            f"Try again in {minutes} minutes or ask an administrator.",
        )


async def record_failure(
    db: AsyncSession,
    user: User,
    ip: str,
    reason: str,
    policy: SignInPolicy,
    throttle: AttemptThrottle,
) -> None:
    """Counts a failed attempt, audits it, and locks the account at the threshold. Commits, so
    the failure is kept although the request then fails."""
    throttle.fail(ip)
    db.add(LoginFailure(user_id=user.id, ip=ip))
    await db.flush()
    await audit.record(
        db,
        Who.of_user(user, ip),
        "auth.signin_failed",
        target=user.email,
        details={"reason": reason},
    )
    if await _recent_failures(db, user, policy) == policy.failures_before_lockout:
        await audit.record(
            db,
            Who.of_user(user, ip),
            "auth.account_locked",
            target=user.email,
            details={"failures": policy.failures_before_lockout},
        )
    await db.commit()


async def sign_in(
    db: AsyncSession,
    email: str,
    password: str,
    ip: str,
    policy: SignInPolicy,
    throttle: AttemptThrottle,
) -> NewLogin:
    throttle.check(ip)
    user = (
        await db.execute(select(User).where(User.email == email.strip().lower()))
    ).scalar_one_or_none()
    invalid = Unauthenticated("invalid_credentials", "The e-mail address or password is wrong.")
    if user is None or not user.is_active:
        passwords.verify_password(passwords.DUMMY_HASH, password)
        throttle.fail(ip)
        log.info("sign-in refused for an unknown or inactive account from %s", ip)
        raise invalid
    await _check_not_locked(db, user, policy)
    if not passwords.verify_password(user.password_hash, password):
        await record_failure(db, user, ip, "wrong password", policy, throttle)
        await _check_not_locked(db, user, policy)
        raise invalid
    organisation = await db.get(Organisation, user.organisation_id)
    assert organisation is not None
    try:
        check_console_address(organisation, ip)
    except Forbidden:
        await audit.record(db, Who.of_user(user, ip), "auth.ip_refused", target=user.email)
        await db.commit()
        raise
    await db.execute(delete(LoginFailure).where(LoginFailure.user_id == user.id))
    cookie_token = new_secret_token()
    stage = next_stage(user, organisation, mfa_verified=False)
    login = ConsoleLogin(
        user_id=user.id,
        token_hash=token_hash(cookie_token),
        csrf_token=new_secret_token(),
        stage=stage.value,
        mfa_verified=False,
        ip=ip,
        expires_at=utcnow() + policy.session_lifetime,
    )
    db.add(login)
    await db.flush()
    await audit.record(
        db,
        Who.of_user(user, ip),
        "auth.password_accepted" if stage != Stage.COMPLETE else "auth.signed_in",
        target=user.email,
        details={"next_step": stage.value},
    )
    return NewLogin(login, user, cookie_token)


async def find_login(db: AsyncSession, cookie_token: str) -> tuple[ConsoleLogin, User] | None:
    """The unexpired sign-in of an active user that a cookie token belongs to."""
    login = (
        await db.execute(
            select(ConsoleLogin).where(ConsoleLogin.token_hash == token_hash(cookie_token))
        )
    ).scalar_one_or_none()
    if login is None or login.expires_at <= utcnow():
        return None
    user = await db.get(User, login.user_id)
    if user is None or not user.is_active:
        return None
    return login, user


async def advance(db: AsyncSession, login: ConsoleLogin, user: User, ip: str) -> Stage:
    """Recompute the stage after a step succeeded; audit reaching the end."""
    organisation = await db.get(Organisation, user.organisation_id)
    assert organisation is not None
    before = login.stage
    stage = next_stage(user, organisation, login.mfa_verified)
    login.stage = stage.value
    if stage == Stage.COMPLETE and before != Stage.COMPLETE:
        await audit.record(db, Who.of_user(user, ip), "auth.signed_in", target=user.email)
    return stage


async def verify_mfa(
    db: AsyncSession,
    login: ConsoleLogin,
    user: User,
    code: str,
    ip: str,
    policy: SignInPolicy,
    throttle: AttemptThrottle,
) -> Stage:
    throttle.check(ip)
    await _check_not_locked(db, user, policy)
    if login.stage != Stage.MFA or user.totp_secret is None:
        raise Forbidden("wrong_stage", "No authenticator code is expected at this point.")
    step = totp.matching_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        await record_failure(db, user, ip, "wrong authenticator code", policy, throttle)
        raise Unauthenticated(
            "invalid_totp", "That authenticator code is wrong or was already used."
        )
    user.totp_last_step = step
    login.mfa_verified = True
    return await advance(db, login, user, ip)


async def sign_out(db: AsyncSession, login: ConsoleLogin, user: User, ip: str) -> None:
    await db.delete(login)
    await audit.record(db, Who.of_user(user, ip), "auth.signed_out", target=user.email)
