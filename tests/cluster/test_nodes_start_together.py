"""Three nodes started at the same moment on an empty PostgreSQL database: one applies the
migrations while the others wait for its lock, then all three serve behind HAProxy."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from alembic.script import ScriptDirectory

from relaydesk.server.db.migrate import alembic_config
from tests.fixtures.cluster import Cluster
from tests.fixtures.databases import plain_dsn, run_async


def _versions(database_url: str) -> list[str]:
    import asyncpg

    async def read() -> list[str]:
        connection = await asyncpg.connect(plain_dsn(database_url))
        try:
            return [
                row[0] for row in await connection.fetch("SELECT version_num FROM alembic_version")
            ]
        finally:
            await connection.close()

    return run_async(read())


def test_three_nodes_started_at_once_on_an_empty_database_all_serve(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(nodes=3, start=False)
    cluster.start_nodes()  # `relaydesk serve` x 3 at the same moment, nothing set up before
    cluster.start_haproxy()

    assert all(node.running for node in cluster.nodes)
    head = ScriptDirectory.from_config(alembic_config(cluster.database_url)).get_current_head()
    assert _versions(cluster.database_url) == [head]
    # Through HAProxy, every node answers in turn (round-robin, no stickiness).
    with httpx.Client(base_url=cluster.url, timeout=10, trust_env=False) as http:
        answers = [http.get("/api/v1/health") for _ in range(6)]
    assert [answer.status_code for answer in answers] == [200] * 6
    for node in cluster.nodes:
        assert "migration failed" not in node.output(), node.output()
