"""Group commit: many requests' writes in one transaction. Whatever was handed in while one
transaction ran is written together in the next, so under load the transactions grow instead of
queueing on the database's write lock one by one, and a lone request is written at once (no timer
to wait for). Each caller awaits its own item's outcome, which comes only after the transaction
that holds it has committed: nothing is acknowledged before it is durable. If a transaction
fails, every caller of its batch gets the error (nothing of it was written)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)
Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class GroupCommit(Generic[Item, Outcome]):
    """`await group(item)`: the item written by `write` (one outcome per item, in order) in a
    transaction with the others waiting, at most MOST at a time."""

    MOST = 500

    def __init__(
        self,
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        write: Callable[[AsyncSession, Sequence[Item]], Awaitable[Sequence[Outcome]]],
    ) -> None:
        self._transaction = transaction
        self._write = write
        self._waiting: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> Outcome:
        outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, outcome))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_while_waiting())
        # A caller that goes away does not take its item back: it is written with the others.
        return await outcome

    async def _write_while_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.MOST], self._waiting[self.MOST :]
            try:
                async with self._transaction() as db:
                    outcomes = await self._write(db, [item for item, _ in batch])
            except Exception as error:  # noqa: BLE001 - handed to each caller, who raises it
                log.warning("group commit of %d failed: %r", len(batch), error)
                for _, waiting in batch:
                    if not waiting.done():
                        waiting.set_exception(error)
                continue
            for (_, waiting), outcome in zip(batch, outcomes, strict=True):
                if not waiting.done():
                    waiting.set_result(outcome)

    async def close(self) -> None:
        """At shutdown: what was handed in is written."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
