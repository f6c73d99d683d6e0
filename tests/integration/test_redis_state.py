"""The Redis side of the shared live state, part by part, on a real Redis (fails under CI=true
when Redis is missing): two "nodes" are two RedisNode handles with their own connections and
ids in one test, as two server processes would be (tests/integration/test_shared_state.py runs
the real processes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from relaydesk.protocol.events import BrokerEvent, DeviceOnline, SysinfoRequest
from relaydesk.server.domain.errors import RateLimited
from relaydesk.server.domain.notifications import FellBehind
from relaydesk.server.domain.throttle import AttemptThrottle
from relaydesk.server.shared_state import presence as shared_presence
from relaydesk.server.shared_state.broker import RedisBroker
from relaydesk.server.shared_state.node import RedisNode
from relaydesk.server.shared_state.presence import DeviceReaper, RedisPresence
from relaydesk.server.shared_state.throttle import RedisLedger


async def soon(check: Callable[[], bool], seconds: float, what: str) -> None:
    """eventually() for this event loop's own tasks: polls without blocking them."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        await asyncio.sleep(0.05)


def online(device_id: int, up: bool = True) -> DeviceOnline:
    return DeviceOnline(device_id=device_id, online=up, at=datetime.now(UTC), device_group_id=None)


@pytest.fixture
async def nodes(redis_url: str) -> AsyncIterator[tuple[RedisNode, RedisNode]]:
    a = RedisNode.connect(redis_url, "node-a")
    b = RedisNode.connect(redis_url, "node-b")
    yield a, b
    await a.close()
    await b.close()


@pytest.fixture
async def brokers(nodes: tuple[RedisNode, RedisNode]) -> AsyncIterator[tuple[RedisBroker, ...]]:
    pair = RedisBroker(nodes[0]), RedisBroker(nodes[1])
    for broker in pair:
        await broker.start()
    yield pair
    for broker in pair:
        await broker.close()


async def take(events: AsyncIterator[BrokerEvent], n: int) -> list[BrokerEvent]:
    return [await asyncio.wait_for(anext(events), 10) for _ in range(n)]


async def test_an_event_published_on_one_node_reaches_a_subscriber_on_the_other(
    brokers: tuple[RedisBroker, RedisBroker],
) -> None:
    a, b = brokers
    async with b.subscribe("org:1") as events, b.subscribe("device:7") as commands:
        await a.publish("org:1", online(7))
        await a.publish("device:7", SysinfoRequest(type="sysinfo_request", request_id="r-1"))
        await a.publish("org:2", online(8))  # another organisation: not heard
        await a.publish("org:1", online(7, up=False))
        got = await take(events, 2)
        command = await take(commands, 1)
    assert [(e.device_id, e.online) for e in got] == [(7, True), (7, False)]  # type: ignore[union-attr]
    assert command == [SysinfoRequest(type="sysinfo_request", request_id="r-1")]
    # Nobody listens for device 9's commands on any node: said, not lost in silence.
    await a.publish("device:9", SysinfoRequest(type="sysinfo_request", request_id="r-2"))
    assert a.unheard_commands == 1


async def test_a_reconnecting_console_catches_up_from_its_last_event_id(
    brokers: tuple[RedisBroker, RedisBroker],
) -> None:
    a, b = brokers
    async with b.subscribe_from("org:1", None) as numbered:
        await a.publish("org:1", online(1))
        first_id, _ = await asyncio.wait_for(anext(numbered), 10)
    assert first_id is not None
    # While the console is away, three events; then it comes back naming the first one's id.
    for device_id in (2, 3, 4):
        await a.publish("org:1", online(device_id))
    async with b.subscribe_from("org:1", first_id) as numbered:
        await a.publish("org:1", online(5))
        got = [await asyncio.wait_for(anext(numbered), 10) for _ in range(4)]
    assert [e.device_id for _, e in got] == [2, 3, 4, 5]  # type: ignore[union-attr]
    ids = [event_id for event_id, _ in got]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, str(i).split("-"))))
    # A stranger's id (not a stream id) is no catch-up: live events only.
    async with b.subscribe_from("org:1", "drop table") as numbered:
        await a.publish("org:1", online(6))
        ((_, event),) = [await asyncio.wait_for(anext(numbered), 10)]
    assert event.device_id == 6  # type: ignore[union-attr]


