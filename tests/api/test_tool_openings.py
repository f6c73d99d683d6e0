"""A tool's opening is checked when the technician asks (reads, no write lock) and again in the
group commit's transaction that writes it (domain/tool_openings.py): an opening whose session
ended, or whose screen stopped being shared, in between is not written, and the others of the
same transaction are, their audit entries chained in order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from relaydesk.protocol.states import ScreenState
from relaydesk.server.db.models import AuditEntry, SessionEvent, SupportSession
from relaydesk.server.domain import audit, tool_openings
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.tool_openings import ToolOpening
from tests.fixtures.attended import agent_arrives, new_key


def opening(org: Any, session_id: int, tunnel: str, **more: Any) -> ToolOpening:
    details = {"tunnel": tunnel}
    technician_id = org.admin_user.id
    who = Who(org.id, technician_id, "ada@acme.test", "127.0.0.1")
    return ToolOpening(
        session_id,
        technician_id,
        "shell.opened",
        "ada@acme.test",
        details,
        audit=audit.Entry(who, "shell.opened", f"session:{session_id}", details),
        **more,
    )


async def test_an_opening_no_longer_allowed_is_not_written(harness: Any, org: Any) -> None:
    ended = await agent_arrives(harness, (await new_key(org.admin))["key"], "pc-1")
    live = await agent_arrives(harness, (await new_key(org.admin))["key"], "pc-2")
    for session_id in (ended, live):
        accepted = await org.admin.post(f"/api/v1/sessions/{session_id}/accept")
        assert accepted.status_code == 200, accepted.text
    # Checked and allowed when asked; then the session ends before the opening is written.
    assert (await org.admin.post(f"/api/v1/sessions/{ended}/end")).status_code == 200
    openings = [
        opening(org, live, "t-first"),
        opening(org, ended, "t-ended"),
        opening(org, live, "t-screen", screen=ScreenState.VIEW),  # the screen is not shared
        opening(org, live, "t-last"),
    ]

    async with harness.db() as db:
        outcomes = await tool_openings.write(db, openings)

    assert [o.code if o else None for o in outcomes] == [
        None,
        "not_session_owner",
        "screen_not_granted",
        None,
    ]
    async with harness.db() as db:
        events = (
            await db.scalars(select(SessionEvent).where(SessionEvent.kind == "shell.opened"))
        ).all()
        entries = (await db.scalars(select(AuditEntry).order_by(AuditEntry.seq))).all()
        session = await db.get(SupportSession, live)
    assert [e.details["tunnel"] for e in events] == ["t-first", "t-last"]
    opened = [e for e in entries if e.action == "shell.opened"]
    assert [e.details["tunnel"] for e in opened] == ["t-first", "t-last"]
    assert opened[1].prev_hash == opened[0].hash  # chained in order, in one transaction
    assert session is not None and session.screen_state == ScreenState.OFF
    async with harness.db() as db:
        checked, breaks = await audit.verify(db)
    assert breaks == [] and checked == len(entries)
