"""Listing the queue with thousands of waiting sessions (issue 13): a constant number of SQL
statements per page whatever the number of sessions, places in line from one ranked query, pages
by limit and offset with each list's total, and on SQLite no write lock held while reading (an
agent enrolling meanwhile is not kept waiting)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from sqlalchemy import event, insert, select

from relaydesk.server.db.models import Device, SupportSession
from tests.api.conftest import Harness, Org
from tests.fixtures.attended import agent_arrives, new_key
from tests.fixtures.databases import StatementLog


async def _first_session(org: Org, harness: Harness) -> int:
    return await agent_arrives(harness, (await new_key(org.admin))["key"])


async def _more_sessions(harness: Harness, template_id: int, count: int) -> None:
    """count more waiting sessions like the template, each on its own device, queued one
    second apart after it (one bulk insert per table)."""
    async with harness.db() as db:
        session = await db.get(SupportSession, template_id)
        assert session is not None
        device = (
            (await db.execute(select(Device.__table__).where(Device.id == session.device_id)))
            .mappings()
            .one()
        )
        row = (
            (
                await db.execute(
                    select(SupportSession.__table__).where(SupportSession.id == template_id)
                )
            )
            .mappings()
            .one()
        )
        last = (
            await db.execute(
                select(SupportSession.queued_at).order_by(SupportSession.queued_at.desc()).limit(1)
            )
        ).scalar_one()
        first_id = (
            await db.execute(select(Device.id).order_by(Device.id.desc()).limit(1))
        ).scalar_one() + 1
        devices = [
            {**device, "id": first_id + n, "hostname": f"pc-{first_id + n}"} for n in range(count)
        ]
        await db.execute(insert(Device.__table__), devices)
        first_session = (
            await db.execute(select(SupportSession.id).order_by(SupportSession.id.desc()).limit(1))
        ).scalar_one() + 1
        sessions = [
            {
                **row,
                "id": first_session + n,
                "device_id": first_id + n,
                "customer_secret_hash": None,
                "queued_at": last + timedelta(seconds=n + 1),
                "created_at": last + timedelta(seconds=n + 1),
            }
            for n in range(count)
        ]
        await db.execute(insert(SupportSession.__table__), sessions)


async def test_the_queue_costs_the_same_queries_for_10_and_1000_sessions(
    org: Org, harness: Harness
) -> None:
    log = StatementLog(harness.app.state.runtime.engine)
    first = await _first_session(org, harness)
    await _more_sessions(harness, first, 9)
    small, small_count = await log.get(org.admin, "/api/v1/queue")
    assert [s["position"] for s in small["personal"]] == list(range(1, 11))

    await _more_sessions(harness, first, 990)
    large, large_count = await log.get(org.admin, "/api/v1/queue")
    assert large_count == small_count, f"{small_count} statements for 10, {large_count} for 1,000"
    assert small["personal_total"] == 10
    # The first page by default, each session's place in line, the list's total.
    assert len(large["personal"]) == 100 and large["personal_total"] == 1000
    assert [s["position"] for s in large["personal"]] == list(range(1, 101))
    assert large["personal"][0]["id"] == first

    last_page, count = await log.get(org.admin, "/api/v1/queue?limit=50&offset=950")
    assert count == small_count
    assert [s["position"] for s in last_page["personal"]] == list(range(951, 1001))
    beyond, _ = await log.get(org.admin, "/api/v1/queue?limit=50&offset=1000")
    assert beyond["personal"] == [] and beyond["personal_total"] == 1000

    too_many = await org.admin.get("/api/v1/queue?limit=501")
    assert too_many.status_code == 422
    assert "limit" in too_many.text


async def test_listing_2000_waiting_sessions_takes_no_write_lock(
    org: Org, harness: Harness
) -> None:
    engine = harness.app.state.runtime.engine
    first = await _first_session(org, harness)
    await _more_sessions(harness, first, 1999)
    if engine.url.get_backend_name() != "sqlite":
        return  # PostgreSQL's readers never block writers; the counts are the other test's
    path = engine.url.database
    writes: list[str] = []

    def write_meanwhile(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        """Another writer (an agent enrolling) while the request reads the sessions: with a busy
        timeout of 0 it must get the write lock at once."""
        if "from support_sessions" not in statement.lower() or writes:
            return
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE devices SET last_seen_at = CURRENT_TIMESTAMP WHERE id = 1")
            other.execute("COMMIT")
            writes.append("written")
        except sqlite3.OperationalError as error:
            writes.append(str(error))
        finally:
            other.close()

    event.listen(engine.sync_engine, "before_cursor_execute", write_meanwhile)
    response = await org.admin.get("/api/v1/queue?limit=500")
    assert response.status_code == 200, response.text
    assert writes == ["written"]
    body = response.json()
    assert body["personal_total"] == 2000 and len(body["personal"]) == 500
    # A write request still takes the lock as it begins: what it acknowledged is on disk.
    created = await org.admin.post("/api/v1/session-keys", json={"validity_minutes": 60})
    assert created.status_code == 201
