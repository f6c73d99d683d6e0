"""Relay streams per core, latency, idle memory per tunnel and tunnel set-ups per second:
relaydesk's relay (real tunnels through the API: a technician asks for shell tunnels, a bench
agent enrolled with a session key answers on its control channel) against a bare `websockets`
+ uvloop relay (bench/relay_reference.py) in the same run, on the same machine.

Each stream sends 16 KiB messages at 180 kB/s from the agent's end to the console's end (as the
screen does); every message carries its send time, so the receiving end measures latency. For
each number of streams: set-up time of the tunnels, the relay process's CPU over the measuring
window, p50/p99 latency, and whether every message arrived. Idle memory per tunnel: the relay's
RSS with N open, idle tunnels against before, divided by N.

    .venv/bin/python bench/relay_streams.py --streams 100,300,600 [--tls] [--nodes 2]
    [--server-src DIR: relaydesk's server runs from DIR/src (older code, same run)]

The load generator runs on the same machine: on 2 cores it needs about as much CPU as the relay
(it writes and reads both ends of every stream), which caps what can be measured here; streams
per core are extrapolated from CPU per stream where the relay's core was not full."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import uvloop
import websockets
from websockets.asyncio.client import ClientConnection

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.demo_server import BIN, free_port  # noqa: E402
from bench.shared import bench_hello  # noqa: E402

from relaydesk.protocol import bearer, control  # noqa: E402

MESSAGE = 16 * 1024
RATE = 180_000  # bytes per second per stream
INTERVAL = MESSAGE / RATE
STAMP = struct.Struct("!d")
FILLER = os.urandom(MESSAGE - STAMP.size)  # incompressible, as screen data is
CONCURRENT_SETUPS = 32
# Where a relaydesk tunnel's set-up time goes: the API call, the console's end, the agent's end.
SETUP_PHASES: dict[str, list[float]] = {"post": [], "console": [], "agent": []}
SETUP_FAILURES: list[str] = []


@dataclass
class Node:
    """One relay process under test and how to reach it."""

    name: str
    process: subprocess.Popen[str]
    url: str  # http(s)://…
    admin_email: str = ""
    admin_password: str = ""
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    session_id: int = 0
    agent: Any = None
    front: subprocess.Popen[bytes] | None = None  # HAProxy terminating TLS in front of it

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1)

    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def stop(self) -> None:
        """Ends the relay (and HAProxy in front of it), waiting up to 15 s for the relay."""
        if self.front is not None:
            self.front.terminate()
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(15)


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def client_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def start_relaydesk(
    work: Path, name: str, tls: bool, server_src: Path | None, env: dict[str, str] | None = None
) -> Node:
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("RELAYDESK_")}
    environment = {**inherited, **(env or {}), "RELAYDESK_DATA_DIR": str(work / name)}
    args = ["demo", "--port", str(port)] + (["--tls", "self-signed"] if tls else [])
    if server_src is not None:
        environment["PYTHONPATH"] = str(server_src / "src")
        command = [sys.executable, "-c", "import sys; from relaydesk.server.cli import main; "
                   "sys.exit(main(sys.argv[1:]))", *args]  # fmt: skip
    else:
        command = [str(BIN / "relaydesk"), *args]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    node = Node(name, process, f"{'https' if tls else 'http'}://127.0.0.1:{port}")
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Administrator e-mail: "):
            node.admin_email = line.split(": ", 1)[1].strip()
        if line.startswith("One-time password: "):
            node.admin_password = line.split(": ", 1)[1].strip()
        if "Uvicorn running" in line:
            break
    subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)
    return node


HAPROXY = """global
    maxconn 8000
defaults
    mode http
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
frontend relay
    bind 127.0.0.1:{port} ssl crt {pem}
    default_backend node
backend node
    server node 127.0.0.1:{backend}
"""


def put_haproxy_in_front(node: Node, work: Path) -> None:
    """TLS terminated by HAProxy (Debian's), plain HTTP from it to the node."""
    pem = work / "haproxy.pem"
    if not pem.exists():
        key, cert = work / "haproxy.key", work / "haproxy.crt"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", str(key), "-out", str(cert), "-days", "2"],
            check=True, capture_output=True,
        )  # fmt: skip
        pem.write_bytes(cert.read_bytes() + key.read_bytes())
    port = free_port()
    config = work / f"haproxy-{node.name}.cfg"
    backend = node.url.rsplit(":", 1)[1]
    config.write_text(HAPROXY.format(port=port, pem=pem, backend=backend))
    node.front = subprocess.Popen(["haproxy", "-f", str(config), "-db"])
    node.url = f"https://127.0.0.1:{port}"
    time.sleep(1)


