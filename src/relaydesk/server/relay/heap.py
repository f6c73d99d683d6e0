"""The relay's C heap. Tunnels carry large messages (files move in 512 KiB), and the WebSocket
libraries copy each a few times on its way through the server (reading, unmasking, framing).
With glibc's defaults those buffers come from the top of the heap, and the top is handed back to
the system as soon as a little more than two of them are free, so the next messages fault the
same memory in again: about one page fault for every 7 KiB relayed. `hold_message_buffers` keeps
up to 4 MiB of freed heap for the next messages instead (and serves buffers under 4 MiB from the
heap); `give_back_freed_memory` returns every free heap page once a tunnel is over. Where the C
library is not glibc, both do nothing."""

from __future__ import annotations

import functools
from typing import Any

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MESSAGE_BUFFERS = 4 * 1024 * 1024


@functools.cache
def _glibc() -> Any:
    try:
        import ctypes  # loaded with the first tunnel, not at start

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both exist: this is glibc
    except (OSError, AttributeError):
        return None
    return libc


@functools.cache
def hold_message_buffers() -> None:
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, _MESSAGE_BUFFERS)
        libc.mallopt(_M_TRIM_THRESHOLD, _MESSAGE_BUFFERS)


def give_back_freed_memory() -> None:
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
