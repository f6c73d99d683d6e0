"""What several benches share: an attended bench agent's hello (key pair and session key), and a
real cluster (tests/fixtures/cluster.py) on a PostgreSQL database and a Redis database of its own,
its nodes behind HAProxy, all removed afterwards."""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.cluster import Cluster  # noqa: E402
from tests.fixtures.databases import (  # noqa: E402
    RedisConnection,
    create_database,
    drop_database,
    postgres_admin_dsn,
    redis_address,
    with_database,
)

from relaydesk.protocol import identity  # noqa: E402
from relaydesk.protocol.messages import (  # noqa: E402
    PROTOCOL_VERSION,
    DeviceFacts,
    Hello,
    SessionKeyCredential,
)


def bench_hello(key: str) -> tuple[identity.DeviceKey, Hello]:
    """A new key pair and the attended hello of a bench agent with the session key."""
    device_key = identity.DeviceKey.generate()
    hello = Hello(
        type="hello",
        protocol=PROTOCOL_VERSION,
        agent_version="bench",
        mode="attended",
        public_key=device_key.public_key_b64,
        credential=SessionKeyCredential(kind="session_key", key=key),
        device=DeviceFacts(hostname="bench-agent", os="Linux"),
    )
    return device_key, hello


def claim_redis_database() -> tuple[str, int]:
    host, port = redis_address()
    owner = uuid.uuid4().hex
    with RedisConnection(host, port) as admin:
        for number in range(1, 16):
            if admin.command("SET", f"relaydesk-test:claim:{number}", owner, "NX", "EX", 3600):
                with RedisConnection(host, port, number) as db:
                    db.command("FLUSHDB")
                return f"redis://{host}:{port}/{number}", number
    raise SystemExit("no free Redis database")


@contextmanager
def running_cluster(nodes: int, prefix: str) -> Iterator[Cluster]:
    """`nodes` nodes initialised and started, HAProxy in front; stopped and their database,
    Redis database and work folder (a temporary one named with `prefix`) removed at the end."""
    admin = postgres_admin_dsn()
    if admin is None:
        raise SystemExit("PostgreSQL is not reachable (RELAYDESK_TEST_POSTGRES_ADMIN)")
    database = f"relaydesk_bench_{uuid.uuid4().hex[:10]}"
    create_database(admin, database)
    redis_url, number = claim_redis_database()
    work = Path(tempfile.mkdtemp(prefix=prefix))
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    cluster = Cluster(
        nodes, with_database(admin, database), redis_url, work, work / "logs", haproxy
    )
    try:
        cluster.initialise()
        cluster.start_nodes()
        cluster.start_haproxy()
        yield cluster
    finally:
        cluster.stop()
        drop_database(admin, database)
        host, port = redis_address()
        with RedisConnection(host, port, number) as db:
            db.command("FLUSHDB")
        with RedisConnection(host, port) as admin_redis:
            admin_redis.command("DEL", f"relaydesk-test:claim:{number}")
        shutil.rmtree(work, ignore_errors=True)
