"""Ending a user's other sign-ins when his credentials change (SEC-1): browser sign-ins are
deleted, API tokens revoked where the rule says so, live sockets closed after the commit, and
the count of each written to the audit log in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import ApiToken, ConsoleLogin, User
from relaydesk.server.domain import audit
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.live_sockets import Because, Ending, announce_ending


@dataclass(frozen=True)
class SignInsEnded:
    sessions_ended: int
    api_tokens_revoked: int


async def _count(
    db: AsyncSession,
    model: type[ConsoleLogin] | type[ApiToken],
    user: User,
    keep_login_id: int | None = None,
) -> int:
    query = select(func.count(model.id)).where(model.user_id == user.id)
    if keep_login_id is not None:
        query = query.where(model.id != keep_login_id)
    return int((await db.execute(query)).scalar_one())


async def end_sign_ins(
    db: AsyncSession,
    user: User,
    who: Who,
    because: Because,
    *,
    keep_login_id: int | None = None,
    revoke_api_tokens: bool,
) -> SignInsEnded:
    """Ends every browser sign-in of `user` except `keep_login_id` (the one that made the
    change, when the user changed his own credentials), revokes his API tokens when asked, and
    closes the live sockets of what ended once the transaction commits."""
    logins = delete(ConsoleLogin).where(ConsoleLogin.user_id == user.id)
    if keep_login_id is not None:
        logins = logins.where(ConsoleLogin.id != keep_login_id)
    sessions = await _count(db, ConsoleLogin, user, keep_login_id)
    await db.execute(logins)
    tokens = 0
    if revoke_api_tokens:
        tokens = await _count(db, ApiToken, user)
        await db.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    await audit.record(
        db,
        who,
        "auth.signins_ended",
        target=user.email,
        details={
            "because": because.value,
            "sessions_ended": sessions,
            "api_tokens_revoked": tokens,
            "api_tokens_kept": not revoke_api_tokens,
        },
    )
    announce_ending(db, Ending(user.id, because, keep_login_id=keep_login_id))
    return SignInsEnded(sessions, tokens)


def close_sockets_of_rights_change(db: AsyncSession, user_ids: list[int]) -> None:
    """The users' rights changed: their consoles connect again and are authorised afresh, and
    their tunnels close (a tool asks for a new one, which checks the new rights)."""
    for user_id in sorted(set(user_ids)):
        announce_ending(db, Ending(user_id, Because.RIGHTS_CHANGED))


def close_sockets_of_sign_out(db: AsyncSession, user: User, login_id: int) -> None:
    announce_ending(db, Ending(user.id, Because.SIGNED_OUT, login_id=login_id))
