"""Tunnels (domain/tunnels.py) whose records every node can read through Redis.

A tunnel is still paired by the node that issued it (its id names that node; the load balancer
sends both ends there), and its tokens never leave that node. What the other nodes need is what
the tunnel is: the agent's link may be on another node than the tunnel, and what the agent says
about a tunnel (a files tunnel's completed transfers and changes) arrives there; a command that
closes a session's tunnels of a kind (screen sharing stopped) reaches the agent's node. So the
owner writes each tunnel's record (session, organisation, kind, who opened it, the files grant;
no token) to `tunnel:{id}` and its id to the session's set `tunnels:session:{id}` when it issues
it, and when it closes: the id leaves the set and the record stays RECORD_CLOSED_SECONDS for late
reports. Writes are queued and sent in order by one writer (the registry's methods are
synchronous); an agent reports about a tunnel only after it joined it, well after the write.
Open records expire after RECORD_OPEN_SECONDS; the ids of a dead node's tunnels are left out of
a session's open tunnels at once (live_nodes)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from redis.exceptions import RedisError

from relaydesk.server.domain.tunnels import IssuedTunnel, MemoryTunnels, Tunnel, owner_of
from relaydesk.server.shared_state.node import RedisNode, write_when_woken
from relaydesk.server.shared_state.presence import live_nodes

log = logging.getLogger(__name__)

RECORD_OPEN_SECONDS = 24 * 3600
RECORD_CLOSED_SECONDS = 3600


def _record(tunnel: Tunnel) -> str:
    return json.dumps(
        {
            "id": tunnel.id,
            "session_id": tunnel.session_id,
            "organisation_id": tunnel.organisation_id,
            "kind": tunnel.kind,
            "opened_by": tunnel.opened_by,
            "input_allowed": tunnel.input_allowed,
            "record": tunnel.record,
            "grant": tunnel.grant,
        }
    )


def _tunnel(record: bytes | str) -> Tunnel:
    fields: dict[str, Any] = json.loads(record)
    return Tunnel(token_hashes={}, **fields)


class RedisTunnels(MemoryTunnels):
    """The node's own tunnels in memory (MemoryTunnels, with ids that name the node), their
    records in Redis for the other nodes."""

    def __init__(self, node: RedisNode) -> None:
        super().__init__(node.node_id)
        self._node = node
        self._writes: list[tuple[str, Tunnel]] = []  # ("open" | "closed" | "dropped", tunnel)
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def record_key(self, tunnel_id: str) -> str:
        return self._node.key("tunnel", tunnel_id)

    def session_key(self, session_id: int) -> str:
        return self._node.key("tunnels", "session", session_id)

    # -- the registry, written through ------------------------------------------------------

    def create(
        self,
        session_id: int,
        organisation_id: int,
        kind: str,
        opened_by: int,
        input_allowed: bool,
        record: bool = False,
        grant: dict[str, Any] | None = None,
    ) -> IssuedTunnel:
        issued = super().create(
            session_id, organisation_id, kind, opened_by, input_allowed, record, grant
        )
        self._queue("open", issued.tunnel)
        return issued

    def remove(self, tunnel_id: str) -> None:
        tunnel = self.get(tunnel_id)
        super().remove(tunnel_id)
        if tunnel is not None:
            self._queue("closed", tunnel)

    def sweep(self) -> list[Tunnel]:
        stale = super().sweep()
        for tunnel in stale:
            self._queue("dropped", tunnel)
        return stale

    async def find(self, tunnel_id: str) -> Tunnel | None:
        """Redis unreachable: only this node's tunnels are known (logged)."""
        known = self.known(tunnel_id)
        if known is not None:
            return known
        try:
            record = await self._node.redis.get(self.record_key(tunnel_id))
        except (RedisError, OSError) as error:
            log.error("tunnel %s: its record could not be read (%s)", tunnel_id, error)
            return None
        return _tunnel(record) if record is not None else None

    async def open_of_session(self, session_id: int) -> list[Tunnel]:
        """Redis unreachable: this node's tunnels only (logged)."""
        found = {tunnel.id: tunnel for tunnel in self.of_session(session_id)}
        try:
            members = await self._node.redis.smembers(self.session_key(session_id))
            ids = [m.decode() if isinstance(m, bytes) else m for m in members]
            alive = set(await live_nodes(self._node))
            elsewhere = [i for i in ids if i not in found and owner_of(i) in alive]
            records = (
                await self._node.redis.mget([self.record_key(i) for i in elsewhere])
                if elsewhere
                else []
            )
        except (RedisError, OSError) as error:
            log.error("session %d: other nodes' tunnels could not be read (%s)", session_id, error)
            return list(found.values())
        for record in records:
            if record is not None:
                tunnel = _tunnel(record)
                found[tunnel.id] = tunnel
        return list(found.values())

    # -- Redis ------------------------------------------------------------------------------

    def _queue(self, change: str, tunnel: Tunnel) -> None:
        self._writes.append((change, tunnel))
        self._wake.set()

    async def _flush(self) -> None:
        writes, self._writes = self._writes, []
        if not writes:
            return
        async with self._node.redis.pipeline(transaction=True) as pipe:
            for change, tunnel in writes:
                record, session = self.record_key(tunnel.id), self.session_key(tunnel.session_id)
                if change == "open":
                    pipe.set(record, _record(tunnel), ex=RECORD_OPEN_SECONDS)
                    pipe.sadd(session, tunnel.id)
                    pipe.expire(session, RECORD_OPEN_SECONDS)
                elif change == "closed":
                    pipe.expire(record, RECORD_CLOSED_SECONDS)
                    pipe.srem(session, tunnel.id)
                else:
                    pipe.delete(record)
                    pipe.srem(session, tunnel.id)
            try:
                await pipe.execute()
            except BaseException:
                self._writes[:0] = writes  # sent again, in the same order, next time
                raise

    def start(self) -> None:
        self._writer = asyncio.create_task(
            write_when_woken(self._wake, self._flush, "tunnel records", log)
        )

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        with contextlib.suppress(RedisError, OSError):
            await self._flush()
