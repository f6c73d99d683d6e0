"""Benchmark: the device list's search over 10,000 devices (issue 13, UNA-5).

Starts the real server (`relaydesk demo`, SQLite; with --postgres also on PostgreSQL), enrols
one installed device through the real protocol (an installer's token, Ed25519 proof), then
copies it in bulk in the database into N
devices with realistic values: hostnames by site and role (ws-fin-0042, lt-sales-0107,
srv-db-0003, ...), a nickname on a third, comments on a fifth, 0 to 3 tags of 40, one of 60
companies, one of 20 Jump groups, a public address of a few hundred NAT gateways, one or two
private addresses, half of them online. Then, through HTTP with the administrator's sign-in,
the median of 20 GETs each:

- reference: GET /api/v1/devices?limit=50 while the database holds 50 devices;
- with N devices: the first page of 50, and searches with `q` (hostname prefix, tag, public
  address, private address prefix, a word in comments or nicknames), a filtered listing
  (online in one group) and the last page;
- each as a ratio against the reference;
- the queue's GET with 1,000 waiting sessions (bench/idle_agents.measure_queue).

    .venv/bin/python bench/device_search.py [--devices 10000] [--runs 20] [--waiting 1000] \\
        [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.demo_server import Server  # noqa: E402
from bench.idle_agents import measure_queue, server_usage  # noqa: E402
from sqlalchemy import delete, insert, select, text  # noqa: E402
from tests.fixtures.databases import (  # noqa: E402
    create_database,
    drop_database,
    postgres_admin_dsn,
    with_database,
)
from tests.fixtures.technician import Technician  # noqa: E402

from relaydesk.protocol import control, identity  # noqa: E402
from relaydesk.protocol.messages import (  # noqa: E402
    PROTOCOL_VERSION,
    DeviceFacts,
    Hello,
    InstallerCredential,
)
from relaydesk.server.db.engine import make_engine  # noqa: E402
from relaydesk.server.db.models import Device, DeviceTag, DeviceUse  # noqa: E402

SITES = ["fin", "hr", "sales", "ops", "dev", "legal", "mkt", "it", "sup", "log"]
ROLES = [("ws", 0.55), ("lt", 0.3), ("srv", 0.1), ("kiosk", 0.05)]
TAGS = [
    "kiosk", "vip", "finance", "hr", "build", "gpu", "printer", "lab", "remote", "branch",
    "windows", "linux", "mac", "legacy", "pilot", "sensitive", "pos", "warehouse", "reception",
    "shared", "training", "loaner", "backup", "dmz", "db", "web", "mail", "dc", "test", "staging",
    "cad", "video", "audio", "scanner", "badge", "door", "camera", "hvac", "ups", "nas",
]  # fmt: skip
WORDS = ["printer", "second floor", "call before", "reboots nightly", "shared desk", "CFO", "lab"]


async def enrol_one(server: Server, token: str) -> int:
    key = identity.DeviceKey.generate()
    hello = Hello(
        type="hello",
        protocol=PROTOCOL_VERSION,
        agent_version="1.4.2",
        mode="unattended",
        public_key=key.public_key_b64,
        credential=InstallerCredential(kind="installer", token=token),
        device=DeviceFacts(hostname="bench-first", os="Windows 11 Pro", private_ips=["10.0.0.1"]),
    )
    connection = control.AgentConnection(hello, key)
    connection.start()
    async with connect(server.url.replace("http", "ws") + "/agent/ws", ping_interval=None) as ws:
        while not connection.established:
            for frame in connection.data_to_send():
                await ws.send(frame)
            connection.receive(await ws.recv())
    return 1


async def fill(database_url: str, count: int, groups: list[int], seed: int = 13) -> None:
    """count devices like the first one, in its place and the others', realistic values."""
    rng = random.Random(seed)
    engine = make_engine(database_url)
    devices_table, tags_table = Device.__table__, DeviceTag.__table__
    try:
        async with engine.begin() as db:
            first = dict(
                (await db.execute(select(devices_table).order_by(devices_table.c.id).limit(1)))
                .mappings()
                .one()
            )
            await db.execute(delete(tags_table))
            await db.execute(delete(DeviceUse.__table__))
            await db.execute(delete(devices_table))
            gateways = [f"203.0.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(300)]
            companies = [f"Customer {n:02d} Ltd" for n in range(60)]
            devices, tags = [], []
            for n in range(1, count + 1):
                role = rng.choices([r for r, _ in ROLES], [w for _, w in ROLES])[0]
                site = rng.choice(SITES)
                private = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"]
                if rng.random() < 0.3:
                    private.append(f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}")
                row = {
                    **first,
                    "id": first["id"] + n,
                    "hostname": f"{role}-{site}-{n:05d}",
                    "nickname": f"{site.upper()} {role} desk {n}" if rng.random() < 0.33 else "",
                    "comments": " ".join(rng.sample(WORDS, 2)) if rng.random() < 0.2 else "",
                    "company": rng.choice(companies),
                    "device_group_id": rng.choice(groups),
                    "public_ip": rng.choice(gateways),
                    "private_ips": " ".join(private),
                    "online_since": first["last_seen_at"] if rng.random() < 0.5 else None,
                    "public_key": f"{n:043d}",
                }
                fields = ("hostname", "nickname", "comments", "public_ip", "private_ips")
                row["search_text"] = "\n".join(row[f] for f in fields).lower()
                devices.append(row)
                for tag in rng.sample(TAGS, rng.randrange(0, 4)):
                    tags.append({"device_id": row["id"], "tag": tag})
            for at in range(0, len(devices), 1000):
                await db.execute(insert(devices_table), devices[at : at + 1000])
            await db.execute(insert(tags_table), tags)
            await db.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


def median_get(
    technician: Technician, path: str, runs: int, pid: int | None = None
) -> tuple[float, dict[str, Any]]:
    """The median time of a GET and its last body; with the server's pid, the server's CPU time
    per GET (ms) is in the body as `_server_cpu_ms`."""
    technician.http.get(path)  # warm
    times, body = [], {}
    cpu0 = server_usage(pid)[0] if pid else 0.0
    for _ in range(runs):
        started = time.perf_counter()
        response = technician.http.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        body = response.json()
    if pid:
        body["_server_cpu_ms"] = round((server_usage(pid)[0] - cpu0) / runs * 1000, 1)
    return statistics.median(times), body


def searches(groups: list[int]) -> dict[str, str]:
    return {
        "first page of 50": "/api/v1/devices?limit=50",
        "hostname prefix 'ws-fin'": "/api/v1/devices?limit=50&q=ws-fin",
        "tag 'kiosk'": "/api/v1/devices?limit=50&q=kiosk",
        "public address": "/api/v1/devices?limit=50&q=203.0.",
        "private address prefix '10.12.'": "/api/v1/devices?limit=50&q=10.12.",
        "substring 'floor' (comments)": "/api/v1/devices?limit=50&q=floor",
        "online in one group": f"/api/v1/devices?limit=50&online=true&device_group_id={groups[3]}",
        "last page": "/api/v1/devices?limit=50&offset=9950",
    }


async def measure(count: int, runs: int, postgres: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        database_url = postgres or f"sqlite+aiosqlite:///{Path(data) / 'relaydesk.sqlite3'}"
        env = {"RELAYDESK_DATABASE_URL": postgres} if postgres else None
        server = await asyncio.to_thread(Server, Path(data), None, env)
        try:
            technician = Technician(server).sign_in_first_time()
            groups = [
                technician.http.post("/api/v1/device-groups", json={"name": f"Group {n}"}).json()[
                    "id"
                ]
                for n in range(20)
            ]
            token = technician.http.post(
                "/api/v1/installers", json={"company": "Bench", "device_group_id": groups[0]}
            ).json()["token"]
            await enrol_one(server, token)
            await fill(database_url, 50, groups)
            reference, small = median_get(technician, "/api/v1/devices?limit=50", runs)
            assert small["total"] == 50, small["total"]
            await fill(database_url, count, groups)
            results: dict[str, Any] = {}
            for name, path in searches(groups).items():
                took, body = median_get(technician, path, runs, server.process.pid)
                results[name] = {
                    "median_ms": round(took * 1000, 1),
                    "server_cpu_ms": body["_server_cpu_ms"],
                    "ratio": round(took / reference, 2),
                    "matches": body["total"],
                }
            assert results["first page of 50"]["matches"] == count
        finally:
            server.stop(30)
    return {
        "database": "postgresql" if postgres else "sqlite",
        "devices": count,
        "runs": runs,
        "reference_50_devices_median_ms": round(reference * 1000, 1),
        "with_many": results,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument(
        "--postgres", action="store_true", help="also on PostgreSQL (a scratch database)"
    )
    args = parser.parse_args()
    print(json.dumps(await measure(args.devices, args.runs, None), indent=1), flush=True)
    if args.postgres:
        admin = postgres_admin_dsn()
        assert admin, "no PostgreSQL server answers (RELAYDESK_TEST_POSTGRES_ADMIN)"
        name = f"relaydesk_bench_{secrets.token_hex(4)}"
        await asyncio.to_thread(create_database, admin, name)
        try:
            result = await measure(args.devices, args.runs, with_database(admin, name))
            print(json.dumps(result, indent=1), flush=True)
        finally:
            await asyncio.to_thread(drop_database, admin, name)
    if args.waiting:
        print(json.dumps(await measure_queue(args.waiting)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
