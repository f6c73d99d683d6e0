"""This node's live sockets, in memory: the console WebSockets and the console sides of relay
tunnels, each under its user and browser sign-in. Endings come from the broker
(`domain.live_sockets.LIVE_SOCKETS_TOPIC`), so a change made on any node closes the sockets held
here; which sockets an ending closes is the rule in `domain/live_sockets.py`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from relaydesk.protocol.events import SocketsEnd
from relaydesk.server.domain.live_sockets import (
    LIVE_SOCKETS_TOPIC,
    Close,
    Ending,
    LiveSocket,
    ends,
)
from relaydesk.server.domain.notifications import Broker, FellBehind

log = logging.getLogger(__name__)


class MemoryLiveSockets:
    def __init__(self) -> None:
        self._sockets: dict[int, tuple[LiveSocket, Close]] = {}
        self._next = 0
        self._closing: set[asyncio.Task[int]] = set()

    @contextmanager
    def connected(self, socket: LiveSocket, close: Close) -> Iterator[None]:
        self._next += 1
        key = self._next
        self._sockets[key] = (socket, close)
        try:
            yield
        finally:
            self._sockets.pop(key, None)

    def sockets_of(self, user_id: int) -> list[LiveSocket]:
        return [s for s, _ in self._sockets.values() if s.user_id == user_id]

    async def end(self, ending: Ending) -> int:
        doomed = [(k, c) for k, (s, c) in self._sockets.items() if ends(s, ending)]
        for key, _ in doomed:
            del self._sockets[key]  # ended once, whatever the close takes
        results = await asyncio.gather(
            *(close(ending.close_code, ending.close_reason) for _, close in doomed),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                log.error("closing a live socket failed", exc_info=result)
        if doomed:
            log.info(
                "closed %d live socket(s) of user %d: %s",
                len(doomed),
                ending.user_id,
                ending.because.value,
            )
        return len(doomed)

    async def listen(self, broker: Broker) -> None:
        """Runs for the life of the server: ends sockets as endings are published. Closing a
        socket may wait on a slow peer, so each ending closes its sockets in a task of its own
        and the listener is always ready for the next one; should it still fall behind, it
        subscribes again instead of leaving this node deaf to endings."""
        while True:
            try:
                async with broker.subscribe(LIVE_SOCKETS_TOPIC) as events:
                    async for event in events:
                        if isinstance(event, SocketsEnd):
                            task = asyncio.create_task(self.end(Ending.from_event(event)))
                            self._closing.add(task)
                            task.add_done_callback(self._closing.discard)
            except FellBehind:
                log.error("the live-socket listener fell behind; subscribing again")
