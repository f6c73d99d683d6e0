"""Retention (GOV-10): ended sessions older than the organisation's period disappear with their
events, chat and recording files; younger ones stay; the purge is audited."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from relaydesk.server.db.models import ChatMessage, Recording, SessionEvent, SupportSession, utcnow
from relaydesk.server.domain import retention
from tests.api.conftest import Harness, Org
from tests.fixtures.attended import agent_arrives, new_key


async def ended_session(org: Org, harness: Harness, text: str) -> int:
    sid = await agent_arrives(harness, (await new_key(org.admin))["key"])
    await org.admin.post(f"/api/v1/sessions/{sid}/accept")
    await org.admin.post(f"/api/v1/sessions/{sid}/chat", json={"text": text})
    await org.admin.post(f"/api/v1/sessions/{sid}/end")
    return sid


async def test_old_sessions_are_purged_with_their_files(
    org: Org, harness: Harness, tmp_path: Path
) -> None:
    old = await ended_session(org, harness, "old")
    recent = await ended_session(org, harness, "recent")
    cast, transcript = tmp_path / "old.cast", tmp_path / "old.txt"
    cast.write_text("{}")
    transcript.write_text("x")
    async with harness.db() as db:
        db.add(
            Recording(
                session_id=old,
                kind="shell",
                tunnel_id="t",
                started_at=utcnow(),
                ended_at=utcnow(),
                cast_path=str(cast),
                transcript_path=str(transcript),
            )
        )
        await db.execute(
            update(SupportSession)
            .where(SupportSession.id == old)
            .values(ended_at=utcnow() - timedelta(days=31))
        )
    async with harness.db() as db:
        [purged] = await retention.purge(db)
    assert (purged.sessions, purged.recordings, purged.files) == (1, 1, 2)
    assert not cast.exists() and not transcript.exists()
    async with harness.db() as db:
        remaining = [sid for (sid,) in await db.execute(select(SupportSession.id))]
        chats = [t for (t,) in await db.execute(select(ChatMessage.text))]
        old_events = (
            await db.execute(
                select(func.count()).select_from(SessionEvent).where(SessionEvent.session_id == old)
            )
        ).scalar_one()
    assert remaining == [recent] and chats == ["recent"] and old_events == 0
    [entry] = (await org.admin.get("/api/v1/audit", params={"action": "retention."})).json()[
        "items"
    ]
    assert entry["details"]["sessions"] == 1 and entry["details"]["retention_days"] == 30
    assert (await org.admin.get(f"/api/v1/reports/sessions/{old}")).status_code == 404


async def test_a_longer_retention_keeps_them(org: Org, harness: Harness) -> None:
    sid = await ended_session(org, harness, "kept")
    await org.admin.patch("/api/v1/organisation/settings", json={"retention_days": 90})
    async with harness.db() as db:
        await db.execute(
            update(SupportSession)
            .where(SupportSession.id == sid)
            .values(ended_at=utcnow() - timedelta(days=31))
        )
    async with harness.db() as db:
        assert await retention.purge(db) == []
    assert (await org.admin.get(f"/api/v1/reports/sessions/{sid}")).status_code == 200
