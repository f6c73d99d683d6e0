"""Which address a request comes from (SEC-2): the peer's, or, when the peer is a trusted reverse
proxy, the address that proxy appended to X-Forwarded-For. Every throttle, audit entry, address
range check and WebSocket uses this one answer."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> Network:
    """One entry of RELAYDESK_TRUSTED_PROXIES: an address or a CIDR range."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(
            f"{text.strip()!r} is not an IP address or CIDR range (e.g. 10.0.0.5 or 10.0.0.0/24)"
        ) from None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[str]) -> TrustedProxies:
        return cls(tuple(parse_network(e) for e in entries if e.strip()))

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_address(self, peer: str, forwarded_for: str | None) -> str:
        """The peer, unless it is a trusted proxy: then the right-most X-Forwarded-For entry that
        is not itself a trusted proxy (entries further left were written by the client and are
        never believed), as uvicorn's --forwarded-allow-ips and Werkzeug's ProxyFix do."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",")]
        for hop in reversed(hops):
            if not hop:
                continue
            if not _is_address(hop):
                return peer  # not what a proxy appends: believe nothing further left
            if not self.trusts(hop):
                return hop
        # Every hop is one of our proxies: the left-most one is the closest we know to the client.
        return next((hop for hop in hops if hop), peer)
