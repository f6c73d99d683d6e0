"""Relay streams per core with a load generator in C (bench/relay_load.c), so that the generator
needs a small part of the CPU the relay does: relaydesk's relay (real tunnels through the API, as
in bench/relay_streams.py) against the bare `websockets` + uvloop relay (bench/relay_reference.py)
in the same run. The relay can be pinned to one core and the generator to another.

The tunnels are set up by this process as bench/relay_streams.py does (a technician asks for
shell tunnels, the bench agent's control channel receives each agent end's token); the generator
opens both ends with the tokens as `Sec-WebSocket-Protocol: relaydesk.bearer.<token>` (handed to
it on its standard input, never in its arguments). Levels grow: the streams of a level stay open
for the next one, which adds tunnels. Per level: the relay's CPU (share of one core) while every
stream sends 16 KiB messages at 180 kB/s, the share of messages delivered, latency percentiles
measured from each message's *scheduled* send time, the generator's CPU, the relay's RSS per idle
tunnel (the tunnels this level added), and the load average.

    .venv/bin/python bench/relay_load.py --streams 500,1000,1500,2000 \
        --relay-cpu 0 --generator-cpu 1 [--nice -10] [--json FILE] [--only relaydesk|reference]

On a machine shared with other work, `--nice -10` (root) gives the bench's session (its own, made
with setsid) a larger share of the CPU than other sessions: with autogroups, a process's own
niceness only counts against processes of its session.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.relay_streams import (  # noqa: E402
    CONCURRENT_SETUPS,
    BenchAgent,
    Node,
    cpu_seconds,
    raise_fd_limit,
    rss,
    sign_in_and_session,
    start_reference,
    start_relaydesk,
)

from relaydesk.protocol import bearer, control  # noqa: E402

SOURCE = ROOT / "bench" / "relay_load.c"


def build() -> Path:
    """The generator, compiled once per version of its source (build/ is not tracked)."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    program = ROOT / "build" / "bench" / f"relay_load-{digest}"
    if not program.exists():
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            raise SystemExit("no C compiler (Debian: gcc, which scripts/setup.sh installs)")
        program.parent.mkdir(parents=True, exist_ok=True)
        partial = program.with_suffix(f".{os.getpid()}")
        subprocess.run([compiler, "-O2", "-o", str(partial), str(SOURCE)], check=True)
        partial.rename(program)
    return program


class TokenAgent(BenchAgent):
    """The bench agent, keeping each tunnel's agent token for the generator instead of opening
    its end itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens: dict[str, asyncio.Future[str]] = {}

    def token_of(self, tunnel_id: str) -> asyncio.Future[str]:
        return self.tokens.setdefault(tunnel_id, asyncio.get_running_loop().create_future())

    async def _open(self, request: control.TunnelRequested) -> None:
        self.token_of(request.tunnel_id).set_result(request.token)


class Generator:
    """bench/relay_load.c running, driven through its standard input."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pairs: dict[int, asyncio.Future[str | None]] = {}
        self.measuring = asyncio.Event()
        self.result: asyncio.Future[dict[str, Any]] | None = None
        self.next_id = 0
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, cpu: int | None) -> Generator:
        program = build()
        process = await asyncio.create_subprocess_exec(
            str(program), stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        if cpu is not None:
            os.sched_setaffinity(process.pid, {cpu})
        assert process.stdout is not None
        assert (await process.stdout.readline()).strip() == b"ready"
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            word, _, rest = raw.decode().strip().partition(" ")
            if word == "paired":
                self.pairs.pop(int(rest)).set_result(None)
            elif word == "failed":
                number, _, reason = rest.partition(" ")
                self.pairs.pop(int(number)).set_result(reason or "failed")
            elif word == "measuring":
                self.measuring.set()
            elif word == "result" and self.result is not None:
                self.result.set_result(json.loads(rest))

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")

    async def pair(
        self, url: str, path_a: str, offer_a: str, path_b: str, offer_b: str
    ) -> str | None:
        """Opens a pair (a sends, b receives); None when both ends are open, else why not."""
        address = urlsplit(url)
        number = self.next_id
        self.next_id += 1
        answered = self.pairs[number] = asyncio.get_running_loop().create_future()
        self._send(
            f"pair {number} {address.hostname} {address.port} {path_a} {offer_a} {path_b} {offer_b}"
        )
        return await answered

    async def run(
        self, streams: int, warm: float, seconds: float, relays: list[psutil.Process]
    ) -> dict[str, Any]:
        """The first `streams` pairs stream; the relays' CPU over the generator's window."""
        self.measuring.clear()
        self.result = asyncio.get_running_loop().create_future()
        self._send(f"run {streams} {warm} {seconds}")
        await self.measuring.wait()
        before, t0 = cpu_seconds(relays), time.perf_counter()
        figures = await self.result
        elapsed = time.perf_counter() - t0
        figures["relay_cpu"] = round((cpu_seconds(relays) - before) / elapsed, 3)
        return figures

    async def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send("quit")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.process.wait(), 10)
        self.reader.cancel()


