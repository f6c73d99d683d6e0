"""The downloaded support client finds its server, pin and key in its own file (see
relaydesk.protocol.support_client), so the customer runs it without typing anything."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from relaydesk.protocol.support_client import (
    TAIL_BYTES,
    ClientConfig,
    config_from_tail,
    key_from_file_name,
)


def own_paths() -> list[Path]:
    """This program's file as it was started (argv[0]) and, when it is the one-file executable,
    the executable itself."""
    paths = [Path(sys.argv[0])] if sys.argv and sys.argv[0] else []
    if getattr(sys, "frozen", False):
        paths.append(Path(sys.executable))
    return paths


def key_in_own_name() -> str | None:
    for path in own_paths():
        key = key_from_file_name(path.name)
        if key:
            return key
    return None


def own_config() -> ClientConfig | None:
    """The server's trailer on the executable; None when not frozen or not served by a server."""
    if not getattr(sys, "frozen", False):
        return None
    try:
        with open(sys.executable, "rb") as own:
            size = own.seek(0, os.SEEK_END)
            own.seek(max(0, size - TAIL_BYTES))
            return config_from_tail(own.read())
    except OSError:
        return None
