"""Tunnels across nodes: what the multi-node path adds to a tunnel's latency and set-up.

Three real `relaydesk serve` nodes on one PostgreSQL database and one Redis behind a real HAProxy
(the configuration of docs/deployment.md, made by tests/fixtures/cluster.py). A bench agent
(the real control protocol, enrolled with a session key) keeps its control channel on node n2;
the technician asks node n1's API for shell tunnels, so the tunnel's command goes from n1 to n2
through Redis and n1 owns the tunnel. Both ends then open /relay/n1_…:

- same node: both ends straight to n1 (no load balancer: what one node does);
- across nodes: both ends through HAProxy, which sends /relay/n1_… to n1 (the production path:
  console and agent reach the load balancer, whatever node their other sockets are on).

Latency: ping-pong of `--size`-byte messages, console end → agent end → back, one at a time
(round trip; half of it is one way). Set-up: the API's answer until both ends are joined.

    .venv/bin/python bench/cross_node_latency.py [--rounds 2000] [--tunnels 50] [--size 1024]

Needs PostgreSQL (as the tests find it: RELAYDESK_TEST_POSTGRES_ADMIN), Redis
(RELAYDESK_TEST_REDIS) and haproxy."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import struct
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.shared import bench_hello, running_cluster  # noqa: E402
from tests.fixtures.cluster import Cluster  # noqa: E402

from relaydesk.protocol import bearer, control  # noqa: E402
from relaydesk.server.domain.tunnels import owner_of  # noqa: E402

STAMP = struct.Struct("!d")
PASSWORD = "Bench-Password-42"


class BenchAgent:
    """Enrols with a session key on one node; opens its end of each tunnel it is told of, through
    `relay_base`, and echoes every message back."""

    def __init__(self, control_url: str, key: str) -> None:
        self.control_url = control_url
        self.device_key, self.hello = bench_hello(key)
        self.relay_base = ""
        self.joined: dict[str, asyncio.Future[float]] = {}

    def joined_at(self, tunnel_id: str) -> asyncio.Future[float]:
        return self.joined.setdefault(tunnel_id, asyncio.get_running_loop().create_future())

    async def run(self) -> None:
        connection = control.AgentConnection(self.hello, self.device_key)
        connection.start()
        async with websockets.connect(self.control_url, compression=None, proxy=None) as ws:
            for frame in connection.data_to_send():
                await ws.send(frame)
            async for frame in ws:
                for event in connection.receive(frame):
                    if isinstance(event, control.TunnelRequested):
                        asyncio.create_task(self._echo(event))
                for out in connection.data_to_send():
                    await ws.send(out)

    async def _echo(self, request: control.TunnelRequested) -> None:
        async with websockets.connect(
            f"{self.relay_base}/relay/{request.tunnel_id}",
            subprotocols=bearer.offered(request.token),
            compression=None,
            proxy=None,
            max_size=None,
        ) as end:
            self.joined_at(request.tunnel_id).set_result(time.perf_counter())
            async for message in end:
                await end.send(message)


async def technician(node_url: str, cluster: Cluster) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=node_url, timeout=60, trust_env=False)
    first = await http.post(
        "/api/v1/auth/login",
        json={"email": cluster.admin_email, "password": cluster.admin_password},
    )
    assert first.json()["stage"] == "password_change", first.text
    http.headers["x-csrf-token"] = http.cookies["relaydesk_csrf"]
    changed = await http.post(
        "/api/v1/me/password",
        json={"current_password": cluster.admin_password, "new_password": PASSWORD},
    )
    assert changed.json()["stage"] == "complete", changed.text
    enabled = await http.patch(
        "/api/v1/organisation/settings", json={"remote_support_enabled": True}
    )
    assert enabled.status_code == 200, enabled.text
    return http


async def open_tunnel(
    http: httpx.AsyncClient, agent: BenchAgent, session_id: int, relay_base: str
) -> tuple[ClientConnection, float, str]:
    """A shell tunnel asked of `http`'s node, both ends through `relay_base`: the console's end,
    the set-up time and the owner."""
    agent.relay_base = relay_base
    started = time.perf_counter()
    answer = await http.post(f"/api/v1/sessions/{session_id}/shell/tunnel")
    assert answer.status_code == 201, answer.text
    tunnel = answer.json()
    console = await websockets.connect(
        relay_base + tunnel["path"],
        subprotocols=bearer.offered(tunnel["token"]),
        compression=None,
        proxy=None,
        max_size=None,
    )
    joined = await asyncio.wait_for(agent.joined_at(tunnel["tunnel_id"]), 60)
    return console, max(joined, time.perf_counter()) - started, owner_of(tunnel["tunnel_id"]) or ""


async def ping_pong(console: ClientConnection, rounds: int, size: int) -> list[float]:
    filler = os.urandom(size - STAMP.size)
    times = []
    for _ in range(rounds):
        sent = time.perf_counter()
        await console.send(STAMP.pack(sent) + filler)
        echoed = await console.recv()
        assert isinstance(echoed, bytes) and len(echoed) == size
        times.append(time.perf_counter() - STAMP.unpack_from(echoed)[0])
    return times


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


async def measure(cluster: Cluster, args: argparse.Namespace) -> dict[str, Any]:
    n1, n2 = cluster.nodes[0], cluster.nodes[1]
    http = await technician(n1.url, cluster)
    key = (await http.post("/api/v1/session-keys", json={"validity_minutes": 60})).json()["key"]
    agent = BenchAgent(n2.url.replace("http://", "ws://") + "/agent/ws", key)
    running = asyncio.create_task(agent.run())
    for _ in range(600):
        personal = (await http.get("/api/v1/queue")).json()["personal"]
        if personal:
            break
        await asyncio.sleep(0.1)
    session_id = int(personal[0]["id"])
    assert (await http.post(f"/api/v1/sessions/{session_id}/accept")).status_code == 200
    paths = {
        "same node (both ends straight to n1)": n1.url.replace("http://", "ws://"),
        "across nodes (both ends through HAProxy to n1)": cluster.url.replace("http://", "ws://"),
    }
    results: dict[str, Any] = {}
    for _repeat in range(args.repeats):  # alternate the paths, so load changes hit both
        for name, base in paths.items():
            setups, owners = [], set()
            for _ in range(args.tunnels):
                console, took, owner = await open_tunnel(http, agent, session_id, base)
                setups.append(took)
                owners.add(owner)
                await console.close()
            console, _, owner = await open_tunnel(http, agent, session_id, base)
            await ping_pong(console, 50, args.size)  # warm up
            rtt = await ping_pong(console, args.rounds, args.size)
            await console.close()
            entry = results.setdefault(name, {"rtt": [], "setup": [], "owners": set()})
            entry["rtt"] += rtt
            entry["setup"] += setups
            entry["owners"] |= owners | {owner}
    running.cancel()
    await http.aclose()
    out: dict[str, Any] = {}
    for name, entry in results.items():
        out[name] = {
            "round_trip": summary(entry["rtt"]),
            "tunnel_setup": summary(entry["setup"]),
            "owners": sorted(entry["owners"]),
            "rounds": len(entry["rtt"]),
            "tunnels": len(entry["setup"]),
        }
    same, across = (out[name]["round_trip"]["p50_ms"] for name in paths)
    out["added_p50_ms"] = {
        "round_trip": round(across - same, 3),
        "one_way": round((across - same) / 2, 3),
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000, help="ping-pongs per path and repeat")
    parser.add_argument("--tunnels", type=int, default=30, help="set-ups per path and repeat")
    parser.add_argument("--size", type=int, default=1024, help="message size in bytes")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with running_cluster(3, "relaydesk-cross-node-") as cluster:
        started = time.time()
        result = asyncio.run(measure(cluster, args))
        result["settings"] = vars(args)
        result["load_average"] = [round(x, 2) for x in os.getloadavg()]
        result["seconds"] = round(time.time() - started, 1)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
