"""Staged console sign-in (AUTH-1, GOV-4): password, then TOTP, then any step the account or the
organisation still demands (a new password, TOTP enrolment)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.auth import passwords, totp
from relaydesk.server.auth.tokens import new_secret_token, token_hash
from relaydesk.server.db.models import ConsoleLogin, Organisation, User, utcnow
from relaydesk.server.domain import audit
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.errors import Forbidden, RateLimited, Unauthenticated
from relaydesk.server.domain.organisations import check_console_address
from relaydesk.server.domain.password_checks import PasswordGuard
from relaydesk.server.domain.sign_outs import close_sockets_of_sign_out

log = logging.getLogger(__name__)


class Stage(StrEnum):
    SIGNED_OUT = "signed_out"
    MFA = "mfa"
    PASSWORD_CHANGE = "password_change"
    MFA_ENROLMENT = "mfa_enrolment"
    COMPLETE = "complete"


@dataclass(frozen=True)
class SignInPolicy:
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


async def _check_throttles(db: AsyncSession, email: str, ip: str, guard: PasswordGuard) -> None:
    """Refused before the database is asked; only then is a known account's refusal audited
    (the answer is the same whether the account exists)."""
    try:
        await guard.check(email, ip)
    except RateLimited:
        log.info("sign-in refused for too many failures from %s", ip)
        first = await guard.first_refusal(email, ip, "auth.signin_throttled")
        user = await _user_by_email(db, email) if first is not None else None
        if first is not None and user is not None:
            await guard.audit_first(db, first, user, "too many failures")
        raise


async def _user_by_email(db: AsyncSession, email: str) -> User | None:
    query = select(User).where(User.email == email.strip().lower())
    return (await db.execute(query)).scalar_one_or_none()


async def sign_in(
    db: AsyncSession,
    email: str,
    password: str,
    ip: str,
    policy: SignInPolicy,
    guard: PasswordGuard,
) -> NewLogin:
    await _check_throttles(db, email, ip, guard)
    user = await _user_by_email(db, email)
    invalid = Unauthenticated("invalid_credentials", "The e-mail address or password is wrong.")
    if user is None or not user.is_active:
        passwords.verify_password(passwords.dummy_hash(), password)
        await guard.failed(email, ip)
        log.info("sign-in refused for an unknown or inactive account from %s", ip)
        raise invalid
    if not passwords.verify_password(user.password_hash, password):
        await guard.refused(db, user, ip, "wrong password")
        raise invalid
    organisation = await db.get(Organisation, user.organisation_id)
    assert organisation is not None
    try:
        check_console_address(organisation, ip)
    except Forbidden:
        await audit.record(db, Who.of_user(user, ip), "auth.ip_refused", target=user.email)
        await db.commit()
        raise
    await guard.passed(email, ip)
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
    guard: PasswordGuard,
) -> Stage:
    await _check_throttles(db, user.email, ip, guard)
    if login.stage != Stage.MFA or user.totp_secret is None:
        raise Forbidden("wrong_stage", "No authenticator code is expected at this point.")
    step = totp.matching_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        await guard.refused(db, user, ip, "wrong authenticator code")
        raise Unauthenticated(
            "invalid_totp", "That authenticator code is wrong or was already used."
        )
    await guard.passed(user.email, ip)
    user.totp_last_step = step
    login.mfa_verified = True
    return await advance(db, login, user, ip)


async def sign_out(db: AsyncSession, login: ConsoleLogin, user: User, ip: str) -> None:
    login_id = login.id
    await db.delete(login)
    await audit.record(db, Who.of_user(user, ip), "auth.signed_out", target=user.email)
    close_sockets_of_sign_out(db, user, login_id)
