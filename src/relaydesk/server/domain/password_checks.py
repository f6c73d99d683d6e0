"""Every check of something a person knows (the sign-in password, the authenticator code, the
current password before a change) goes through one guard (SEC-2, AUTH-1):

- per address: at most `ip_failures_per_window` failures, whatever the account;
- per account *and* address: at most `login_failures_before_lockout` failures. An attacker locks
  the account only for himself; its owner, from another address, signs in as usual. Unknown and
  known e-mail addresses are counted and refused alike (429 with Retry-After, before the database
  is asked), so the refusal tells nothing about which accounts exist;
- refusals are audited once per window and address (the first, then a summary with the count).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.auth import passwords
from relaydesk.server.db.models import User
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.errors import RateLimited, Unauthenticated
from relaydesk.server.domain.refusals import Refusal, RefusalTally
from relaydesk.server.domain.throttle import AttemptThrottle


def _account_key(email: str, ip: str) -> str:
    return f"{email.strip().lower()} from {ip}"


@dataclass(frozen=True)
class PasswordGuard:
    per_address: AttemptThrottle
    per_account: AttemptThrottle
    refusals: RefusalTally

    async def check(self, email: str, ip: str) -> None:
        """Refuse at once (RateLimited) when this address has failed too often; touches no
        database."""
        await self.per_address.check(ip)
        await self.per_account.check(_account_key(email, ip))

    async def failed(self, email: str, ip: str) -> None:
        """Count a failure for an account that may not exist (nothing to audit it in)."""
        await self.per_address.count(ip)
        await self.per_account.count(_account_key(email, ip))

    async def passed(self, email: str, ip: str) -> None:
        await self.per_account.forget(_account_key(email, ip))

    async def refused(self, db: AsyncSession, user: User, ip: str, reason: str) -> None:
        """Count a failure of a known account and audit it (the window's first at once, the
        others in its summary). Commits, so that the entry is kept although the request fails."""
        await self.failed(user.email, ip)
        first = await self.first_refusal(user.email, ip, "auth.signin_failed")
        if first is not None:
            await self.audit_first(db, first, user, reason)

    async def first_refusal(self, email: str, ip: str, action: str) -> Refusal | None:
        """Count a refusal (no database); the refusal when it is its window's first."""
        refusal = Refusal(action, ip, email.strip().lower())
        return refusal if await self.refusals.count(refusal) else None

    async def audit_first(self, db: AsyncSession, first: Refusal, user: User, reason: str) -> None:
        """Audit a window's first refusal and commit, so that the entry is kept although the
        request then fails (the others of the window come in its summary)."""
        await self.refusals.audit_first(
            db, first, Who.of_user(user, ip=first.ip), target=user.email, details={"reason": reason}
        )
        await db.commit()

    async def verify_current_password(
        self, db: AsyncSession, user: User, password: str, ip: str
    ) -> None:
        """For a change that asks for the current password: the sign-in's throttle and audit."""
        try:
            await self.check(user.email, ip)
        except RateLimited:
            first = await self.first_refusal(user.email, ip, "auth.signin_throttled")
            if first is not None:
                await self.audit_first(db, first, user, "too many failures")
            raise
        if not passwords.verify_password(user.password_hash, password):
            await self.refused(db, user, ip, "wrong current password")
            raise Unauthenticated("invalid_credentials", "Your current password is wrong.")
        await self.passed(user.email, ip)