async def relaydesk_pairs(node: Node, count: int, generator: Generator) -> list[str]:
    """count more tunnels through the API, both ends opened by the generator; failures."""
    agent: TokenAgent = node.agent
    failures: list[str] = []
    limit = asyncio.Semaphore(CONCURRENT_SETUPS)
    async with httpx.AsyncClient(
        base_url=node.url, verify=False, timeout=60, cookies=node.cookies
    ) as http:
        http.headers["x-csrf-token"] = node.csrf

        async def one() -> None:
            async with limit:
                answer = await http.post(f"/api/v1/sessions/{node.session_id}/shell/tunnel")
                if answer.status_code != 201:
                    failures.append(f"{answer.status_code} {answer.text[:80]}")
                    return
                tunnel = answer.json()
                token = await asyncio.wait_for(agent.token_of(tunnel["tunnel_id"]), 60)
                failed = await generator.pair(
                    node.url,
                    f"/relay/{tunnel['tunnel_id']}",
                    ",".join(bearer.offered(token)),
                    tunnel["path"],
                    ",".join(bearer.offered(tunnel["token"], "binary")),
                )
                if failed:
                    failures.append(failed)

        await asyncio.gather(*(one() for _ in range(count)))
    return failures


async def reference_pairs(node: Node, count: int, generator: Generator) -> list[str]:
    base = time.monotonic_ns()
    limit = asyncio.Semaphore(CONCURRENT_SETUPS)

    async def one(n: int) -> str | None:
        async with limit:
            path = f"/pair/{base}-{n}"
            return await generator.pair(node.url, path, "-", path, "-")

    return [f for f in await asyncio.gather(*(one(n) for n in range(count))) if f]


async def levels(
    name: str, node: Node, args: argparse.Namespace, generator: Generator
) -> list[dict[str, Any]]:
    relay = node.ps()
    results: list[dict[str, Any]] = []
    opened = 0
    for count in args.streams:
        memory_before = rss([relay])
        started = time.perf_counter()
        opener = reference_pairs if name == "reference" else relaydesk_pairs
        failures = await opener(node, count - opened, generator)
        setup = time.perf_counter() - started
        added = count - opened - len(failures)
        opened += added
        await asyncio.sleep(2)
        idle = (rss([relay]) - memory_before) / max(added, 1)
        figures: dict[str, Any] = {
            "streams": opened,
            "setup_failures": len(failures),
            "first_failure": failures[:1],
            "setup_s": round(setup, 1),
            "idle_kb_per_tunnel": round(idle / 1024, 1),
        }
        figures.update(await generator.run(opened, args.warm, args.seconds, [relay]))
        figures["delivered"] = round(figures["received"] / max(figures["expected"], 1), 3)
        figures["load_average"] = os.getloadavg()[0]
        figures["relay_rss_mb"] = round(rss([relay]) / 1e6, 1)
        print(name, json.dumps(figures), flush=True)
        results.append(figures)
        if figures["delivered"] < 0.9:  # past what this relay carries: more only takes longer
            break
        await asyncio.sleep(2)  # the last messages drain before the next level's set-up
    return results


async def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_fd_limit()
    if args.generator_cpu is not None:  # set-ups and the bench agent stay off the relay's core
        os.sched_setaffinity(0, {args.generator_cpu})
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-load-", dir="/tmp") as tmp:
        for name in ("relaydesk", "reference"):
            if args.only and args.only != name:
                continue
            if name == "relaydesk":
                node = start_relaydesk(Path(tmp), "node1", False, args.server_src)
            else:
                node = start_reference(None)
            if args.relay_cpu is not None:
                os.sched_setaffinity(node.process.pid, {args.relay_cpu})
            generator = await Generator.start(args.generator_cpu)
            try:
                if name == "relaydesk":
                    await sign_in_and_session(node, None, TokenAgent)
                results[name] = await levels(name, node, args, generator)
            finally:
                await generator.stop()
                node.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--streams", default="250,500", type=lambda s: [int(n) for n in s.split(",")]
    )
    parser.add_argument("--warm", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--relay-cpu", type=int, default=None, help="pin the relay to this core")
    parser.add_argument("--generator-cpu", type=int, default=None, help="pin the generator here")
    parser.add_argument(
        "--nice", type=int, default=0, help="this session's autogroup niceness (-20..19; root)"
    )
    parser.add_argument("--only", choices=("relaydesk", "reference"), default=None)
    parser.add_argument("--server-src", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.nice:
        # Linux shares the CPU between sessions (autogroups) before it shares it between their
        # processes: the niceness of this bench's own session's group is what gives the relay
        # and the generator a larger share than other sessions' processes.
        if os.getsid(0) != os.getpid():
            os.execvp("setsid", ["setsid", "--wait", sys.executable, *sys.argv])
        Path("/proc/self/autogroup").write_text(str(args.nice))
    results = uvloop.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
