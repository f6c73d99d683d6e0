"""Presence (domain/presence.py) shared by every node through Redis.

Each node keeps, per kind (devices, technicians), one Redis set of the keys it holds a
connection of: `presence:{kind}:node:{node id}`, with an expiry of EXPIRY_SECONDS refreshed by
the node's heartbeat every HEARTBEAT_SECONDS. The node's heartbeat is also its entry in the
sorted set `nodes` (score: when last heard). A node that dies (kill -9, a lost machine) stops
refreshing: its set expires within EXPIRY_SECONDS and its devices go offline (DeviceReaper).

The rules ask `is_online` and `online` synchronously, in the middle of a request, so each node
keeps a mirror of who is online where: its own connections (counted, as in MemoryPresence),
and every other node's keys, learnt from the changes published on the kind's channel (at once)
and read again whole at each heartbeat (what a lost message or an expired node changed).
`arrive` and `leave` count at once and queue the write, which one writer sends in order, many
changes per round trip (10,000 agents coming back)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from relaydesk.server.shared_state.node import RedisNode, write_when_woken

log = logging.getLogger(__name__)

EXPIRY_SECONDS = 45  # the issue: a dead node's presence expires within 45 s
HEARTBEAT_SECONDS = 10.0
# A node not heard from for three heartbeats is dead for the others: the mirrors drop its keys
# at their next heartbeat, so within DEAD_AFTER_SECONDS + HEARTBEAT_SECONDS (40 s) of its death.
DEAD_AFTER_SECONDS = 3 * HEARTBEAT_SECONDS


class RedisPresence:
    def __init__(self, node: RedisNode, kind: str) -> None:
        self._node = node
        self._redis = node.redis
        self.kind = kind
        self._local: Counter[int] = Counter()
        # Other nodes' keys as last heard: node id → keys.
        self._elsewhere: dict[str, set[int]] = {}
        self._writes: list[tuple[bool, int]] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._pubsub: PubSub | None = None
        self._ready = asyncio.Event()

    # -- the interface (domain/presence.py) ------------------------------------------------

    def arrive(self, key: int) -> None:
        self._local[key] += 1
        if self._local[key] == 1:
            self._queue(True, key)

    def leave(self, key: int) -> None:
        self._local[key] -= 1
        if self._local[key] <= 0:
            del self._local[key]
            self._queue(False, key)

    def is_online(self, key: int) -> bool:
        return key in self._local or any(key in keys for keys in self._elsewhere.values())

    def online(self) -> set[int]:
        everyone = set(self._local)
        for keys in self._elsewhere.values():
            everyone |= keys
        return everyone

    # -- Redis ------------------------------------------------------------------------------

    def set_key(self, node_id: str) -> str:
        return self._node.key("presence", self.kind, "node", node_id)

    @property
    def nodes_key(self) -> str:
        return self._node.key("nodes")

    @property
    def channel(self) -> str:
        return self._node.key("presence", self.kind)

    def _queue(self, arrived: bool, key: int) -> None:
        self._writes.append((arrived, key))
        self._wake.set()

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub()
        await self._pubsub.subscribe(self.channel)
        await self.heartbeat()
        self._tasks = [
            asyncio.create_task(
                write_when_woken(self._wake, self._flush, f"presence ({self.kind})", log)
            ),
            asyncio.create_task(self._hear_forever()),
            asyncio.create_task(self._beat_forever()),
        ]

    async def close(self) -> None:
        """At a clean shutdown the node's keys go at once (not after the expiry)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(RedisError, OSError):
            await self._flush()
            held = list(self._local)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self.set_key(self._node.node_id))
                for key in held:
                    pipe.publish(self.channel, f"- {key} {self._node.node_id}")
                await pipe.execute()
        if self._pubsub is not None:
            # redis-py (8.1) leaves PubSub.aclose unannotated: name the type relied on.
            aclose: Callable[[], Awaitable[None]] = self._pubsub.aclose
            with contextlib.suppress(RedisError, OSError):
                await aclose()

    async def _flush(self) -> None:
        writes, self._writes = self._writes, []
        if not writes:
            return
        me = self._node.node_id
        async with self._redis.pipeline(transaction=True) as pipe:
            for arrived, key in writes:
                if arrived:
                    pipe.sadd(self.set_key(me), key)
                else:
                    pipe.srem(self.set_key(me), key)
                pipe.publish(self.channel, f"{'+' if arrived else '-'} {key} {me}")
            pipe.expire(self.set_key(me), EXPIRY_SECONDS)
            await pipe.execute()

    async def heartbeat(self) -> None:
        """The node is alive: its set's expiry starts again, its entry in `nodes` is renewed,
        and every other live node's keys are read again whole."""
        me = self._node.node_id
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            # Written whole each beat: what a failed write or a restart of Redis lost is back.
            pipe.delete(self.set_key(me))
            if self._local:
                pipe.sadd(self.set_key(me), *self._local)
                pipe.expire(self.set_key(me), EXPIRY_SECONDS)
            pipe.zadd(self.nodes_key, {me: now})
            pipe.zremrangebyscore(self.nodes_key, "-inf", now - 24 * 3600)
            await pipe.execute()
        # The heartbeat's own rewrite must not undo a change queued meanwhile: queued changes
        # are still in self._writes and go after it.
        alive = await live_nodes(self._node)
        others = [node for node in alive if node != me]
        elsewhere: dict[str, set[int]] = {}
        if others:
            async with self._redis.pipeline(transaction=False) as pipe:
                for node in others:
                    pipe.smembers(self.set_key(node))
                members: list[set[bytes]] = await pipe.execute()
            for node, keys in zip(others, members, strict=True):
                if keys:
                    elsewhere[node] = {int(key) for key in keys}
        self._elsewhere = elsewhere
        self._ready.set()

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.heartbeat()
            except (RedisError, OSError) as error:
                log.error("presence (%s): heartbeat failed (%s)", self.kind, error)

    async def _hear_forever(self) -> None:
        while True:
            try:
                assert self._pubsub is not None
                async for message in self._pubsub.listen():
                    self._heard(message)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the mirror must keep following
                log.error("presence (%s): listening failed (%s)", self.kind, error)
                await asyncio.sleep(1.0)

    def _heard(self, message: dict[str, Any]) -> None:
        if message["type"] != "message":
            return
        sign, key_text, node = message["data"].decode().split(" ", 2)
        if node == self._node.node_id:
            return
        key = int(key_text)
        if sign == "+":
            self._elsewhere.setdefault(node, set()).add(key)
        else:
            keys = self._elsewhere.get(node)
            if keys is not None:
                keys.discard(key)


