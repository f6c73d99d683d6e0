"""Tunnel set-ups per second and per CPU-second of the server (issue 15 item 5: at least 500 a
second per node), against the bare `websockets` + uvloop relay (bench/relay_reference.py) pairing
two clients in the same run.

A set-up is what a console does to open a tool: `POST /api/v1/sessions/{id}/shell/tunnel` (the
technician's permission and scope checked, the session event and the audit entry written), the
console's WebSocket to /relay/…, and the agent's end, which the bench agent (real control
protocol, enrolled with a session key) opens when its control channel tells it. The reference
pairs two WebSockets of one path. Each burst opens `--setups` tunnels with `--in-flight` at a time,
then closes them all. Per burst: wall-clock set-ups per second, set-ups per CPU-second of the
server process (its utime + stime over the burst: the node's capacity per core, which does not
depend on whether the load generator, on the same cores, kept up), median phases, failures.

    .venv/bin/python bench/tunnel_setups.py [--setups 1000] [--in-flight 64,256] [--repeats 3]
        [--postgresql: one `relaydesk serve` node on PostgreSQL and Redis, as in the cluster tests]
        [--server-src DIR: also relaydesk's code from DIR/src (the code before), on SQLite]
        [--profile DIR: py-spy of the relaydesk server, speedscope] [--json FILE]

PostgreSQL and Redis as the tests find them (RELAYDESK_TEST_POSTGRES_ADMIN, RELAYDESK_TEST_REDIS).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import relay_streams as rs  # noqa: E402
from bench.demo_server import BIN  # noqa: E402
from bench.shared import running_cluster  # noqa: E402


@contextlib.contextmanager
def relaydesk_node(
    work: Path, postgresql: bool, name: str = "node1", server_src: Path | None = None
) -> Iterator[rs.Node]:
    """`relaydesk demo` on SQLite, or one `relaydesk serve` node on PostgreSQL and Redis."""
    if not postgresql:
        node = rs.start_relaydesk(work, name, False, server_src)
        try:
            yield node
        finally:
            node.stop()
        return
    with running_cluster(1, "relaydesk-bench-setups-") as cluster:
        server = cluster.nodes[0]
        assert server.process is not None and cluster.admin_password is not None
        enable_remote_support(cluster.database_url)
        try:
            yield rs.Node(
                "node1",
                server.process,
                server.url,
                admin_email=cluster.admin_email,
                admin_password=cluster.admin_password,
            )
        finally:  # the node's log, for its errors (the cluster's folder is removed)
            shutil.copy(server.log_path, work / "node1.log")


def enable_remote_support(database_url: str) -> None:
    """What the administrator turns on after `relaydesk init` (the demo has it on); from a
    thread of its own, the bench's event loop being busy with the node."""

    async def update() -> None:
        engine = create_async_engine(database_url)
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE organisations SET remote_support_enabled = true"))
        await engine.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, update()).result()


async def burst(node: rs.Node, setups: int, in_flight: int) -> dict[str, Any]:
    process = node.ps()
    for phase in rs.SETUP_PHASES.values():
        phase.clear()
    rs.SETUP_FAILURES.clear()
    cpu_before = rs.cpu_seconds([process])
    system_before = process.cpu_times().system
    started = time.perf_counter()
    if node.name == "reference":
        pairs = await rs.reference_pairs(node, setups, None, in_flight)
    else:
        pairs = await rs.relaydesk_pairs(node, setups, None, in_flight)
    wall = time.perf_counter() - started
    cpu = rs.cpu_seconds([process]) - cpu_before
    system = process.cpu_times().system - system_before
    await asyncio.gather(*(ws.close() for pair in pairs for ws in pair), return_exceptions=True)
    if node.agent is not None:
        node.agent.ends.clear()
    done = len(pairs)
    return {
        "setups": done,
        "failures": setups - done,
        "first_failure": rs.SETUP_FAILURES[:1],
        "in_flight": in_flight,
        "wall_s": round(wall, 2),
        "per_second": round(done / wall, 1),
        "server_cpu_s": round(cpu, 2),
        "of_which_kernel_s": round(system, 2),
        "per_cpu_second": round(done / cpu, 1) if cpu else None,
        "median_ms": {
            k: round(1000 * statistics.median(v), 1) for k, v in rs.SETUP_PHASES.items() if v
        },
        "load_average": round(os.getloadavg()[0], 2),
    }


async def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rs.raise_fd_limit()
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    with contextlib.ExitStack() as stack:
        node = stack.enter_context(relaydesk_node(work, args.postgresql))
        relays = {"relaydesk": node}
        if args.server_src is not None:  # the code before, from another tree, SQLite only
            relays["before"] = stack.enter_context(
                relaydesk_node(work, False, "before", args.server_src)
            )
        reference = rs.start_reference(None)
        relays["reference"] = reference
        profiler = None
        try:
            for relay in relays.values():
                if relay is not reference:
                    await rs.sign_in_and_session(relay, None)
                await burst(relay, 50, 16)  # warm-up: imports, caches, the pool's connections
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                profiler = subprocess.Popen(  # noqa: ASYNC220 - before anything is measured
                    [str(BIN / "py-spy"), "record", "--nonblocking", "--format", "speedscope",
                     "-o", str(args.profile / "setups.json"), "--pid", str(node.process.pid)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            for _ in range(args.repeats):
                for in_flight in args.in_flight:
                    for name, relay in relays.items():
                        figures = await burst(relay, args.setups, in_flight)
                        results.setdefault(name, []).append(figures)
                        print(name, json.dumps(figures), flush=True)
                        await asyncio.sleep(1)
        finally:
            if profiler is not None:
                profiler.send_signal(2)
                profiler.wait(60)
            reference.process.terminate()
    return results


def logs_only(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if not n.endswith(".log") and not (Path(folder) / n).is_dir()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setups", type=int, default=1000, help="tunnels per burst")
    parser.add_argument(
        "--in-flight", default=[64, 256], type=lambda s: [int(n) for n in s.split(",")]
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--server-src", type=Path, default=None, help="the code before: DIR/src")
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--logs", type=Path, default=None, help="keep the servers' logs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-setups-", dir="/tmp") as tmp:
        try:
            results = uvloop.run(measure(args, Path(tmp)))
        finally:
            if args.logs is not None:
                shutil.copytree(tmp, args.logs, dirs_exist_ok=True, ignore=logs_only)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
