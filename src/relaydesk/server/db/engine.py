"""Async engine and session factory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# An execution option of the engine that reads (reading_engine): its SQLite transactions begin
# deferred.
READING = "relaydesk_reading"


def make_engine(url: str) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            # Transactions are begun explicitly (below) so that every one takes the write lock at
            # once: two writers can then never both read the audit chain head. A reading request's
            # (reading_engine) begins deferred: it takes no write lock and never waits for one (WAL
            # readers see the last commit); should it write after all, SQLite takes the lock then,
            # or refuses if another writer committed since it read.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            reading = connection.get_execution_options().get(READING, False)
            connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

        @event.listens_for(engine.sync_engine.pool, "invalidate")
        def _sqlite_release_write_lock(dbapi_connection: Any, _record: Any, _error: Any) -> None:
            release_write_lock(dbapi_connection)

    return engine


def reading_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, for requests that only read (GET): no write lock on SQLite."""
    return engine.execution_options(**{READING: True})


def release_write_lock(dbapi_connection: Any) -> None:
    """Rolls back an invalidated aiosqlite connection on its own thread.

    A task cancelled during a query (a WebSocket closing while its feed reads) invalidates the
    connection; SQLAlchemy then closes it while the cancelled statement is still open, and SQLite
    keeps such a connection alive as a zombie that holds the write lock taken by BEGIN IMMEDIATE:
    every later transaction would wait for it and fail with "database is locked". A rollback
    queued behind the running statement releases the lock. aiosqlite offers no public way to queue
    work without awaiting it, hence its private queue (tests/unit/test_db_cancellation.py checks).
    """
    driver = getattr(dbapi_connection, "_connection", None)
    sqlite_connection = getattr(driver, "_connection", None)
    queue = getattr(driver, "_tx", None)
    if sqlite_connection is not None and queue is not None:
        queue.put_nowait((None, sqlite_connection.rollback))


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
