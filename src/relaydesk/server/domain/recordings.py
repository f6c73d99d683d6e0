"""Recordings of a session's tools, kept with the session for its report (GOV-8)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import Recording, SupportSession, User, utcnow
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.errors import NotFound
from relaydesk.server.domain.support_sessions import record_event, report


async def register_shell(
    db: AsyncSession,
    session_id: int,
    tunnel_id: str,
    opened_by: int,
    started_wall: float,
    cast_path: Path,
    transcript_path: Path,
    output_bytes: int,
) -> None:
    session = await db.get(SupportSession, session_id)
    if session is None:
        return
    user = await db.get(User, opened_by)
    row = Recording(
        session_id=session_id,
        kind="shell",
        tunnel_id=tunnel_id,
        opened_by=user.email if user else "",
        started_at=datetime.fromtimestamp(started_wall, UTC),
        ended_at=utcnow(),
        cast_path=str(cast_path),
        transcript_path=str(transcript_path),
        output_bytes=output_bytes,
    )
    db.add(row)
    record_event(db, session, "shell.recorded", row.opened_by, tunnel=tunnel_id, bytes=output_bytes)


async def of_session(db: AsyncSession, session_id: int) -> list[Recording]:
    rows = await db.execute(
        select(Recording).where(Recording.session_id == session_id).order_by(Recording.id)
    )
    return list(rows.scalars())


async def get_for_report(
    db: AsyncSession, actor: Actor, session_id: int, recording_id: int
) -> Recording:
    await report(db, actor, session_id)  # permission and organisation
    row = await db.get(Recording, recording_id)
    if row is None or row.session_id != session_id:
        raise NotFound("recording_not_found", f"No recording with id {recording_id}.")
    return row
