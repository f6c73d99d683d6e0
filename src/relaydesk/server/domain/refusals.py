"""Refused attempts in the audit log (GOV-9, SEC-2) without letting a guesser flood it: the first
refusal of a kind from an address is audited at once; the others of the same window are counted
(in memory, without touching the database) and audited as one summary entry, with the count,
when the window ends.

The tallies live behind `TallyBook`: this process's memory (one process), or Redis when several
server nodes must agree (shared_state/refusals.py: one first refusal and one summary per window
for the whole cluster)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.domain import audit
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.throttle import Clock


@dataclass(frozen=True)
class Refusal:
    """One kind of refusal from one address (`about`: what was tried, e.g. an account or a
    portal): one tally each."""

    action: str
    ip: str
    about: str = ""


@dataclass
class Tally:
    refusal: Refusal
    started: float
    count: int
    # Who and what the window's first refusal was audited as; the summary repeats them.
    who: Who | None = None
    target: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class TallyBook(Protocol):
    async def add(self, refusal: Refusal, now: float, window: float) -> int:
        """Count one refusal in its current window; the count so far (1: the window's first)."""
        ...

    async def describe(
        self, refusal: Refusal, who: Who, target: str, details: dict[str, Any]
    ) -> None:
        """Remember how the current window's first refusal was audited."""
        ...

    async def take_ended(self, now: float, window: float) -> list[Tally]:
        """Remove and return the tallies whose window has ended (all of them if now is inf)."""
        ...


class MemoryTallyBook:
    """A `TallyBook` in this process's memory."""

    def __init__(self) -> None:
        self._open: dict[Refusal, Tally] = {}
        self._ended: list[Tally] = []

    async def add(self, refusal: Refusal, now: float, window: float) -> int:
        tally = self._open.get(refusal)
        if tally is not None and tally.started + window <= now:
            self._ended.append(tally)
            tally = None
        if tally is None:
            self._open[refusal] = Tally(refusal, now, 1)
            return 1
        tally.count += 1
        return tally.count

    async def describe(
        self, refusal: Refusal, who: Who, target: str, details: dict[str, Any]
    ) -> None:
        tally = self._open.get(refusal)
        if tally is not None:
            tally.who, tally.target, tally.details = who, target, details

    async def take_ended(self, now: float, window: float) -> list[Tally]:
        ended, self._ended = self._ended, []
        for refusal, tally in list(self._open.items()):
            if tally.started + window <= now:
                ended.append(tally)
                del self._open[refusal]
        return ended


class RefusalTally:
    """Counts refusals per window; the caller audits the first (`audit_first`), `summarise`
    audits the rest as one entry per window."""

    def __init__(
        self, book: TallyBook, window_seconds: float, clock: Clock = time.monotonic
    ) -> None:
        self.book = book
        self.window = window_seconds
        self.clock = clock

    async def count(self, refusal: Refusal, now: float | None = None) -> bool:
        """Count a refusal; True when it is the first of its window (then audit it with
        `audit_first`). Touches no database."""
        moment = self.clock() if now is None else now
        return await self.book.add(refusal, moment, self.window) == 1

    async def audit_first(
        self,
        db: AsyncSession,
        refusal: Refusal,
        who: Who,
        *,
        target: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        """Audit the window's first refusal. The caller commits."""
        await self.book.describe(refusal, who, target, details or {})
        await audit.record(db, who, refusal.action, target=target, details=details)

    async def summarise(self, db: AsyncSession, now: float | None = None) -> int:
        """Audit one summary per ended window that had more than its first refusal; how many.
        The caller commits. `now=math.inf` summarises every open window (at shutdown)."""
        moment = self.clock() if now is None else now
        written = 0
        for tally in await self.book.take_ended(moment, self.window):
            if tally.count < 2 or tally.who is None:
                continue
            await audit.record(
                db,
                tally.who,
                tally.refusal.action,
                target=tally.target,
                details={
                    **tally.details,
                    "summary": True,
                    "refusals": tally.count,
                    "window_seconds": int(self.window),
                },
            )
            written += 1
        return written
