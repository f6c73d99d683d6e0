"""One node's handle on the shared Redis: the client, the node's id and the namespace every key
and channel of this deployment lives under.

Keys of a numbered Redis database are that database's own, but pub/sub channels are not (they
are global to the server): channels and keys alike are prefixed with the database number, so
two deployments (or two test runs) on one Redis server never hear each other."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

# Connections to Redis per node: the broker's and the presences' pub/sub hold one each; the
# rest serve publishes and reads. When all are busy, the next waits for one (up to
# POOL_WAIT_SECONDS) instead of failing: a burst of events is queued, not refused.
POOL_CONNECTIONS = 64
POOL_WAIT_SECONDS = 20


async def write_when_woken(
    wake: asyncio.Event, flush: Callable[[], Awaitable[None]], what: str, log: logging.Logger
) -> None:
    """Queued writes sent by one writer: `flush` each time `wake` is set. A write Redis refused is
    logged to `log` (`what`: whose writes) and the writer wakes again a second later."""
    while True:
        await wake.wait()
        wake.clear()
        try:
            await flush()
        except (RedisError, OSError) as error:
            log.error("%s: writing to Redis failed (%s); retried", what, error)
            await asyncio.sleep(1.0)
            wake.set()


def new_node_id() -> str:
    """A node id when RELAYDESK_NODE_ID is not set: host, process and a few random letters (a
    restarted process is a new node: its predecessor's presence expires on its own)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class RedisNode:
    redis: Redis
    node_id: str
    namespace: str = field(default="")

    @classmethod
    def connect(cls, url: str, node_id: str | None) -> RedisNode:
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_CONNECTIONS,
            timeout=POOL_WAIT_SECONDS,
            health_check_interval=30,
        )
        redis = Redis(connection_pool=pool)
        database = pool.connection_kwargs.get("db", 0)
        return cls(redis, node_id or new_node_id(), f"relaydesk:{database}:")

    def key(self, *parts: object) -> str:
        return self.namespace + ":".join(str(part) for part in parts)

    async def take_turn(self, task: str, seconds: float) -> bool:
        """Whether this node does `task` now, for every node: the first to ask takes the turn,
        which is the task's for `seconds` (a key that expires on its own; nobody releases it),
        so the task runs once per interval whichever nodes live."""
        taken = await self.redis.set(
            self.key("turn", task), self.node_id, nx=True, px=max(1, int(seconds * 1000))
        )
        return bool(taken)

    async def close(self) -> None:
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()