def start_reference(tls_files: tuple[Path, Path] | None) -> Node:
    port = free_port()
    command = [sys.executable, str(ROOT / "bench" / "relay_reference.py"), "--port", str(port)]
    if tls_files:
        command += ["--tls", str(tls_files[0]), str(tls_files[1])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.readline()
    return Node("reference", process, f"{'https' if tls_files else 'http'}://127.0.0.1:{port}")


class BenchAgent:
    """Enrols with a session key; answers each tunnel request by opening its end of it."""

    def __init__(self, node: Node, key: str, tls: ssl.SSLContext | None) -> None:
        self.node = node
        self.tls = tls
        self.device_key, self.hello = bench_hello(key)
        self.ends: dict[str, asyncio.Future[ClientConnection]] = {}

    def end_of(self, tunnel_id: str) -> asyncio.Future[ClientConnection]:
        return self.ends.setdefault(tunnel_id, asyncio.get_running_loop().create_future())

    async def run(self) -> None:
        connection = control.AgentConnection(self.hello, self.device_key)
        connection.start()
        async with websockets.connect(
            f"{self.node.ws_url}/agent/ws", ssl=self.tls, compression=None, proxy=None
        ) as ws:
            for frame in connection.data_to_send():
                await ws.send(frame)
            async for frame in ws:
                for event in connection.receive(frame):
                    if isinstance(event, control.TunnelRequested):
                        asyncio.create_task(self._open(event))
                for out in connection.data_to_send():
                    await ws.send(out)

    async def _open(self, request: control.TunnelRequested) -> None:
        try:
            end = await websockets.connect(
                f"{self.node.ws_url}/relay/{request.tunnel_id}",
                subprotocols=bearer.offered(request.token),
                ssl=self.tls,
                compression=None,
                proxy=None,
                max_size=None,
            )
        except (websockets.InvalidStatus, TimeoutError, OSError) as refused:  # a failed set-up
            self.end_of(request.tunnel_id).set_exception(refused)
            return
        self.end_of(request.tunnel_id).set_result(end)


async def sign_in_and_session(
    node: Node, tls: ssl.SSLContext | None, agent: type[BenchAgent] = BenchAgent
) -> None:
    """The technician signs in, makes a key; the bench agent enrols with it; he accepts."""
    async with httpx.AsyncClient(base_url=node.url, verify=False, timeout=60) as http:
        first = await http.post(
            "/api/v1/auth/login", json={"email": node.admin_email, "password": node.admin_password}
        )
        assert first.json()["stage"] == "password_change", first.text
        http.headers["x-csrf-token"] = http.cookies["relaydesk_csrf"]
        changed = await http.post(
            "/api/v1/me/password",
            json={"current_password": node.admin_password, "new_password": "Bench-Password-42"},
        )
        assert changed.json()["stage"] == "complete", changed.text
        key = (await http.post("/api/v1/session-keys", json={"validity_minutes": 60})).json()["key"]
        node.agent = agent(node, key, tls)
        asyncio.create_task(node.agent.run())
        for _ in range(600):
            personal = (await http.get("/api/v1/queue")).json()["personal"]
            if personal:
                break
            await asyncio.sleep(0.1)
        node.session_id = int(personal[0]["id"])
        accepted = await http.post(f"/api/v1/sessions/{node.session_id}/accept")
        assert accepted.status_code == 200, accepted.text
        node.cookies = dict(http.cookies)
        node.csrf = http.headers["x-csrf-token"]


async def relaydesk_pairs(
    node: Node, count: int, tls: ssl.SSLContext | None, in_flight: int = CONCURRENT_SETUPS
) -> list[tuple[ClientConnection, ClientConnection]]:
    """count tunnels through the API, in_flight at a time: (agent's end, console's end) each."""
    pairs: list[tuple[ClientConnection, ClientConnection]] = []
    limit = asyncio.Semaphore(in_flight)
    connections = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(
        base_url=node.url, verify=False, timeout=60, cookies=node.cookies, limits=connections
    ) as http:
        http.headers["x-csrf-token"] = node.csrf

        async def one() -> None:
            async with limit:
                t0 = time.perf_counter()
                try:
                    answer = await http.post(f"/api/v1/sessions/{node.session_id}/shell/tunnel")
                except httpx.HTTPError as lost:  # no answer: a failed set-up
                    SETUP_FAILURES.append(repr(lost)[:80])
                    return
                t1 = time.perf_counter()
                if answer.status_code != 201:
                    SETUP_FAILURES.append(f"{answer.status_code} {answer.text[:80]}")
                    return
                tunnel = answer.json()
                try:
                    console = await websockets.connect(
                        node.ws_url + tunnel["path"],
                        subprotocols=bearer.offered(tunnel["token"], "binary"),
                        ssl=tls,
                        compression=None,
                        proxy=None,
                        max_size=None,
                    )
                except (TimeoutError, OSError, websockets.InvalidStatus) as refused:
                    SETUP_FAILURES.append(f"console's end: {refused!r}"[:80])
                    return
                t2 = time.perf_counter()
                try:
                    agent = await asyncio.wait_for(node.agent.end_of(tunnel["tunnel_id"]), 60)
                except (TimeoutError, OSError, websockets.InvalidStatus) as refused:
                    SETUP_FAILURES.append(f"agent's end: {refused!r}"[:80])
                    await console.close()
                    return
                SETUP_PHASES["post"].append(t1 - t0)
                SETUP_PHASES["console"].append(t2 - t1)
                SETUP_PHASES["agent"].append(time.perf_counter() - t2)
                pairs.append((agent, console))

        await asyncio.gather(*(one() for _ in range(count)))
    return pairs


async def reference_pairs(
    node: Node, count: int, tls: ssl.SSLContext | None, in_flight: int = CONCURRENT_SETUPS
) -> list[tuple[ClientConnection, ClientConnection]]:
    limit = asyncio.Semaphore(in_flight)
    pairs: list[tuple[ClientConnection, ClientConnection]] = []
    base = time.monotonic_ns()

    async def one(n: int) -> None:
        async with limit:
            url = f"{node.ws_url}/pair/{base}-{n}"
            options: dict[str, Any] = {"ssl": tls, "compression": None, "proxy": None}
            a = await websockets.connect(url, max_size=None, **options)
            b = await websockets.connect(url, max_size=None, **options)
            pairs.append((a, b))

    await asyncio.gather(*(one(n) for n in range(count)))
    return pairs


@dataclass
class Window:
    measuring: bool = False
    sent: int = 0
    received: int = 0
    latencies: list[float] = field(default_factory=list)


async def stream(sender: ClientConnection, receiver: ClientConnection, window: Window) -> None:
    async def send() -> None:
        await asyncio.sleep(INTERVAL * (hash(id(sender)) % 1000) / 1000)  # spread phases
        next_at = time.perf_counter()
        while True:
            await sender.send(STAMP.pack(time.perf_counter()) + FILLER)
            if window.measuring:
                window.sent += 1
            next_at += INTERVAL
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    async def receive() -> None:
        async for message in receiver:
            if window.measuring:
                window.received += 1
                window.latencies.append(time.perf_counter() - STAMP.unpack_from(message)[0])

    with contextlib.suppress(websockets.ConnectionClosed, asyncio.CancelledError):
        await asyncio.gather(send(), receive())


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def rss(processes: list[psutil.Process]) -> int:
    return sum(p.memory_info().rss for p in processes)


async def level(
    nodes: list[Node], count: int, tls: ssl.SSLContext | None, warm: float, seconds: float
) -> dict[str, Any]:
    processes = [node.ps() for node in nodes]
    share = [count // len(nodes) + (1 if i < count % len(nodes) else 0) for i in range(len(nodes))]
    for phase in SETUP_PHASES.values():
        phase.clear()
    SETUP_FAILURES.clear()
    memory_before = rss(processes)
    started = time.perf_counter()
    pairs: list[tuple[ClientConnection, ClientConnection]] = []
    for node, n in zip(nodes, share, strict=True):
        opener = reference_pairs if node.name == "reference" else relaydesk_pairs
        pairs += await opener(node, n, tls)
    setup = time.perf_counter() - started
    failed = count - len(pairs)
    count = len(pairs)
    await asyncio.sleep(2)
    idle_per_tunnel = (rss(processes) - memory_before) / count
    window = Window()
    tasks = [asyncio.create_task(stream(a, b, window)) for a, b in pairs]
    await asyncio.sleep(warm)
    per_process = [cpu_seconds([p]) for p in processes]
    generator_before = cpu_seconds([psutil.Process()])
    fronts = [psutil.Process(node.front.pid) for node in nodes if node.front is not None]
    fronts_before = cpu_seconds(fronts)
    window.measuring = True
    t0 = time.perf_counter()
    await asyncio.sleep(seconds)
    window.measuring = False
    elapsed = time.perf_counter() - t0
    cpu = [
        (cpu_seconds([p]) - before) / elapsed
        for p, before in zip(processes, per_process, strict=True)
    ]
    generator = (cpu_seconds([psutil.Process()]) - generator_before) / elapsed
    haproxy = (cpu_seconds(fronts) - fronts_before) / elapsed
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(ws.close() for pair in pairs for ws in pair), return_exceptions=True)
    latencies = sorted(window.latencies) or [float("nan")]
    expected = count * seconds / INTERVAL
    relayed_mb = window.received * MESSAGE / 1e6
    cpu_ms_per_mb = 1000 * sum(cpu) * elapsed / relayed_mb if relayed_mb else float("nan")
    return {
        "streams": count,
        "setup_failures": failed,
        "first_failure": SETUP_FAILURES[:1],
        # CPU per byte does not depend on whether the load generator kept up; streams per core
        # at 180 kB/s follow from it (the relay's per-connection overheads aside).
        "relay_cpu_ms_per_mb": round(cpu_ms_per_mb, 2),
        "streams_per_core_at_cpu_per_mb": round(1000 / (cpu_ms_per_mb * RATE / 1e6)),
        "setup_s": round(setup, 2),
        "setups_per_s": round(count / setup, 1),
        "setup_ms_median": {
            k: round(1000 * statistics.median(v), 1) for k, v in SETUP_PHASES.items() if v
        },
        "idle_kb_per_tunnel": round(idle_per_tunnel / 1024, 1),
        "relay_cpu": [round(c, 3) for c in cpu],
        "generator_cpu": round(generator, 3),
        "haproxy_cpu": round(haproxy, 3),
        "delivered": round(window.received / expected, 3) if expected else 0,
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1),
        "mb_per_s": round(window.received * MESSAGE / elapsed / 1e6, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_fd_limit()
    tls = client_tls() if args.tls else None
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-relay-", dir="/tmp") as tmp:
        work = Path(tmp)
        relaydesk = [
            start_relaydesk(work, f"node{i + 1}", args.tls, args.server_src)
            for i in range(args.nodes)
        ]
        tls_files = None
        if args.tls:
            folder = work / "node1" / "tls"
            certs = sorted(folder.glob("*.pem")) + sorted(folder.glob("*.crt"))
            key = next(p for p in certs if "key" in p.name)
            cert = next(p for p in certs if "key" not in p.name)
            tls_files = (cert, key)
        reference = start_reference(tls_files)
        relays: list[tuple[str, list[Node]]] = [("relaydesk", relaydesk)]
        if args.server_src is not None:  # the same, from another tree (the code before)
            before = start_relaydesk(work, "before", args.tls, args.server_src)
            relays.append(("before", [before]))
        relays.append(("reference", [reference]))
        if args.haproxy:
            for _, nodes in relays:
                for node in nodes:
                    put_haproxy_in_front(node, work)
            tls = client_tls()
        profilers = [
            subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
                [
                    str(BIN / "py-spy"),
                    "record",
                    "--nonblocking",
                    "--format",
                    "speedscope",
                    "-o",
                    str(args.profile / f"{node.name}.json"),
                    "--pid",
                    str(node.process.pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for node in (relaydesk if args.profile else [])
        ]
        try:
            for name, nodes in relays:
                for node in nodes if name != "reference" else []:
                    await sign_in_and_session(node, tls)
            for count in args.streams:
                for name, nodes in relays:
                    figures = await level(nodes, count, tls, args.warm, args.seconds)
                    figures["load_average"] = os.getloadavg()[0]
                    results.setdefault(name, []).append(figures)
                    print(name, json.dumps(figures), flush=True)
                    await asyncio.sleep(2)
        finally:
            for profiler in profilers:
                profiler.send_signal(2)
                profiler.wait(60)
            for node in [node for _, nodes in relays for node in nodes]:
                node.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--streams", default="100,300", type=lambda s: [int(n) for n in s.split(",")]
    )
    parser.add_argument("--warm", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tls", action="store_true", help="TLS in the relay processes")
    parser.add_argument("--haproxy", action="store_true", help="TLS terminated at HAProxy")
    parser.add_argument("--nodes", type=int, default=1, help="relaydesk processes sharing streams")
    parser.add_argument("--server-src", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--profile", type=Path, default=None, help="py-spy speedscope files here")
    args = parser.parse_args()
    results = uvloop.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
