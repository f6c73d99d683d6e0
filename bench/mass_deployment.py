"""Benchmark: mass deployment through one installer (issue 13, UNA-4).

Starts the real server (`relaydesk demo`, SQLite, one process), creates one installer, and lets
N agents enrol through it at the same moment, each speaking the real control protocol over
loopback from this one process (protocol/control.py's AgentConnection: hello with the
installer's token, Ed25519 proof of a fresh key pair, then the welcome or a refusal) — what a
configuration-management tool running the silent install command on N machines at once causes.
Nothing spreads them: every agent starts its connection at once (the server's listen backlog
and event loop decide the order), and one that cannot connect or gets no answer tries again
after the agent's own backoff (agent/link.Backoff), as the real agent does.

Measured: the time until all N are enrolled (or refused), the enrolment rate, the server's CPU
(utime + stime from /proc) over that time, its RSS; the installer's count of installations as
the administrator reads it (GET /api/v1/installers), and the devices in the device list. A
second scenario does the same with a cap under N (default: 1,000 attempts against 500): exactly
the cap must enrol, every other agent must be refused with installer_cap_reached.

Reference, in the same run: the same N enrolments, 50 at a time (the cost of an enrolment
without the burst), so the burst's figures read as a ratio.

    .venv/bin/python bench/mass_deployment.py [--agents 1000] [--capped 1000 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
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

from bench.demo_server import Server  # noqa: E402
from bench.idle_agents import server_usage  # noqa: E402
from tests.integration.technician import Technician  # noqa: E402

from relaydesk.agent.link import Backoff  # noqa: E402
from relaydesk.protocol import control, identity  # noqa: E402
from relaydesk.protocol.messages import (  # noqa: E402
    PROTOCOL_VERSION,
    DeviceFacts,
    Hello,
    InstallerCredential,
)

CAP_REACHED = "installer_cap_reached"
# --server-src: the server's code from another tree's src/ (first on its PYTHONPATH).
SERVER_ENV: dict[str, str] = {}


@dataclass
class Deployment:
    """N machines running the silent install command with one installer's token."""

    url: str
    token: str
    at_once: asyncio.Semaphore | None
    enrolled: set[int] = field(default_factory=set)
    refused: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    enrolled_at: list[float] = field(default_factory=list)

    async def machine(self, n: int) -> None:
        key = identity.DeviceKey.generate()
        backoff = Backoff()
        for attempt in range(20):
            try:
                if self.at_once:
                    async with self.at_once:
                        outcome = await self._install(n, key)
                else:
                    outcome = await self._install(n, key)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
                self.retries += 1
                await asyncio.sleep(backoff.delay(attempt))
                continue
            if outcome is None:
                self.enrolled.add(n)
                self.enrolled_at.append(time.perf_counter())
            else:
                self.refused[outcome] += 1
            return
        self.refused["gave_up"] += 1

    async def _install(self, n: int, key: identity.DeviceKey) -> str | None:
        """One connection: None once welcomed (enrolled), else the refusal's code."""
        hello = Hello(
            type="hello",
            protocol=PROTOCOL_VERSION,
            agent_version="bench",
            mode="unattended",
            public_key=key.public_key_b64,
            credential=InstallerCredential(kind="installer", token=self.token),
            device=DeviceFacts(hostname=f"deploy-{n:05d}", os="Linux"),
        )
        connection = control.AgentConnection(hello, key)
        connection.start()
        async with connect(
            self.url, ping_interval=None, open_timeout=60, compression=None, proxy=None
        ) as ws:
            while True:
                for frame in connection.data_to_send():
                    await ws.send(frame)
                for event in connection.receive(await asyncio.wait_for(ws.recv(), 120)):
                    if isinstance(event, control.Established):
                        return None
                    if isinstance(event, control.RefusedByServer):
                        return event.code


def new_installer(technician: Technician, cap: int) -> tuple[int, str]:
    response = technician.post(
        "/api/v1/installers", json={"company": "Mass deployment", "max_installations": cap}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return int(body["installer"]["id"]), str(body["token"])


def installer_used(technician: Technician, installer_id: int) -> int:
    response = technician.http.get("/api/v1/installers")
    assert response.status_code == 200, response.text
    return int(next(row["used"] for row in response.json() if row["id"] == installer_id))


def devices_listed(technician: Technician) -> int:
    response = technician.http.get("/api/v1/devices", params={"kind": "unattended"})
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


async def deploy(n: int, cap: int, at_once: int | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        server = await asyncio.to_thread(Server, Path(data), None, SERVER_ENV)
        try:
            technician = Technician(server).sign_in_first_time()
            installer_id, token = new_installer(technician, cap)
            deployment = Deployment(
                server.url.replace("http", "ws") + "/agent/ws",
                token,
                asyncio.Semaphore(at_once) if at_once else None,
            )
            cpu0, _ = server_usage(server.process.pid)
            started = time.perf_counter()
            await asyncio.gather(*(deployment.machine(i) for i in range(n)))
            elapsed = time.perf_counter() - started
            cpu1, rss = server_usage(server.process.pid)
            used = installer_used(technician, installer_id)
            listed = devices_listed(technician)
        finally:
            server.stop(60)
    enrolled = len(deployment.enrolled)
    return {
        "attempts": n,
        "cap": cap,
        "at_once": at_once or n,
        "enrolled": enrolled,
        "refused": dict(deployment.refused),
        "installer_used": used,
        "devices_listed": listed,
        "connection_retries": deployment.retries,
        "all_enrolled_s": round(max(deployment.enrolled_at, default=started) - started, 2),
        "all_answered_s": round(elapsed, 2),
        "enrolments_per_s": round(enrolled / elapsed, 1),
        "server_cpu_s": round(cpu1 - cpu0, 2),
        "server_cpu_ms_per_attempt": round(1000 * (cpu1 - cpu0) / n, 2),
        "server_cpu_share_of_one_core": round((cpu1 - cpu0) / elapsed, 2),
        "server_rss_mib": round(rss / 2**20, 1),
    }


def check_cap(result: dict[str, Any]) -> None:
    """The cap is exact: exactly min(cap, attempts) enrolled, every other one refused with
    installer_cap_reached, and the installer's own count says the same."""
    expected = min(result["cap"], result["attempts"])
    assert result["enrolled"] == expected, result
    assert result["installer_used"] == expected, result
    assert result["devices_listed"] == expected, result
    others = result["attempts"] - expected
    assert result["refused"] == ({CAP_REACHED: others} if others else {}), result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--capped", type=int, nargs=2, default=[1000, 500], metavar=("N", "CAP"))
    parser.add_argument("--reference-at-once", type=int, default=50)
    parser.add_argument("--server-src", type=Path, help="run the server from this src/ folder")
    args = parser.parse_args()
    if args.server_src:
        SERVER_ENV["PYTHONPATH"] = str(args.server_src.resolve())
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runs = [
        ("burst", args.agents, args.agents, None),
        ("reference", args.agents, args.agents, args.reference_at_once),
        ("capped burst", args.capped[0], args.capped[1], None),
    ]
    for name, n, cap, at_once in runs:
        result = await deploy(n, cap, at_once)
        check_cap(result)
        print(json.dumps({"run": name, **result}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
