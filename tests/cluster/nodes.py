"""What the cluster tests share: a console's socket on a chosen node, which node holds a device's
link (the nodes' presence sets in Redis), shells through the relay."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets
from playwright.sync_api import Page, Response
from websockets.sync.client import connect

from relaydesk.protocol import bearer, shell
from relaydesk.server.domain.tunnels import owner_of
from tests.fixtures.cluster import Cluster
from tests.fixtures.databases import RedisConnection
from tests.fixtures.technician import Technician


def console_on(technician: Technician, base_url: str) -> Any:
    """The technician's console socket on one node (or on HAProxy), with his sign-in."""
    cookie = "; ".join(f"{k}={v}" for k, v in technician.http.cookies.items())
    url = base_url.replace("http://", "ws://") + "/api/v1/console/ws"
    return connect(url, additional_headers={"Cookie": cookie}, open_timeout=15)


def events_until(console: Any, wanted: Any, timeout: float = 30) -> dict[str, Any]:
    """Reads a console's events until wanted(event) is true: that event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = json.loads(console.recv(timeout=max(0.1, deadline - time.monotonic())))
        if wanted(event):
            return dict(event)
    raise AssertionError(f"no matching console event within {timeout} s")


def client_from(cluster: Cluster, address: str) -> httpx.Client:
    """A client whose connections come from `address` (a loopback address of its own)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=cluster.url, transport=transport, timeout=30, trust_env=False)


def redis_of(cluster: Cluster) -> tuple[RedisConnection, int]:
    parts = urlsplit(cluster.redis_url)
    number = int(parts.path.strip("/") or 0)
    return RedisConnection(parts.hostname or "127.0.0.1", parts.port or 6379, number), number


def device_holders(cluster: Cluster, device_id: int) -> list[str]:
    """The nodes whose presence set (server/shared_state/presence.py) holds the device."""
    redis, number = redis_of(cluster)
    with redis:
        return [
            node.node_id  # type: ignore[attr-defined]
            for node in cluster.nodes
            if redis.command(
                "SISMEMBER",
                f"relaydesk:{number}:presence:device:node:{node.node_id}",  # type: ignore[attr-defined]
                device_id,
            )
        ]


def presence_set_exists(cluster: Cluster, node_id: str) -> bool:
    redis, number = redis_of(cluster)
    with redis:
        return bool(redis.command("EXISTS", f"relaydesk:{number}:presence:device:node:{node_id}"))


async def _read_until(ws: Any, needle: bytes, within: float) -> bytes:
    seen = b""
    async with asyncio.timeout(within):
        while needle not in seen:
            frame = shell.parse(await ws.recv())
            if isinstance(frame, shell.Data):
                seen += frame.payload
    return seen


def run_in_shell(technician: Technician, cluster: Cluster, session_id: int, line: str) -> str:
    """Opens a shell tunnel through HAProxy (the node that answers owns it), runs one command line
    that prints `done-<n>` at its end, exits; returns the tunnel's owner node."""
    opened = technician.post(f"/api/v1/sessions/{session_id}/shell/tunnel")
    assert opened.status_code == 201, opened.text
    tunnel = opened.json()
    owner = owner_of(tunnel["tunnel_id"])
    assert owner is not None, tunnel
    url = cluster.url.replace("http://", "ws://") + tunnel["path"]

    async def work() -> None:
        async with websockets.connect(url, subprotocols=bearer.offered(tunnel["token"])) as ws:
            await ws.send(shell.resize(100, 30))
            await ws.send(shell.data(line.encode() + b"; echo done-$((6*7))\r"))
            await _read_until(ws, b"done-42", 30)
            await ws.send(shell.data(b"exit\r"))
            async with asyncio.timeout(30):
                while not isinstance(shell.parse(await ws.recv()), shell.Exit):
                    pass

    asyncio.run(work())
    return owner


def tunnel_owners(page: Page) -> list[tuple[str, str]]:
    """(tool, owner node) of every tunnel the console asks for from now on, as it asks."""
    owners: list[tuple[str, str]] = []

    def seen(response: Response) -> None:
        found = re.search(r"/sessions/\d+/(screen|shell|files)/tunnel$", response.url)
        if found and response.ok:
            body: dict[str, Any] = json.loads(response.text())
            owners.append((found.group(1), owner_of(body["tunnel_id"]) or "?"))

    page.on("response", seen)
    return owners
