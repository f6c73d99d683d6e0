"""What a node starts and stops when its live state is shared through Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from relaydesk.server.shared_state.broker import RedisBroker
from relaydesk.server.shared_state.node import RedisNode
from relaydesk.server.shared_state.presence import DeviceReaper, RedisPresence
from relaydesk.server.shared_state.tunnels import RedisTunnels


@dataclass
class SharedState:
    node: RedisNode
    broker: RedisBroker
    technicians: RedisPresence
    devices: RedisPresence
    tunnels: RedisTunnels
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def connect(cls, url: str, node_id: str | None) -> SharedState:
        node = RedisNode.connect(url, node_id)
        return cls(
            node,
            RedisBroker(node),
            RedisPresence(node, "technician"),
            RedisPresence(node, "device"),
            RedisTunnels(node),
        )

    async def start(
        self,
        online_in_database: Callable[[], Awaitable[set[int]]],
        offline: Callable[[set[int]], Awaitable[None]],
    ) -> None:
        await self.broker.start()
        await self.technicians.start()
        await self.devices.start()
        self.tunnels.start()
        reaper = DeviceReaper(self.node, self.devices, online_in_database, offline)
        self._tasks.append(asyncio.create_task(reaper.run()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.tunnels.close()
        await self.devices.close()
        await self.technicians.close()
        await self.broker.close()
        await self.node.close()
