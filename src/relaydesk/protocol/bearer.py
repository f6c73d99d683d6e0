"""How a WebSocket client presents a secret (a tunnel token, the customer page's secret) without
putting it in the URL, which proxies and access logs write down: as one of the subprotocols it
offers in `Sec-WebSocket-Protocol`, next to a plain one the server answers with.

Browsers can set no other header on a WebSocket, and fail the handshake when they offered
subprotocols and the server picks none, hence the plain one. Secrets must be HTTP tokens
(RFC 9110: letters, digits and ``!#$%&'*+-.^_`|~``); `secrets.token_urlsafe` makes such."""

from __future__ import annotations

from collections.abc import Iterable

PLAIN = "relaydesk"
BEARER_PREFIX = "relaydesk.bearer."
# noVNC's own subprotocol: a screen view offers it instead of PLAIN.
BINARY = "binary"


def offered(secret: str, plain: str = PLAIN) -> list[str]:
    """The subprotocols a client offers to present `secret`."""
    return [plain, BEARER_PREFIX + secret]


def presented(subprotocols: Iterable[str]) -> str:
    """The secret among the offered subprotocols, "" when none was presented."""
    for subprotocol in subprotocols:
        if subprotocol.startswith(BEARER_PREFIX):
            return subprotocol[len(BEARER_PREFIX) :]
    return ""


def answer(subprotocols: Iterable[str]) -> str | None:
    """The subprotocol the server picks: never the bearer one, so the secret is not echoed."""
    offered_ = list(subprotocols)
    for choice in (BINARY, PLAIN):
        if choice in offered_:
            return choice
    return None
