"""What ends a tunnel from outside it: its session ending or being held, and for the screen, the
customer stopping sharing. One broker subscription per session that has open tunnels (not one
task and subscription per tunnel: a session has few tunnels, a benchmark thousands)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from relaydesk.protocol.events import BrokerEvent, CustomerScreen, SessionState
from relaydesk.server.domain.notifications import Broker, session_topic
from relaydesk.server.domain.tunnels import Tunnel

log = logging.getLogger(__name__)

End = Callable[[], None]


def ends(tunnel: Tunnel, event: BrokerEvent) -> bool:
    if isinstance(event, SessionState) and event.status in ("ended", "held"):
        return True
    return tunnel.kind == "screen" and isinstance(event, CustomerScreen) and event.state == "off"


class _Session:
    def __init__(self) -> None:
        self.tunnels: dict[str, tuple[Tunnel, End]] = {}
        self.task: asyncio.Task[None] | None = None


class SessionWatch:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._sessions: dict[int, _Session] = {}

    def add(self, tunnel: Tunnel, end: End) -> None:
        """From now on, `end()` is called (once) when something ends the tunnel."""
        session = self._sessions.setdefault(tunnel.session_id, _Session())
        session.tunnels[tunnel.id] = (tunnel, end)
        if session.task is None:
            session.task = asyncio.create_task(self._watch(tunnel.session_id, session))

    def discard(self, tunnel: Tunnel) -> None:
        session = self._sessions.get(tunnel.session_id)
        if session is None or session.tunnels.pop(tunnel.id, None) is None:
            return
        if not session.tunnels:
            del self._sessions[tunnel.session_id]
            if session.task is not None:
                session.task.cancel()

    async def _watch(self, session_id: int, session: _Session) -> None:
        try:
            async with self._broker.subscribe(session_topic(session_id)) as events:
                async for event in events:
                    for tunnel, end in list(session.tunnels.values()):
                        if ends(tunnel, event):
                            self._end(session, tunnel, end)
        except Exception:  # FellBehind, the broker gone: nothing would end these tunnels now
            log.warning("the watch of session %d's tunnels failed", session_id, exc_info=True)
        # Over without being cancelled: its tunnels end with it (a later add() starts anew).
        if self._sessions.get(session_id) is session:
            del self._sessions[session_id]
        for tunnel, end in list(session.tunnels.values()):
            self._end(session, tunnel, end)

    def _end(self, session: _Session, tunnel: Tunnel, end: End) -> None:
        session.tunnels.pop(tunnel.id, None)
        end()
