"""The PostgreSQL and Redis fixtures give usable, private databases."""

from __future__ import annotations

import asyncpg
import pytest

from tests.fixtures.common import unavailable
from tests.fixtures.databases import (
    POSTGRES_ADMIN_DSNS,
    RedisConnection,
    create_database,
    database_exists,
    drop_database,
    plain_dsn,
    postgres_admin_dsn,
)


async def test_postgres_url_is_a_fresh_usable_database(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+asyncpg://")
    connection = await asyncpg.connect(plain_dsn(postgres_url))
    try:
        assert await connection.fetchval("SELECT 1") == 1
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert tables == 0
        await connection.execute("CREATE TABLE probe (id int)")
        await connection.execute("INSERT INTO probe VALUES (42)")
        assert await connection.fetchval("SELECT id FROM probe") == 42
    finally:
        await connection.close()


def test_postgres_databases_are_dropped_afterwards() -> None:
    admin = postgres_admin_dsn()
    if admin is None:
        unavailable(f"PostgreSQL is not reachable ({POSTGRES_ADMIN_DSNS[0]})")
    create_database(admin, "relaydesk_test_drop_probe")
    assert database_exists(admin, "relaydesk_test_drop_probe")
    drop_database(admin, "relaydesk_test_drop_probe")
    assert not database_exists(admin, "relaydesk_test_drop_probe")


def test_redis_url_is_a_private_empty_database(redis_url: str) -> None:
    host_port, _, number = redis_url.removeprefix("redis://").rpartition("/")
    host, _, port = host_port.rpartition(":")
    assert int(number) >= 1
    with RedisConnection(host, int(port), int(number)) as db:
        assert db.command("DBSIZE") == 0
        assert db.command("SET", "probe", "value") == "OK"
        assert db.command("GET", "probe") == b"value"


@pytest.mark.parametrize("n", [1, 2])
def test_redis_databases_differ_while_claimed(n: int, redis_url: str) -> None:
    # Each run of this test gets an empty database even though the previous one wrote to it.
    host_port, _, number = redis_url.removeprefix("redis://").rpartition("/")
    host, _, port = host_port.rpartition(":")
    with RedisConnection(host, int(port), int(number)) as db:
        assert db.command("DBSIZE") == 0
        db.command("SET", "left-behind", str(n))
