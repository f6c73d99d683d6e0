"""What ends a tunnel from outside (server/relay/watch.py), through the real in-process broker:
its session ending or being held ends every tunnel of that session, the customer stopping sharing
ends the screen tunnel only, other sessions' tunnels stay, and a tunnel that went away by itself
is not ended again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from relaydesk.protocol.events import CustomerScreen, SessionState
from relaydesk.server.broker import MemoryBroker
from relaydesk.server.domain.notifications import session_topic
from relaydesk.server.domain.tunnels import Tunnel
from relaydesk.server.relay.watch import SessionWatch


def tunnel(tunnel_id: str, session_id: int, kind: str) -> Tunnel:
    return Tunnel(tunnel_id, session_id, 1, kind, 1, True, {"console": "", "agent": ""})


class Ended:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.changed = asyncio.Event()

    def of(self, tunnel_id: str) -> Callable[[], None]:
        def end() -> None:
            self.ids.append(tunnel_id)
            self.changed.set()

        return end

    async def next(self) -> list[str]:
        await asyncio.wait_for(self.changed.wait(), 10)
        await asyncio.sleep(0)  # every tunnel the same event ends
        self.changed.clear()
        return sorted(self.ids)


async def test_the_session_ending_ends_its_tunnels_and_stopping_sharing_the_screen_only() -> None:
    broker = MemoryBroker()
    watch, ended = SessionWatch(broker), Ended()
    for tunnel_id, session_id, kind in [
        ("screen1", 1, "screen"),
        ("shell1", 1, "shell"),
        ("files1", 1, "files"),
        ("shell2", 2, "shell"),
    ]:
        watch.add(tunnel(tunnel_id, session_id, kind), ended.of(tunnel_id))
    await asyncio.sleep(0)  # subscribed
    watch.discard(tunnel("files1", 1, "files"))  # closed by its own ends: not ended again

    await broker.publish(session_topic(1), CustomerScreen(state="off", requested=""))
    assert await ended.next() == ["screen1"]
    await broker.publish(session_topic(1), SessionState(status="ended"))
    assert await ended.next() == ["screen1", "shell1"]
    await broker.publish(session_topic(2), SessionState(status="held"))
    assert await ended.next() == ["screen1", "shell1", "shell2"]


async def test_a_tunnel_added_after_its_sessions_tunnels_all_went_is_watched_again() -> None:
    broker = MemoryBroker()
    watch, ended = SessionWatch(broker), Ended()
    watch.add(tunnel("shell1", 1, "shell"), ended.of("shell1"))
    await asyncio.sleep(0)
    watch.discard(tunnel("shell1", 1, "shell"))
    watch.add(tunnel("shell2", 1, "shell"), ended.of("shell2"))
    await asyncio.sleep(0)
    await broker.publish(session_topic(1), SessionState(status="ended"))
    assert await ended.next() == ["shell2"]
