"""What one WebSocket may cost the server: how large a message its peer may send, and what
happens when its listener falls behind (the broker's FellBehind)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from websockets.protocol import Protocol

from relaydesk.protocol.keepalive import watch_by_kernel

MESSAGE_TOO_BIG = 1009
# The console and the portal page send nothing on their sockets; anything larger is refused.
SILENT_PEER_BYTES = 4096
TRY_AGAIN_LATER = 1013
CLOSE_SECONDS = 5.0  # a peer that reads nothing cannot take the close frame either


def limit_message_size(websocket: WebSocket, max_bytes: int) -> bool:
    """Makes the server refuse a message over max_bytes as soon as its frame header arrives,
    before its payload is read (close code 1009). Call it before accepting, and again whenever
    the limit changes; it applies from the next frame on. uvicorn's limit (ws_max_size) is one
    for every WebSocket, so this reaches the connection's websockets protocol object behind the
    ASGI receive callable (uvicorn's websockets-sansio implementation, which `relaydesk serve`
    uses). False where that is not available: the caller's own check after receiving is then the
    only one."""
    connection = getattr(getattr(websocket, "_receive", None), "__self__", None)
    protocol = getattr(connection, "conn", None)
    if not isinstance(protocol, Protocol):
        return False
    protocol.max_message_size = max_bytes
    return True


def without_transport_pings(websocket: WebSocket) -> bool:
    """Stops uvicorn's WebSocket-level keepalive pings on this one socket (ws_ping_interval is one
    for every WebSocket), for a channel whose protocol has its own heartbeat: the agents' control
    channel, where one keepalive per connection is enough (issue 13). Call it after accepting.
    False where the connection object is not uvicorn's websockets-sansio one."""
    connection: Any = getattr(getattr(websocket, "_receive", None), "__self__", None)
    if not hasattr(connection, "stop_keepalive") or not hasattr(connection, "ping_interval"):
        return False
    connection.ping_interval = None
    connection.stop_keepalive()
    return True


def kernel_keepalive(websocket: WebSocket) -> bool:
    """Turns on the kernel's TCP keepalive (protocol/keepalive.py's timings) on this socket, for a
    channel whose protocol heartbeat is long: the agents' control channel, where a vanished
    machine is then found in about two minutes at no cost to this process. False where the
    socket cannot be reached (another ASGI server, a test client)."""
    connection: Any = getattr(getattr(websocket, "_receive", None), "__self__", None)
    transport = getattr(connection, "transport", None)
    if transport is None:
        return False
    return watch_by_kernel(transport.get_extra_info("socket"))


async def close_fallen_behind(websocket: WebSocket) -> None:
    """The socket's listener fell behind: close it so that its peer reconnects and starts from
    a fresh snapshot, rather than having missed events."""
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, TimeoutError):
        await asyncio.wait_for(
            websocket.close(code=TRY_AGAIN_LATER, reason="too slow to keep up; reconnect"),
            CLOSE_SECONDS,
        )
