"""Tunnels: one-time, short-lived pairings of a console WebSocket and an agent WebSocket for the
heavy data of one tool (screen, shell, files). The registry is this node's memory; a tunnel never
outlives its session, and an unused token expires in seconds.

Several nodes: the node that issues a tunnel owns it, and both ends must meet there. A tunnel's
id begins with its owner's node id and an underscore (``n2_Xy…``, the rest letters and digits),
so its path ``/relay/n2_Xy…`` names the owner and the load balancer sends both ends to it
(docs/deployment.md, "Several nodes behind HAProxy"); the pipe stays a local one, with its
backpressure and its recording. When the owner is gone, the other nodes do not know the tunnel
(refused, 4403) and the console asks for a new one."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import string
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from relaydesk.server.auth.tokens import token_hash

log = logging.getLogger(__name__)

TOKEN_LIFETIME_SECONDS = 15.0
# A node id that can begin a tunnel id (protocol TunnelId: [A-Za-z0-9_-]{8,64}).
ROUTABLE_NODE_ID = re.compile(r"^[A-Za-z0-9-]{1,40}$")
_ID_LETTERS = string.ascii_letters + string.digits
_ID_LENGTH = 16  # about 95 bits; the id is no secret (the tokens are), but never guessed twice
REMEMBERED_CLOSED_TUNNELS = 1000
Side = Literal["console", "agent"]


@dataclass
class Tunnel:
    id: str
    session_id: int
    organisation_id: int
    kind: str
    opened_by: int
    input_allowed: bool
    token_hashes: dict[Side, str]
    record: bool = False
    grant: dict[str, Any] | None = None  # a files tunnel's rights, as told to the agent
    created: float = field(default_factory=time.monotonic)
    claimed: set[Side] = field(default_factory=set)

    @property
    def expired(self) -> bool:
        return time.monotonic() - self.created > TOKEN_LIFETIME_SECONDS


@dataclass(frozen=True)
class IssuedTunnel:
    tunnel: Tunnel
    console_token: str
    agent_token: str


class TunnelRegistry(Protocol):
    """The tunnels this node pairs (a tunnel's two sockets meet on the node that issued it)."""

    def create(
        self,
        session_id: int,
        organisation_id: int,
        kind: str,
        opened_by: int,
        input_allowed: bool,
        record: bool = False,
        grant: dict[str, Any] | None = None,
    ) -> IssuedTunnel: ...

    def claim(self, tunnel_id: str, token: str) -> tuple[Tunnel, Side] | None:
        """Which side a token opens; each side's token works once, and only while fresh."""
        ...

    def of_session(self, session_id: int) -> list[Tunnel]: ...

    def get(self, tunnel_id: str) -> Tunnel | None: ...

    def remove(self, tunnel_id: str) -> None: ...

    def known(self, tunnel_id: str) -> Tunnel | None:
        """An open tunnel or one that closed recently."""
        ...

    async def find(self, tunnel_id: str) -> Tunnel | None:
        """known(), whichever node owns the tunnel: what the agent reports about a tunnel arrives
        on the node of its link, which may not own it (shared_state/tunnels.py)."""
        ...

    async def open_of_session(self, session_id: int) -> list[Tunnel]:
        """The session's open tunnels on every node (of_session() on each)."""
        ...

    def sweep(self) -> list[Tunnel]:
        """Drop tunnels whose tokens expired before both sides came."""
        ...


def owner_of(tunnel_id: str) -> str | None:
    """The node id a tunnel's id names (None: issued by a node without one)."""
    owner, mark, _ = tunnel_id.rpartition("_")
    return owner if mark else None


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ID_LETTERS) for _ in range(_ID_LENGTH))


class MemoryTunnels:
    """TunnelRegistry in this process's memory. With `owner` (this node's id, several nodes), the
    ids it issues name it: ``<owner>_<letters and digits>``."""

    def __init__(self, owner: str | None = None) -> None:
        self._prefix = ""
        if owner is not None and ROUTABLE_NODE_ID.match(owner):
            self._prefix = f"{owner}_"
        elif owner is not None:
            log.warning(
                "node id %r cannot name this node's tunnels (letters, digits and '-', at most 40):"
                " a load balancer cannot send them to it; set RELAYDESK_NODE_ID",
                owner,
            )
        self._tunnels: dict[str, Tunnel] = {}
        # Closed tunnels, remembered a while: an agent's report about one may arrive late.
        self._closed: OrderedDict[str, Tunnel] = OrderedDict()

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
        console_token, agent_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        tunnel = Tunnel(
            id=_new_id(self._prefix),
            session_id=session_id,
            organisation_id=organisation_id,
            kind=kind,
            opened_by=opened_by,
            input_allowed=input_allowed,
            token_hashes={"console": token_hash(console_token), "agent": token_hash(agent_token)},
            record=record,
            grant=grant,
        )
        self._tunnels[tunnel.id] = tunnel
        return IssuedTunnel(tunnel, console_token, agent_token)

    def claim(self, tunnel_id: str, token: str) -> tuple[Tunnel, Side] | None:
        """Which side a token opens; each side's token works once, and only while fresh."""
        tunnel = self._tunnels.get(tunnel_id)
        if tunnel is None:
            return None
        digest = token_hash(token)
        for side, expected in tunnel.token_hashes.items():
            if hmac.compare_digest(digest, expected):
                if side in tunnel.claimed or tunnel.expired:
                    return None
                tunnel.claimed.add(side)
                return tunnel, side
        return None

    def of_session(self, session_id: int) -> list[Tunnel]:
        return [t for t in self._tunnels.values() if t.session_id == session_id]

    def get(self, tunnel_id: str) -> Tunnel | None:
        return self._tunnels.get(tunnel_id)

    def remove(self, tunnel_id: str) -> None:
        tunnel = self._tunnels.pop(tunnel_id, None)
        if tunnel is not None:
            self._closed[tunnel_id] = tunnel
            while len(self._closed) > REMEMBERED_CLOSED_TUNNELS:
                self._closed.popitem(last=False)

    def known(self, tunnel_id: str) -> Tunnel | None:
        """An open tunnel or one that closed recently."""
        return self._tunnels.get(tunnel_id) or self._closed.get(tunnel_id)

    async def find(self, tunnel_id: str) -> Tunnel | None:
        return self.known(tunnel_id)

    async def open_of_session(self, session_id: int) -> list[Tunnel]:
        return self.of_session(session_id)

    def sweep(self) -> list[Tunnel]:
        """Drop tunnels whose tokens expired before both sides came."""
        stale = [t for t in self._tunnels.values() if t.expired and len(t.claimed) < 2]
        for tunnel in stale:
            del self._tunnels[tunnel.id]
        return stale
