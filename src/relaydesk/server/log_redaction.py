"""What the server's own request log may say about a URL: its path, never its query string's
values. Keys in links (`/?portal=…&key=…`), download URLs (`agent.sh?key=…`) or an outdated
client's `?token=…` would otherwise be written to the log for whoever reads it (SEC-1)."""

from __future__ import annotations

import copy
import logging
from typing import Any

REDACTED = "[redacted]"


def without_query_values(target: str) -> str:
    """`/relay/x?token=abc&y` → `/relay/x?token=[redacted]&[redacted]`: names kept, values gone."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    parts = [
        f"{name}={REDACTED}" if sep else REDACTED
        for name, sep, _ in (part.partition("=") for part in query.split("&"))
    ]
    return f"{path}?{'&'.join(parts)}"


class QueryStringRedaction(logging.Filter):
    """Removes query values from the URLs uvicorn logs: its access lines and its WebSocket lines
    (`"WebSocket /path?…" [accepted]`), which pass the URL as a %-argument."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                without_query_values(arg)
                if isinstance(arg, str) and arg.startswith("/") and "?" in arg
                else arg
                for arg in record.args
            )
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up with the redaction on both of its handlers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"no_query_values": {"()": QueryStringRedaction}}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "no_query_values"]
    return config
