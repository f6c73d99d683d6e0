"""One node's handle on the shared Redis: the client, the node's id and the namespace every key
and channel of this deployment lives under.

Keys of a numbered Redis database are that database's own, but pub/sub channels are not (they
are global to the server): channels and keys alike are prefixed with the database number, so
two deployments (or two test runs) on one Redis server never hear each other."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

from redis.asyncio import Redis


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
        redis = Redis.from_url(url, health_check_interval=30)
        database = redis.connection_pool.connection_kwargs.get("db", 0)
        return cls(redis, node_id or new_node_id(), f"relaydesk:{database}:")

    def key(self, *parts: object) -> str:
        return self.namespace + ":".join(str(part) for part in parts)

    async def close(self) -> None:
        await self.redis.aclose()
