"""Benchmark: idle installed agents on one server process (issue 13).

Starts the real server (`relaydesk demo`, SQLite), creates an installer, and connects N agents
that speak the real control protocol (protocol/control.py's AgentConnection: hello with the
installer's token, Ed25519 proof, welcome, then answering the server's heartbeat) over loopback,
all from this one process (asyncio, one connection each). Enrolment goes 50 at a time. Then:

- idle: the server's RSS and CPU (utime + stime from /proc, over a 60 s window by default) with
  every agent connected and nothing happening but the keepalive;
- restart: the server is stopped (SIGTERM) and started again on the same data; each agent comes
  back with its device credential as the agent does (agent/link.Backoff: its first try anywhere
  in the spread after a lost connection, then exponential backoff with jitter; the agent's open
  timeout), and the clock stops when all N are welcomed again; on the way: the first WebSocket
  open and the first challenge after the server is up, failed attempts by error, the kernel's
  TCP counters (listen-queue overflows, SYN retransmissions) and the server's CPU seconds;
- queue: GET /api/v1/queue with 1,000 waiting sessions (copied in bulk in the database from one
  real attended session), median of 20 and the server's CPU time per GET, against the same GET
  with that one session (reference).

The agents are coroutines of this one process, on the same machine as the server: each does its
own TCP connection, upgrade and Ed25519 signature, but together they have at most one core, so
on a small machine the generator's speed bounds how fast the way back can look.

    .venv/bin/python bench/idle_agents.py --agents 1000 5000 [--idle 60] [--waiting 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.demo_server import Server, free_port  # noqa: E402
from tests.fixtures.waiting_sessions import copy_waiting_sessions  # noqa: E402
from tests.integration.technician import Technician  # noqa: E402

from relaydesk.agent.link import OPEN_SECONDS, Backoff  # noqa: E402
from relaydesk.protocol import control, identity  # noqa: E402
from relaydesk.protocol.messages import (  # noqa: E402
    PROTOCOL_VERSION,
    Credential,
    DeviceCredential,
    DeviceFacts,
    Hello,
    InstallerCredential,
    SessionKeyCredential,
)

TICKS = os.sysconf("SC_CLK_TCK")
# --server-src: the server's code from another tree (the code before a change, for the reference
# run in the same go): its src/ first on the server's PYTHONPATH.
SERVER_ENV: dict[str, str] = {}
# --no-spread: agents try again after a lost connection as before issue 13's change (the first
# backoff step, 0.25-0.5 s, for all of them), for the reference run.
NO_SPREAD = False
ENROL_AT_ONCE = 50


def server_usage(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and resident bytes of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    rss = next(
        int(line.split()[1]) * 1024
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return cpu, rss


class Turn:
    """A place among the agents enrolling at once, given back once (at the welcome or when the
    attempt fails); no gate: nothing to wait for."""

    def __init__(self, gate: asyncio.Semaphore | None) -> None:
        self.gate, self.held = gate, False

    async def take(self) -> None:
        if self.gate:
            await self.gate.acquire()
            self.held = True

    def give_back(self) -> None:
        if self.gate and self.held:
            self.gate.release()
            self.held = False


@dataclass
class Fleet:
    """The simulated agents and what they saw."""

    url: str
    token: str
    size: int
    connected: set[int] = field(default_factory=set)
    welcomes: int = 0
    refused: list[str] = field(default_factory=list)
    frames_in: int = 0
    welcomed_at: list[float] = field(default_factory=list)  # perf_counter of every welcome
    # Where the time goes on the way back: the WebSocket open (TCP and upgrade done) and the
    # challenge (the hello judged), perf_counter each; attempts that failed, by error.
    opened_at: list[float] = field(default_factory=list)
    challenged_at: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(ENROL_AT_ONCE))

    async def agent(self, n: int) -> None:
        key = identity.DeviceKey.generate()
        device_id: int | None = None
        attempt, backoff = 0, Backoff()
        while not self.stop.is_set():
            credential: Credential = (
                InstallerCredential(kind="installer", token=self.token)
                if device_id is None
                else DeviceCredential(kind="device", device_id=device_id)
            )
            # First enrolment 50 at a time (let go at the welcome); coming back after a restart,
            # only the backoff's jitter spreads the agents, as with the real agent.
            gate = self.gate if device_id is None else None
            lost = False
            try:
                device_id = await self._live(n, key, credential, gate)
                attempt, lost = 0, True
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as error:
                self.failures[type(error).__name__] += 1
            self.connected.discard(n)
            if self.stop.is_set():
                return
            # As the agent does (agent/link.run): the first try after a lost connection anywhere
            # in the spread, then the exponential backoff.
            spread = lost and not NO_SPREAD
            await asyncio.sleep(backoff.after_loss() if spread else backoff.delay(attempt))
            attempt += 1

    async def _live(
        self,
        n: int,
        key: identity.DeviceKey,
        credential: Credential,
        gate: asyncio.Semaphore | None,
    ) -> int:
        hello = Hello(
            type="hello",
            protocol=PROTOCOL_VERSION,
            agent_version="bench",
            mode="unattended",
            public_key=key.public_key_b64,
            credential=credential,
            device=DeviceFacts(hostname=f"bench-{n:05d}", os="Linux"),
        )
        connection = control.AgentConnection(hello, key)
        connection.start()
        turn = Turn(gate)
        await turn.take()
        try:
            return await self._converse(n, connection, turn)
        finally:
            turn.give_back()

    async def _converse(self, n: int, connection: control.AgentConnection, turn: Turn) -> int:
        # As the agent connects (agent/link.run): its open timeout, no WebSocket pings.
        async with connect(
            self.url, ping_interval=None, open_timeout=OPEN_SECONDS, compression=None, proxy=None
        ) as ws:
            self.opened_at.append(time.perf_counter())
            device_id = 0
            while not connection.closed:
                for frame in connection.data_to_send():
                    await ws.send(frame)
                if device_id and self.stop.is_set():
                    break
                frame = await ws.recv()
                if device_id:
                    self.frames_in += 1
                if connection.state is control.State.HELLO_SENT:
                    self.challenged_at.append(time.perf_counter())
                for event in connection.receive(frame):
                    if isinstance(event, control.Established):
                        turn.give_back()
                        device_id = event.device_id
                        self.connected.add(n)
                        self.welcomes += 1
                        self.welcomed_at.append(time.perf_counter())
                        if self.welcomes % 1000 == 0:
                            print(f"  {self.welcomes} welcomes", file=sys.stderr)
                        for out in connection.data_to_send():
                            await ws.send(out)
                        return await self._idle(ws, connection, device_id)
                    if isinstance(event, control.RefusedByServer):
                        self.refused.append(event.code)
                        self.stop.set()
            return device_id

    async def _idle(self, ws: Any, connection: control.AgentConnection, device_id: int) -> int:
        """Connected and welcomed: answer the heartbeat until the server goes away."""
        try:
            async for frame in ws:
                self.frames_in += 1
                connection.receive(frame)
                for out in connection.data_to_send():
                    await ws.send(out)
        except ConnectionClosed:
            pass
        return device_id


class Profiles:
    """With --profile DIR: py-spy samples the server (and this load generator) during each phase
    and writes collapsed stacks to DIR/<phase>-<who>.txt (py-spy must be installed)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder, self.running = folder, list[subprocess.Popen[bytes]]()

    def start(self, phase: str, server_pid: int) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for who, pid in (("server", server_pid), ("generator", os.getpid())):
            out = self.folder / f"{phase}-{who}.txt"
            command = ["py-spy", "record", "-p", str(pid), "-r", "50", "--format", "raw"]
            command.append("--nonblocking")  # a process stopped 50 times a second is slower
            self.running.append(
                subprocess.Popen(
                    [str(Path(sys.executable).parent / command[0]), *command[1:], "-o", str(out)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def stop(self) -> None:
        for process in self.running:
            process.send_signal(signal.SIGINT)
        for process in self.running:
            process.wait(60)
        self.running.clear()


def per_five(times: list[float]) -> list[int]:
    """How many of these moments (seconds from the stop) fell in each 5 s from the stop."""
    counts = Counter(int(t // 5) for t in times)
    return [counts.get(slot, 0) for slot in range(int(max(times, default=0) // 5) + 1)]


def tcp_counters() -> dict[str, int]:
    """The kernel's TCP counters that tell of a full listen queue or retransmitted SYNs (nstat's
    TcpExtListenOverflows and friends, read from /proc/net/netstat)."""
    wanted = {"ListenOverflows", "ListenDrops", "TCPReqQFullDrop", "TCPReqQFullDoCookies"}
    wanted |= {"TCPSynRetrans", "TCPTimeouts", "TCPAbortOnData", "TCPBacklogDrop"}
    lines = Path("/proc/net/netstat").read_text().splitlines()
    found: dict[str, int] = {}
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        for name, value in zip(names.split()[1:], values.split()[1:], strict=False):
            if name in wanted:
                found[name] = int(value)
    snmp = Path("/proc/net/snmp").read_text().splitlines()
    for names, values in zip(snmp[::2], snmp[1::2], strict=False):
        if names.startswith("Tcp:"):
            pairs = zip(names.split()[1:], values.split()[1:], strict=False)
            found.update({f"Tcp{k}": int(v) for k, v in pairs if k in ("RetransSegs",)})
    return found


async def wait_for(check: Any, limit: float, what: str) -> float:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > limit:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)
    return time.perf_counter() - started


def new_installer(technician: Technician, cap: int) -> str:
    response = technician.post(
        "/api/v1/installers", json={"company": "Bench", "max_installations": cap}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


async def measure_agents(n: int, idle_seconds: float, profiles: Profiles) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        server = await asyncio.to_thread(Server, Path(data), port, SERVER_ENV)
        technician = Technician(server).sign_in_first_time()
        fleet = Fleet(
            server.url.replace("http", "ws") + "/agent/ws", new_installer(technician, n), n
        )
        tasks = [asyncio.create_task(fleet.agent(i)) for i in range(n)]
        try:
            profiles.start(f"{n}-enrol", server.process.pid)
            enrol_s = await wait_for(lambda: len(fleet.connected) == n, 1800, f"{n} enrolled")
            profiles.stop()
            assert not fleet.refused, fleet.refused
            await asyncio.sleep(5)  # settle
            profiles.start(f"{n}-idle", server.process.pid)
            cpu0, _ = server_usage(server.process.pid)
            frames0, t0 = fleet.frames_in, time.perf_counter()
            await asyncio.sleep(idle_seconds)
            cpu1, rss = server_usage(server.process.pid)
            window = time.perf_counter() - t0
            frames = fleet.frames_in - frames0
            profiles.stop()
            assert len(fleet.connected) == n, "agents dropped while idle"
            # Restart: stop, start again on the same data; all back?
            stopped = time.perf_counter()
            # The stop is part of the restart: the code before issue 13 wrote every agent's
            # leaving in a transaction of its own and took minutes with 5,000.
            profiles.start(f"{n}-stop", server.process.pid)
            await asyncio.to_thread(server.stop, 900)
            stop_s = time.perf_counter() - stopped
            profiles.stop()
            welcomes_before = fleet.welcomes
            opened_before, challenged_before = len(fleet.opened_at), len(fleet.challenged_at)
            fleet.failures.clear()
            tcp_before = tcp_counters()
            server = await asyncio.to_thread(Server, Path(data), port, SERVER_ENV)
            server_up_s = time.perf_counter() - stopped
            cpu_up, _ = server_usage(server.process.pid)
            profiles.start(f"{n}-back", server.process.pid)
            await wait_for(
                lambda: fleet.welcomes - welcomes_before >= n and len(fleet.connected) == n,
                1800,
                f"{n} back",
            )
            cpu_back, _ = server_usage(server.process.pid)
            profiles.stop()
            back_s = time.perf_counter() - stopped  # from the stop: the restart is included
            back = [t - stopped for t in fleet.welcomed_at[welcomes_before:]]
            opened = [t - stopped for t in fleet.opened_at[opened_before:]]
            challenged = [t - stopped for t in fleet.challenged_at[challenged_before:]]
            per_second = Counter(int(t) for t in back)
            tcp = {k: v - tcp_before.get(k, 0) for k, v in tcp_counters().items()}
        finally:
            profiles.stop()
            fleet.stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            server.stop(900)
    return {
        "agents": n,
        "enrol_s": round(enrol_s, 1),
        "enrol_rate_per_s": round(n / enrol_s, 1),
        "idle_window_s": round(window, 1),
        "server_rss_mib": round(rss / 2**20, 1),
        "server_idle_cpu_percent_of_one_core": round(100 * (cpu1 - cpu0) / window, 2),
        "frames_to_agents_per_agent_per_minute": round(frames / n / window * 60, 2),
        "all_back_after_restart_s": round(back_s, 1),
        "server_stopped_after_s": round(stop_s, 1),
        "server_up_after_s": round(server_up_s, 1),
        "first_back_after_s": round(min(back), 1),
        "all_back_after_up_s": round(back_s - server_up_s, 1),
        "first_open_after_up_s": round(min(opened) - server_up_s, 1),
        "first_challenge_after_up_s": round(min(challenged) - server_up_s, 1),
        "opens_per_5s_after_restart": per_five(opened),
        "challenges_per_5s_after_restart": per_five(challenged),
        "failed_attempts_while_back": dict(fleet.failures),
        "server_cpu_s_from_up_to_all_back": round(cpu_back - cpu_up, 1),
        "tcp_counters_while_back": {k: v for k, v in tcp.items() if v},
        "peak_welcomes_per_s": max(per_second.values()),
        "welcomes_per_5s_after_restart": [
            sum(per_second.get(second, 0) for second in range(start, start + 5))
            for start in range(0, int(max(back)) + 1, 5)
        ],
    }


async def attended_session(server: Server, technician: Technician) -> None:
    """One real waiting session: a session key redeemed by the protocol's handshake."""
    key = identity.DeviceKey.generate()
    hello = Hello(
        type="hello",
        protocol=PROTOCOL_VERSION,
        agent_version="bench",
        mode="attended",
        public_key=key.public_key_b64,
        credential=SessionKeyCredential(kind="session_key", key=technician.new_key()),
        device=DeviceFacts(hostname="bench-attended", os="Linux"),
    )
    connection = control.AgentConnection(hello, key)
    connection.start()
    url = server.url.replace("http", "ws") + "/agent/ws"
    async with connect(url, ping_interval=None) as ws:
        while not connection.established:
            for frame in connection.data_to_send():
                await ws.send(frame)
            connection.receive(await ws.recv())


def queue_latency(
    technician: Technician, pid: int, runs: int = 10
) -> tuple[float, float, dict[str, Any]]:
    """The median time of a GET of the queue, the server's CPU seconds per GET, the last body."""
    times, body = [], {}
    cpu0, _ = server_usage(pid)
    for _ in range(runs):
        started = time.perf_counter()
        response = technician.http.get("/api/v1/queue")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        body = response.json()
    cpu1, _ = server_usage(pid)
    return statistics.median(times), (cpu1 - cpu0) / runs, body


async def measure_queue(waiting: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        server = await asyncio.to_thread(Server, Path(data))
        try:
            technician = Technician(server).sign_in_first_time()
            await attended_session(server, technician)
            one, one_cpu, _ = queue_latency(technician, server.process.pid, 20)
            copy_waiting_sessions(Path(data) / "relaydesk.sqlite3", waiting)
            many, many_cpu, body = queue_latency(technician, server.process.pid, 20)
            assert body["personal_total"] == waiting, body["personal_total"]
        finally:
            server.stop(30)
    return {
        "waiting_sessions": waiting,
        "queue_get_median_s": round(many, 4),
        # CPU time the server spent per GET (whatever else the loaded machine runs).
        "queue_get_server_cpu_ms": round(many_cpu * 1000, 1),
        "reference_server_cpu_ms": round(one_cpu * 1000, 1),
        "reference_one_waiting_median_s": round(one, 4),
        "ratio": round(many / one, 2),
        "page_size": len(body["personal"]),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--profile", type=Path, help="py-spy's collapsed stacks per phase here")
    parser.add_argument("--server-src", type=Path, help="run the server from this src/ folder")
    parser.add_argument("--no-spread", action="store_true", help="reconnect as before issue 13")
    args = parser.parse_args()
    if args.server_src:
        SERVER_ENV["PYTHONPATH"] = str(args.server_src.resolve())
    global NO_SPREAD
    NO_SPREAD = args.no_spread
    profiles = Profiles(args.profile)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.waiting:
        print(json.dumps(await measure_queue(args.waiting)), flush=True)
    for n in args.agents:
        result = await measure_agents(n, args.idle, profiles)
        code = str(args.server_src) if args.server_src else "this tree"
        code += ", no spread" if NO_SPREAD else ""
        load = [round(x, 1) for x in os.getloadavg()]
        print(json.dumps({"server_code": code, "load_average": load, **result}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
