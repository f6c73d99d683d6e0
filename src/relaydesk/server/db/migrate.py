"""Schema changes, always through Alembic."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).parent / "migrations"
# PostgreSQL advisory lock key of schema changes (any constant; the same for every node):
# nodes starting together, or `relaydesk migrate` beside running nodes, apply migrations one
# after the other, and whoever comes second finds the schema up to date.
MIGRATION_LOCK_KEY = 0x72656C61796465  # "relayde"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def hold_migration_lock(connection: Connection) -> None:
    """Waits for the deployment's migration lock and holds it until this transaction ends
    (called by migrations/env.py before Alembic reads the schema's version). SQLite needs none:
    one process serves it, and its writers queue on the file's lock anyway."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def _in_thread(func: Any, *args: Any) -> Any:
    """env.py runs its own event loop; keep it off any loop that is already running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return func(*args)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(func, *args).result()


def upgrade(database_url: str, revision: str = "head") -> None:
    _in_thread(command.upgrade, alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    _in_thread(command.downgrade, alembic_config(database_url), revision)
