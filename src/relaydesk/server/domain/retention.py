"""Retention (GOV-10): a session's data — events, chat, recordings and their files — is kept
for the organisation's retention period after the session ended, then purged; each purge is
audited. The audit log itself is never purged (its chain must stay whole)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.states import SessionStatus
from relaydesk.server.db.models import (
    ChatMessage,
    ConsoleLogin,
    Device,
    Organisation,
    Recording,
    SessionEvent,
    SupportSession,
    utcnow,
)
from relaydesk.server.domain import audit
from relaydesk.server.domain.audit import Who


@dataclass(frozen=True)
class Purged:
    organisation_id: int
    sessions: int
    recordings: int
    files: int


def _remove(paths: list[Path]) -> int:
    removed = 0
    for path in paths:
        if path.exists():
            path.unlink()
            removed += 1
    return removed


async def purge(db: AsyncSession, now: datetime | None = None) -> list[Purged]:
    moment = now or utcnow()
    results = []
    for organisation in (await db.execute(select(Organisation))).scalars().all():
        cutoff = moment - timedelta(days=organisation.retention_days)
        sessions = (
            (
                await db.execute(
                    select(SupportSession).where(
                        SupportSession.organisation_id == organisation.id,
                        SupportSession.status == SessionStatus.ENDED,
                        SupportSession.ended_at < cutoff,
                    )
                )
            )
            .scalars()
            .all()
        )
        if not sessions:
            continue
        ids = [s.id for s in sessions]
        recordings = (
            (await db.execute(select(Recording).where(Recording.session_id.in_(ids))))
            .scalars()
            .all()
        )
        paths = [Path(p) for r in recordings for p in (r.cast_path, r.transcript_path)]
        files = await asyncio.to_thread(_remove, paths)
        device_ids = [s.device_id for s in sessions]
        for model in (Recording, ChatMessage, SessionEvent):
            await db.execute(delete(model).where(model.session_id.in_(ids)))
        await db.execute(delete(SupportSession).where(SupportSession.id.in_(ids)))
        still_used = select(SupportSession.device_id)
        await db.execute(
            delete(Device).where(
                Device.id.in_(device_ids), Device.kind == "temporary", Device.id.not_in(still_used)
            )
        )
        purged = Purged(organisation.id, len(ids), len(recordings), files)
        await audit.record(
            db,
            Who.system(organisation.id, "retention"),
            "retention.purged",
            target="sessions",
            details={
                "retention_days": organisation.retention_days,
                "ended_before": cutoff.isoformat(),
                "sessions": purged.sessions,
                "recordings": purged.recordings,
            },
        )
        results.append(purged)
    await db.execute(delete(ConsoleLogin).where(ConsoleLogin.expires_at < moment))
    return results
