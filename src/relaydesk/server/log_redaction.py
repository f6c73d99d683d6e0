"""What the server's own request log may say about a URL: its path, never its query string's
values. Keys in links (`/?portal=…&key=…`), download URLs (`agent.sh?key=…`) or an outdated
client's `?token=…` would otherwise be written to the log for whoever reads it (SEC-1)."""

from __future__ import annotations

import copy
import logging
from typing import Any

REDACTED = "[redacted]"
AGENT_CHANNEL = "/agent/ws"
# What the websockets library logs through uvicorn's logger for every WebSocket, with neither
# address nor path: 10,000 agents coming back wrote 10,000 of them, and a server whose log
# reader lags blocks on them (issue 13: the event loop stalled for tens of seconds).
BARE_CONNECTION_LINES = frozenset({"connection open", "connection closed"})


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


class AgentChannelAccepts(logging.Filter):
    """Leaves out uvicorn's `"WebSocket /agent/ws" [accepted]` line and the bare `connection
    open` / `connection closed` lines of every WebSocket: one or more per agent connection,
    10,000 after a restart (a twelfth of the server's time coming back, issue 13); the agent
    channel logs enrolments, refusals and drops itself, and its devices' comings and goings in
    one line per batch."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not args and record.msg in BARE_CONNECTION_LINES:
            return False
        return not (
            isinstance(args, tuple)
            and len(args) == 2
            and args[1] == AGENT_CHANNEL
            and str(record.msg).endswith("[accepted]")
        )


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up with the redaction on both of its handlers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {
        "no_query_values": {"()": QueryStringRedaction},
        "no_agent_accepts": {"()": AgentChannelAccepts},
    }
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "no_query_values", "no_agent_accepts"]
    return config
