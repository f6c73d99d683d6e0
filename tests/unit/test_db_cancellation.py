"""A task cancelled in the middle of a database read must not leave SQLite locked: a console
WebSocket that closes while its feed reads the queue would otherwise block every later request."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy import text

from relaydesk.server.db.engine import make_engine, make_sessionmaker


async def _cancel_readers_then_write(url: str, rounds: int) -> list[int]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    async with sessions() as db:
        await db.execute(text("CREATE TABLE t (x INTEGER)"))
        await db.execute(text("INSERT INTO t VALUES (1)"))
        await db.commit()

    async def reader() -> None:
        async with sessions() as db:
            for _ in range(10_000):
                await db.execute(text("SELECT count(*) FROM t, t AS u"))

    stuck = []
    try:
        for round_ in range(rounds):
            task = asyncio.create_task(reader())
            await asyncio.sleep(0.001 * (round_ % 7))
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            try:
                async with sessions() as db:
                    await asyncio.wait_for(db.execute(text("INSERT INTO t VALUES (2)")), 10)
                    await db.commit()
            except Exception:
                stuck.append(round_)
                break
    finally:
        await engine.dispose()
    return stuck


def test_cancelled_reads_leave_the_database_writable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cancel.sqlite3'}"
    assert asyncio.run(_cancel_readers_then_write(url, rounds=25)) == []
