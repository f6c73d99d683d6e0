"""The agents' control channel's heartbeat for the whole process: one task pings every welcomed
link once a heartbeat and drops the ones that have gone silent (issue 13: 10,000 idle installed
agents on one process), instead of a sleeping task per link.

Links wait in one queue in the order they are due (each is due a heartbeat after its last beat,
so appending keeps the order); every TICK the task beats those that are due. What a beat does is
the link's (realtime/agents.AgentLink.beat): ping, or drop it when it has been silent too long.
Between the heartbeats the kernel's TCP keepalive watches the connection (realtime/agents.py)."""

from __future__ import annotations

import asyncio
import collections
from typing import Protocol


class Beating(Protocol):
    def beat(self, now: float) -> bool:
        """Ping the agent, or drop it if it has been silent too long; False once dropped."""


class AgentHeartbeat:
    TICK = 1.0

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._due: collections.deque[tuple[float, Beating]] = collections.deque()
        self._beating: set[Beating] = set()
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._beating)

    def watch(self, link: Beating) -> None:
        """From now on the link is beaten every heartbeat, the first one a heartbeat from now."""
        loop = asyncio.get_running_loop()
        self._beating.add(link)
        self._due.append((loop.time() + self.seconds, link))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())

    def forget(self, link: Beating) -> None:
        """The link ended (its place in the queue is skipped when it comes up)."""
        self._beating.discard(link)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._beating:
            await asyncio.sleep(self.TICK)
            self.beat_due(loop.time())
        self._due.clear()

    def beat_due(self, now: float) -> None:
        """Beats every link due by now; the ones still beating are due again a heartbeat later."""
        due = self._due
        while due and due[0][0] <= now:
            _, link = due.popleft()
            if link in self._beating and link.beat(now):
                due.append((now + self.seconds, link))
            else:
                self._beating.discard(link)
