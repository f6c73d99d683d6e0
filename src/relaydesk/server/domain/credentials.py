"""A user's own credentials: password, TOTP authenticator, API tokens (AUTH-1, AUTH-3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.auth import passwords, totp
from relaydesk.server.auth.tokens import new_api_token, token_hash
from relaydesk.server.db.models import ApiToken, Organisation, User, utcnow
from relaydesk.server.domain import audit
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.errors import Conflict, Invalid, NotFound
from relaydesk.server.domain.live_sockets import Because
from relaydesk.server.domain.password_checks import PasswordGuard
from relaydesk.server.domain.sign_outs import SignInsEnded, end_sign_ins


def check_account_password(password: str, user_email: str) -> None:
    if len(password) < passwords.MIN_ACCOUNT_PASSWORD_LENGTH:
        raise Invalid(
            "password_too_short",
            f"The password needs at least {passwords.MIN_ACCOUNT_PASSWORD_LENGTH} characters.",
            field="new_password",
        )
    if len(password) > passwords.MAX_PASSWORD_LENGTH:
        raise Invalid(
            "password_too_long",
            f"The password may have at most {passwords.MAX_PASSWORD_LENGTH} characters.",
            field="new_password",
        )
    if password.lower() in user_email.lower() or len(set(password)) < 4:
        raise Invalid(
            "password_too_weak",
            "This password is too easy to guess; do not reuse your e-mail address or "
            "repeat a few characters.",
            field="new_password",
        )


async def change_password(
    db: AsyncSession,
    user: User,
    current_password: str,
    new_password: str,
    ip: str,
    keep_login_id: int | None = None,
    keep_api_tokens: bool = False,
    *,
    guard: PasswordGuard,
) -> SignInsEnded:
    """Every other browser sign-in ends; API tokens are revoked unless the user keeps them."""
    await guard.verify_current_password(db, user, current_password, ip)
    if current_password == new_password:
        raise Invalid(
            "password_unchanged",
            "Choose a password different from the current one.",
            field="new_password",
        )
    check_account_password(new_password, user.email)
    user.password_hash = passwords.hash_password(new_password)
    user.must_change_password = False
    await audit.record(db, Who.of_user(user, ip), "auth.password_changed", target=user.email)
    return await end_sign_ins(
        db,
        user,
        Who.of_user(user, ip),
        Because.PASSWORD_CHANGED,
        keep_login_id=keep_login_id,
        revoke_api_tokens=not keep_api_tokens,
    )


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


async def start_totp_enrolment(db: AsyncSession, user: User) -> TotpEnrolment:
    if user.totp_enabled:
        raise Conflict(
            "totp_already_enabled",
            "An authenticator is already set up; turn it off first to set up another.",
        )
    secret = totp.new_secret()
    user.totp_pending_secret = secret
    uri = totp.provisioning_uri(secret, user.email)
    return TotpEnrolment(secret, uri, totp.qr_svg(uri))


async def confirm_totp_enrolment(db: AsyncSession, user: User, code: str, ip: str) -> None:
    if user.totp_pending_secret is None:
        raise Conflict("totp_not_started", "Start the authenticator set-up first.")
    step = totp.matching_step(user.totp_pending_secret, code, 0)
    if step is None:
        raise Invalid(
            "invalid_totp",
            "That code does not match; check the time on your phone and type the current code.",
            field="code",
        )
    user.totp_secret = user.totp_pending_secret
    user.totp_pending_secret = None
    user.totp_last_step = step
    await audit.record(db, Who.of_user(user, ip), "auth.totp_enabled", target=user.email)


async def disable_totp(
    db: AsyncSession,
    user: User,
    current_password: str,
    ip: str,
    keep_login_id: int | None = None,
    *,
    guard: PasswordGuard,
) -> None:
    """Every other browser sign-in ends (API tokens never needed the second factor: they stay)."""
    await guard.verify_current_password(db, user, current_password, ip)
    if not user.totp_enabled:
        raise Conflict("totp_not_enabled", "No authenticator is set up.")
    organisation = await db.get(Organisation, user.organisation_id)
    assert organisation is not None
    if organisation.mfa_required:
        raise Conflict(
            "mfa_required_by_organisation",
            "Your organisation requires a second factor; the authenticator cannot be turned off.",
        )
    user.totp_secret = None
    user.totp_last_step = 0
    await audit.record(db, Who.of_user(user, ip), "auth.totp_disabled", target=user.email)
    await end_sign_ins(
        db,
        user,
        Who.of_user(user, ip),
        Because.TOTP_DISABLED,
        keep_login_id=keep_login_id,
        revoke_api_tokens=False,
    )


@dataclass(frozen=True)
class IssuedToken:
    token: str
    api_token: ApiToken


async def create_api_token(
    db: AsyncSession, user: User, name: str, expires_in_days: int | None, ip: str
) -> IssuedToken:
    name = name.strip()
    if not name:
        raise Invalid(
            "name_required", "Give the token a name that says what uses it.", field="name"
        )
    existing = await db.execute(
        select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.name == name)
    )
    if existing.first() is not None:
        raise Conflict("name_taken", f"You already have a token named '{name}'.", field="name")
    token = new_api_token()
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    row = ApiToken(
        organisation_id=user.organisation_id,
        user_id=user.id,
        name=name,
        prefix=token[:8],
        token_hash=token_hash(token),
        expires_at=expires_at,
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        Who.of_user(user, ip),
        "api_token.created",
        target=f"api_token:{row.id}",
        details={"name": name, "expires_at": expires_at},
    )
    return IssuedToken(token, row)


async def list_api_tokens(db: AsyncSession, user: User) -> list[ApiToken]:
    rows = await db.execute(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    )
    return list(rows.scalars())


async def revoke_api_token(db: AsyncSession, user: User, token_id: int, ip: str) -> None:
    row = await db.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("api_token_not_found", "No such API token.")
    await db.delete(row)
    await audit.record(
        db,
        Who.of_user(user, ip),
        "api_token.revoked",
        target=f"api_token:{row.id}",
        details={"name": row.name},
    )


async def user_for_api_token(
    db: AsyncSession, token: str, *, note_use: bool = True
) -> tuple[User, ApiToken] | None:
    """The active user an API token acts for. With note_use, its last use is written (at most
    once a minute); a request that only reads passes False and calls note_api_token_use in a
    transaction of its own, since its own takes no write lock (Runtime.reading)."""
    row = (
        await db.execute(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    ).scalar_one_or_none()
    if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
        return None
    user = await db.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if note_use and api_token_use_due(row):
        row.last_used_at = utcnow()
    return user, row


def api_token_use_due(row: ApiToken) -> bool:
    return row.last_used_at is None or utcnow() - row.last_used_at > timedelta(minutes=1)


async def note_api_token_use(db: AsyncSession, token_id: int) -> None:
    row = await db.get(ApiToken, token_id)
    if row is not None and api_token_use_due(row):
        row.last_used_at = utcnow()