async def test_a_subscriber_that_falls_behind_is_cut_off(
    brokers: tuple[RedisBroker, RedisBroker],
) -> None:
    a, b = brokers
    async with b.subscribe("org:1") as events:
        for device_id in range(1100):  # more than the queue's 1,000 while nobody reads
            await a.publish("org:1", online(device_id))
        with pytest.raises(FellBehind):
            await asyncio.wait_for(take(events, 1100), 20)


async def test_presence_is_seen_on_every_node_and_expires_with_a_dead_node(
    nodes: tuple[RedisNode, RedisNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = RedisPresence(nodes[0], "device"), RedisPresence(nodes[1], "device")
    await a.start()
    await b.start()
    try:
        b.arrive(42)
        b.arrive(42)  # a second link of the same device (a reconnection that overtook)
        await soon(lambda: a.is_online(42), 10, "device 42 online on node A")
        b.leave(42)
        await asyncio.sleep(0.3)
        assert a.is_online(42) and b.is_online(42)
        b.leave(42)
        await soon(lambda: not a.is_online(42), 10, "device 42 offline on node A")
        assert a.online() == set()
        # Node B dies holding device 43: no leave, no clean shutdown. Its set expires within
        # 45 s (EXPIRY_SECONDS); its heartbeat stopped, so node A's next heartbeat forgets it.
        b.arrive(43)
        await soon(lambda: a.is_online(43), 10, "device 43 online on node A")
        ttl = await nodes[1].redis.ttl(b.set_key("node-b"))
        assert 0 < ttl <= 45
        for task in b._tasks:
            task.cancel()
        await nodes[1].redis.zadd(a.nodes_key, {"node-b": 0})  # last heard long ago
        await a.heartbeat()
        assert not a.is_online(43)
    finally:
        await a.close()


async def test_the_reaper_sets_offline_what_no_live_node_holds_once(
    nodes: tuple[RedisNode, RedisNode],
) -> None:
    presence = RedisPresence(nodes[0], "device")
    await presence.start()
    try:
        presence.arrive(1)
        await asyncio.sleep(0.3)
        reaped: list[set[int]] = []

        async def in_database() -> set[int]:
            return {1, 2}  # 2: its node died

        async def offline(ids: set[int]) -> None:
            reaped.append(ids)

        reaper = DeviceReaper(nodes[0], presence, in_database, offline)
        other = DeviceReaper(nodes[1], RedisPresence(nodes[1], "device"), in_database, offline)
        assert await reaper.round() == set()  # suspected, not reaped: it may be on its way
        assert await other.round() == set()  # node A reaps; node B does not
        assert await reaper.round() == {2}
        assert reaped == [{2}]
    finally:
        await presence.close()


async def test_guesses_on_two_nodes_are_counted_together(
    nodes: tuple[RedisNode, RedisNode],
) -> None:
    a = AttemptThrottle(RedisLedger(nodes[0], "password-account", 900), 10, 900)
    b = AttemptThrottle(RedisLedger(nodes[1], "password-account", 900), 10, 900)
    for n in range(10):
        node = a if n % 2 == 0 else b
        await node.check("tom@example.com")
        await node.count("tom@example.com")
    for node in (a, b):
        with pytest.raises(RateLimited) as refused:
            await node.check("tom@example.com")
        assert refused.value.code == "too_many_attempts"
    await a.check("ann@example.com")  # another account is not locked
    await b.forget("tom@example.com")
    await a.check("tom@example.com")
    await a.count("tom@example.com")  # the key lasts as long as the window, then goes
    ttl = await nodes[0].redis.ttl(nodes[0].key("throttle", "password-account", "tom@example.com"))
    assert 0 < ttl <= 901


def test_the_expiry_is_45_seconds_at_most() -> None:
    assert shared_presence.EXPIRY_SECONDS <= 45
    # Others drop a silent node's keys within three missed heartbeats and one more.
    dropped_within = shared_presence.DEAD_AFTER_SECONDS + shared_presence.HEARTBEAT_SECONDS
    assert dropped_within <= shared_presence.EXPIRY_SECONDS
