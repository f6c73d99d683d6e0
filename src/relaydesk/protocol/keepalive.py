"""How both ends of the agents' control channel tell that the other has gone (issue 13).

Two layers, both cheap for an idle connection:
- the protocol's heartbeat: the server's JSON `ping` every heartbeat (the welcome says how long
  one is), answered with `pong`; a peer silent for SILENT_HEARTBEATS heartbeats is taken for
  gone (before the welcome, for HANDSHAKE_SILENCE_SECONDS). It catches a peer whose process hangs
  while its kernel still answers.
- the kernel's TCP keepalive and user timeout on the socket (watch_by_kernel): a machine that
  vanished (power, network) is found by the kernel in about two minutes whatever the heartbeat,
  with no work for the Python process.
"""

from __future__ import annotations

import socket
from asyncio.trsock import TransportSocket

SILENT_HEARTBEATS = 3
HANDSHAKE_SILENCE_SECONDS = 60.0
# The kernel probes a connection idle for TCP_IDLE_SECONDS every TCP_INTERVAL_SECONDS; a peer that
# answers none of TCP_PROBES probes, or leaves data unacknowledged for TCP_USER_TIMEOUT_SECONDS,
# is gone: the connection fails on both ends' next read.
TCP_IDLE_SECONDS = 60
TCP_INTERVAL_SECONDS = 15
TCP_PROBES = 4
TCP_USER_TIMEOUT_SECONDS = 120


def watch_by_kernel(sock: socket.socket | TransportSocket | None) -> bool:
    """Turns on the kernel's keepalive for this connection (Linux: with its timings and the user
    timeout; elsewhere: the system's defaults). False when there is no TCP socket to set (an
    asyncio transport's get_extra_info("socket") is what the ends pass)."""
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (
        ("TCP_KEEPIDLE", TCP_IDLE_SECONDS),
        ("TCP_KEEPINTVL", TCP_INTERVAL_SECONDS),
        ("TCP_KEEPCNT", TCP_PROBES),
        ("TCP_USER_TIMEOUT", TCP_USER_TIMEOUT_SECONDS * 1000),
    ):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)
    return True