async def live_nodes(node: RedisNode) -> list[str]:
    """The nodes heard from within DEAD_AFTER_SECONDS."""
    now = time.time()
    alive: list[Any] = await node.redis.zrangebyscore(
        node.key("nodes"), now - DEAD_AFTER_SECONDS, "+inf"
    )
    return [name.decode() for name in alive]


class DeviceReaper:
    """Devices the database says are online but no live node holds (their node died, or every
    node restarted): offline, through the same path as an ended link (device.online false to
    the consoles, once: link_ended only announces a change). A device is reaped when two rounds
    in a row find it so (a link whose presence write is still on its way is not reaped), by one
    node at a time (a lock in Redis)."""

    ROUND_SECONDS = 5.0

    def __init__(
        self,
        node: RedisNode,
        presence: RedisPresence,
        online_in_database: Callable[[], Awaitable[set[int]]],
        offline: Callable[[set[int]], Awaitable[None]],
    ) -> None:
        self._node = node
        self._presence = presence
        self._online_in_database = online_in_database
        self._offline = offline
        self._suspects: set[int] = set()

    async def _lead(self) -> bool:
        """One node reaps, as long as it lives: the lock is its own until it stops renewing."""
        lock, me = self._node.key("reaper"), self._node.node_id
        seconds = int(3 * self.ROUND_SECONDS)
        if await self._node.redis.set(lock, me, nx=True, ex=seconds):
            return True
        if await self._node.redis.get(lock) == me.encode():
            await self._node.redis.expire(lock, seconds)
            return True
        return False

    async def held_anywhere(self) -> set[int]:
        nodes = await live_nodes(self._node)
        held: set[int] = set(self._presence.online())
        if nodes:
            async with self._node.redis.pipeline(transaction=False) as pipe:
                for name in nodes:
                    pipe.smembers(self._presence.set_key(name))
                for keys in await pipe.execute():
                    held |= {int(key) for key in keys}
        return held

    async def round(self) -> set[int]:
        """One round; returns the devices set offline."""
        if not await self._lead():
            self._suspects.clear()
            return set()
        orphans = await self._online_in_database() - await self.held_anywhere()
        due, self._suspects = orphans & self._suspects, orphans - self._suspects
        if due:
            log.info("%d device(s) online with no live node: offline", len(due))
            await self._offline(due)
        return due

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.ROUND_SECONDS)
            try:
                await self.round()
            except Exception:  # noqa: BLE001 - a failed round must not stop the next ones
                log.exception("device reaper round failed")
