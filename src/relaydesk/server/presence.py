"""Presence (domain/presence.py) in this process's memory: connections counted per key, so that
a device or technician on two connections at once (a reconnection that overtook the old link)
stays online until the last one ends. DeviceLinks writes installed devices' comings and goings
to the database in batches; ReturningDevices reads their hellos in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from relaydesk.protocol.messages import Hello
from relaydesk.server.db.engine import reading_engine
from relaydesk.server.db.models import Device
from relaydesk.server.domain import device_list, installers
from relaydesk.server.domain.installers import Returning
from relaydesk.server.domain.presence import Presence
from relaydesk.server.domain.session_keys import KeyRefusal

log = logging.getLogger(__name__)


class MemoryPresence:
    def __init__(self) -> None:
        self._connections: Counter[int] = Counter()

    def arrive(self, key: int) -> None:
        self._connections[key] += 1

    def leave(self, key: int) -> None:
        self._connections[key] -= 1
        if self._connections[key] <= 0:
            del self._connections[key]

    def is_online(self, key: int) -> bool:
        return key in self._connections

    def online(self) -> set[int]:
        return set(self._connections)


class DeviceLinks:
    """Installed agents' links as the device list sees them (online since, last seen, addresses;
    domain/device_list.link_started and link_ended), written for every device that changed in
    one transaction each TICK rather than one transaction per link (issue 13: 10,000 agents
    coming back after a restart, or leaving at a shutdown). Which it is, online or not, is
    decided when written, from the presence counter, so a link that ended before its start was
    written leaves the device offline, and one that came back stays online."""

    TICK = 0.25

    def __init__(
        self,
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        online: Presence,
    ) -> None:
        self._transaction = transaction
        self._online = online
        # Device id → what its latest link said (hello, address), None when only an end is due.
        self._due: dict[int, tuple[Hello, str] | None] = {}
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def started(self, device_id: int, hello: Hello, ip: str) -> None:
        self._due[device_id] = (hello, ip)
        self._kick()

    def ended(self, device_id: int) -> None:
        self._due.setdefault(device_id, None)
        self._kick()

    def _kick(self) -> None:
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_forever())

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.TICK)
            self._wake.clear()
            await self.write()

    async def write(self) -> None:
        """Writes what is due now, in one transaction (put back for the next tick if it fails)."""
        due, self._due = self._due, {}
        if not due:
            return
        started = ended = 0
        try:
            async with self._transaction() as db:
                ids = list(due)
                for first in range(0, len(ids), 500):  # one SELECT, link_*'s db.get then hit it
                    chunk = ids[first : first + 500]
                    await db.execute(select(Device).where(Device.id.in_(chunk)))
                for device_id, link in due.items():
                    if self._online.is_online(device_id):
                        if link is not None:
                            await device_list.link_started(db, device_id, link[0], link[1])
                            started += 1
                    else:
                        await device_list.link_ended(db, device_id)
                        ended += 1
        except Exception:
            log.exception("installed devices' links: %d not written, retried", len(due))
            for device_id, link in due.items():
                self._due.setdefault(device_id, link)
            self._wake.set()
            return
        log.info("installed devices: %d connected, %d offline (written together)", started, ended)

    async def close(self) -> None:
        """At shutdown: what is due is written, the writer stops."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        await self.write()


class ReturningDevices:
    """Installed devices saying hello with their id, judged together (installers.
    returning_devices): every hello that arrived in the last WAIT seconds in one SELECT, on one
    plain connection in a reading transaction (no write lock), instead of a connection and a
    transaction each; 10,000 agents come back at once after a restart."""

    WAIT = 0.01

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._waiting: list[tuple[int, str, asyncio.Future[Returning | KeyRefusal]]] = []
        self._reader: asyncio.Task[None] | None = None

    async def judge(self, device_id: int, public_key: str) -> Returning | KeyRefusal:
        answer: asyncio.Future[Returning | KeyRefusal] = asyncio.get_running_loop().create_future()
        self._waiting.append((device_id, public_key, answer))
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read())
        return await answer

    async def _read(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.WAIT)
            batch, self._waiting = self._waiting, []
            try:
                async with reading_engine(self._engine).connect() as db:
                    judged = await installers.returning_devices(
                        db, [(device_id, key) for device_id, key, _ in batch]
                    )
            except Exception as error:  # noqa: BLE001 - each hello gets the failure
                for _, _, answer in batch:
                    if not answer.done():
                        answer.set_exception(error)
                continue
            for (_, _, answer), result in zip(batch, judged, strict=True):
                if not answer.done():  # its link may have gone meanwhile
                    answer.set_result(result)
