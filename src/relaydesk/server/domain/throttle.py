"""Attempt counting for anything guessable or cheap to abuse (passwords, codes, keys, the portal's
forms): SEC-2. A throttle answers at once (refuses with a Retry-After, or lets through); it never
sleeps, and it is asked before the request touches the database, so no guesser ever holds a
transaction or a lock.

The counts live behind `AttemptLedger`: this process's memory today; a shared store (Redis) when
several server nodes must agree."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from relaydesk.server.domain.errors import RateLimited

Clock = Callable[[], float]


class AttemptLedger(Protocol):
    """The times of recent attempts, per key."""

    async def recent(self, key: str, since: float) -> list[float]:
        """The attempts of `key` after `since` (older ones may be forgotten)."""
        ...

    async def add(self, key: str, at: float) -> None: ...

    async def forget(self, key: str) -> None: ...


class MemoryLedger:
    """An `AttemptLedger` in this process's memory."""

    def __init__(self) -> None:
        self._attempts: dict[str, deque[float]] = {}

    async def recent(self, key: str, since: float) -> list[float]:
        attempts = self._attempts.get(key)
        if attempts is None:
            return []
        while attempts and attempts[0] <= since:
            attempts.popleft()
        if not attempts:
            del self._attempts[key]
        return list(attempts)

    async def add(self, key: str, at: float) -> None:
        self._attempts.setdefault(key, deque()).append(at)

    async def forget(self, key: str) -> None:
        self._attempts.pop(key, None)


TOO_MANY_ATTEMPTS = "Too many failed attempts from your address. Try again in {seconds} seconds."


class AttemptThrottle:
    """At most `limit` counted attempts per key in a sliding window of `window_seconds`."""

    def __init__(
        self,
        ledger: AttemptLedger,
        limit: int,
        window_seconds: float,
        *,
        message: str = TOO_MANY_ATTEMPTS,
        clock: Clock = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.limit = limit
        self.window = window_seconds
        self.message = message
        self.clock = clock

    async def check(self, key: str, now: float | None = None) -> None:
        """Refuse (RateLimited, with the seconds until the oldest counted attempt ages out)."""
        moment = self.clock() if now is None else now
        attempts = await self.ledger.recent(key, moment - self.window)
        if len(attempts) >= self.limit:
            retry_after = max(1, int(attempts[0] + self.window - moment) + 1)
            raise RateLimited(
                "too_many_attempts",
                self.message.format(seconds=retry_after),
                retry_after=retry_after,
            )

    async def count(self, key: str, now: float | None = None) -> None:
        """One more attempt against the limit (a failure, or any use of a limited form)."""
        await self.ledger.add(key, self.clock() if now is None else now)

    async def forget(self, key: str) -> None:
        await self.ledger.forget(key)
