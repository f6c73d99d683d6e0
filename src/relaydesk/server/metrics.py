"""What /metrics tells Prometheus about this node, in its text exposition format (version 0.0.4):
agents and technicians online, support sessions by state, tunnels open and bytes relayed, the
event broker's delivery lag (a probe event, timed from publish to delivery), and requests
refused by a throttle. Counters count since this process started; gauges are read at the scrape.
With several nodes, Prometheus scrapes each node (the `node` label says which) and sums."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relaydesk.protocol.events import QueueChanged
from relaydesk.server.db.models import SupportSession
from relaydesk.server.domain.notifications import Broker

SESSION_STATES = ("waiting", "active", "held", "ended")
PROBE_TIMEOUT_SECONDS = 2.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class RelayFigures:
    """The relay's counters on this node (relay/pipe.py keeps them)."""

    tunnels_open: int = 0
    tunnels_opened: int = 0
    spliced: int = 0  # tunnels whose frames went the lean path (relay/transport.py)
    bytes_relayed: int = 0

    def relayed(self, count: int) -> None:
        self.bytes_relayed += count


@dataclass
class ThrottleHits:
    """Requests answered 429 (a throttle or lock-out refused them), by area of the API."""

    by_area: Counter[str] = field(default_factory=Counter)


THROTTLE_HITS = ThrottleHits()


def _area(path: str) -> str:
    """/api/v1/auth/login → auth: a label with few values, never an id or a secret."""
    parts = [part for part in path.split("/") if part]
    area = parts[2] if len(parts) >= 3 and parts[0] == "api" else parts[0] if parts else "root"
    return area if area.replace("_", "").replace("-", "").isalnum() else "other"


class CountThrottleHits:
    """ASGI middleware: counts HTTP answers 429 into THROTTLE_HITS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 429:
                THROTTLE_HITS.by_area[_area(scope["path"])] += 1
            await send(message)

        await self.app(scope, receive, counting)


def node_name() -> str:
    return os.environ.get("RELAYDESK_NODE_ID") or socket.gethostname()


async def delivery_lag(broker: Broker) -> float | None:
    """Seconds from publishing a probe event to its delivery to a subscriber of its own topic
    (through Redis where the broker is Redis); None when it did not arrive in time."""
    topic = f"metrics-probe:{uuid.uuid4().hex}"
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            async with broker.subscribe(topic) as events:
                started = time.perf_counter()
                await broker.publish(topic, QueueChanged(session_id=0, change="arrived"))
                async for _ in events:
                    return time.perf_counter() - started
    except TimeoutError:
        return None
    return None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Exposition:
    """Lines of the text format, one family at a time (HELP, TYPE, samples)."""

    def __init__(self, node: str) -> None:
        self.node = _escape(node)
        self.lines: list[str] = []

    def family(
        self, name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]
    ) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            pairs = [f'node="{self.node}"'] + [f'{k}="{_escape(v)}"' for k, v in labels.items()]
            number = repr(float(value)) if isinstance(value, float) else str(value)
            self.lines.append(f"{name}{{{','.join(pairs)}}} {number}")

    def one(self, name: str, kind: str, help_text: str, value: float) -> None:
        self.family(name, kind, help_text, [({}, value)])

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


async def render(
    *,
    agents_online: int,
    technicians_online: int,
    sessions: dict[str, int],
    relay: RelayFigures,
    lag: float | None,
) -> str:
    out = Exposition(node_name())
    out.one("relaydesk_agents_online", "gauge", "Agents holding a control channel.", agents_online)
    out.one(
        "relaydesk_technicians_online",
        "gauge",
        "Technicians with a console open.",
        technicians_online,
    )
    states = [*SESSION_STATES, *sorted(set(sessions) - set(SESSION_STATES))]
    out.family(
        "relaydesk_sessions",
        "gauge",
        "Support sessions by state (the whole database).",
        [({"state": state}, sessions.get(state, 0)) for state in states],
    )
    out.one("relaydesk_tunnels_open", "gauge", "Tunnels relaying now.", relay.tunnels_open)
    out.one(
        "relaydesk_tunnels_opened_total",
        "counter",
        "Tunnels whose two ends met, since start.",
        relay.tunnels_opened,
    )
    out.one(
        "relaydesk_tunnels_spliced_total",
        "counter",
        "Tunnels relayed frame to frame on the lean path, since start.",
        relay.spliced,
    )
    out.one(
        "relaydesk_relayed_bytes_total",
        "counter",
        "Payload bytes relayed through tunnels, both directions, since start.",
        relay.bytes_relayed,
    )
    out.one(
        "relaydesk_event_delivery_lag_seconds",
        "gauge",
        "A probe event's time from publish to delivery through the broker (-1: not delivered "
        f"within {PROBE_TIMEOUT_SECONDS:g} s).",
        lag if lag is not None else -1.0,
    )
    areas = sorted(THROTTLE_HITS.by_area.items())
    out.family(
        "relaydesk_throttle_hits_total",
        "counter",
        "Requests refused by a throttle or lock-out (HTTP 429), by area, since start.",
        [({"area": area}, count) for area, count in areas],
    )
    return out.text()


async def session_counts(db: AsyncSession) -> dict[str, int]:
    rows = await db.execute(
        select(SupportSession.status, func.count()).group_by(SupportSession.status)
    )
    return {str(status): int(count) for status, count in rows.all()}
