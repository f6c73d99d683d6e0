"""Schema changes only through Alembic, on both databases: the migrations build exactly the
models' schema, and go down and up again cleanly."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from relaydesk.server.db import migrate
from relaydesk.server.db.engine import make_engine
from relaydesk.server.db.models import Base


async def _inspect(url: str) -> tuple[set[str], list[Any]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:

            def work(sync_connection: Any) -> tuple[set[str], list[Any]]:
                tables = set(inspect(sync_connection).get_table_names())
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
                return tables, compare_metadata(context, Base.metadata)

            return await connection.run_sync(work)
    finally:
        await engine.dispose()


async def test_migrations_match_the_models_and_reverse(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    tables, drift = await _inspect(database_url)
    assert set(Base.metadata.tables) <= tables
    assert drift == []

    await asyncio.to_thread(migrate.downgrade, database_url, "base")
    tables, _ = await _inspect(database_url)
    assert tables <= {"alembic_version"}

    await asyncio.to_thread(migrate.upgrade, database_url)
    tables, drift = await _inspect(database_url)
    assert set(Base.metadata.tables) <= tables and drift == []
