"""Throttles and lock-outs (domain/throttle.py) counted in Redis, so that guesses spread over
several nodes are counted together (SEC-2): one sorted set per throttled key, the attempts'
times as scores. Reading drops what left the window and reads the rest in one transaction;
adding an attempt renews the key's expiry (the window), so a key nobody tries any more goes
away on its own. The times are wall-clock seconds (every node's clock, kept by NTP), where the
memory ledger may use the monotonic clock of its one process."""

from __future__ import annotations

import uuid

from relaydesk.server.shared_state.node import RedisNode


class RedisLedger:
    """An `AttemptLedger` in Redis; `name` tells the throttles apart."""

    def __init__(self, node: RedisNode, name: str, window_seconds: float) -> None:
        self._node = node
        self._name = name
        self._expiry = max(1, int(window_seconds) + 1)

    def _key(self, key: str) -> str:
        return self._node.key("throttle", self._name, key)

    async def recent(self, key: str, since: float) -> list[float]:
        async with self._node.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self._key(key), "-inf", since)
            pipe.zrange(self._key(key), 0, -1, withscores=True)
            _, attempts = await pipe.execute()
        return [float(score) for _, score in attempts]

    async def add(self, key: str, at: float) -> None:
        async with self._node.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._key(key), {f"{at!r}:{uuid.uuid4().hex[:8]}": at})
            pipe.expire(self._key(key), self._expiry)
            await pipe.execute()

    async def forget(self, key: str) -> None:
        await self._node.redis.delete(self._key(key))
