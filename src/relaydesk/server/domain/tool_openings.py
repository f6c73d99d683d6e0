"""A technician opening a tool's tunnel (shell, screen, files): its session event and audit entry,
written by a group commit (server/group_commit.py) with the other openings of the moment, in one
transaction.

The technician's permissions, scope and the session are checked when he asks, by reads that take
no write lock (domain/shell.py, screen.py, files.py); the tunnel is created in this node's memory
and the request waits until its opening is written. What those checks rest on and what can change
meanwhile (the session is still his and active, a jump still allowed, the screen still shared)
is checked again inside the writing transaction, under the same locks as before (SQLite's write
lock; on PostgreSQL the sessions' rows shared-locked): an opening no longer allowed is not
written, its tunnel is dropped and the request refused as it would have been. The audit chain is
extended in the openings' order, each organisation's head locked once per transaction
(audit.record_all). Nothing is acknowledged before it is committed: the tunnel's command to the
agent and the console's answer follow the commit."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.states import ScreenState
from relaydesk.server.db.models import SupportSession
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.errors import DomainError, Forbidden
from relaydesk.server.domain.support_sessions import owner_refusal, record_event
from relaydesk.server.domain.tunnels import IssuedTunnel, TunnelRegistry

SCREEN_NOT_GRANTED = (
    "screen_not_granted",
    "The customer has not allowed screen sharing; ask for it first.",
)


@dataclass(frozen=True)
class ToolOpening:
    """What opening one tunnel writes: the session event and, unless None, the audit entry."""

    session_id: int
    technician_id: int
    event: str  # the session event's kind ("shell.opened", ...)
    by: str  # the event's actor label
    details: dict[str, Any]
    audit: audit.Entry | None = None
    # The screen's tunnel: the sharing it needs still granted (VIEW: view or control; CONTROL:
    # control, for a tunnel that carries input).
    screen: ScreenState | None = None

    @classmethod
    def audited(
        cls, actor: Actor, session_id: int, action: str, details: dict[str, Any]
    ) -> ToolOpening:
        """An opening whose session event is audited too: the same action and details, the
        session its target."""
        entry = audit.Entry(actor.who, action, f"session:{session_id}", details)
        return cls(session_id, actor.user.id, action, actor.label, details, audit=entry)


# Hands an opening to the group commit; the answer comes once it is committed: None, or why it
# was not written.
OpeningWriter = Callable[[ToolOpening], Awaitable[DomainError | None]]


def _refusal(opening: ToolOpening, session: SupportSession | None) -> DomainError | None:
    if session is None:
        return Forbidden(
            "not_session_owner", "Only the technician who owns this session may do this."
        )
    refusal = owner_refusal(opening.technician_id, session)
    if refusal is not None or opening.screen is None:
        return refusal
    shared = {ScreenState.VIEW, ScreenState.CONTROL}
    if opening.screen == ScreenState.CONTROL:
        shared = {ScreenState.CONTROL}
    if session.screen_state not in shared:
        return Forbidden(*SCREEN_NOT_GRANTED)
    return None


async def write(db: AsyncSession, openings: Sequence[ToolOpening]) -> list[DomainError | None]:
    """Writes the openings that are still allowed, in order; for each, None or its refusal.
    One SELECT of their sessions, then the events and entries (flushed together at commit)."""
    ids = sorted({opening.session_id for opening in openings})
    query = (
        select(SupportSession)
        .where(SupportSession.id.in_(ids))
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    sessions = {session.id: session for session in (await db.scalars(query)).all()}
    outcomes: list[DomainError | None] = []
    entries: list[audit.Entry] = []
    for opening in openings:
        session = sessions.get(opening.session_id)
        refusal = _refusal(opening, session)
        outcomes.append(refusal)
        if refusal is not None or session is None:
            continue
        record_event(db, session, opening.event, opening.by, **opening.details)
        if opening.audit is not None:
            entries.append(opening.audit)
    await audit.record_all(db, entries)
    return outcomes


async def written(
    db: AsyncSession,
    writer: OpeningWriter,
    opening: ToolOpening,
    registry: TunnelRegistry,
    issued: IssuedTunnel,
) -> None:
    """Waits until the opening is committed; refused meanwhile (or not written), its tunnel is
    dropped and the refusal (or the error) raised. The request's reads are over: their
    transaction ends first, so that its connection goes back to the pool for the group commit's
    (the requests waiting must not hold every connection the writer needs)."""
    await db.commit()
    try:
        refusal = await writer(opening)
    except BaseException:
        registry.remove(issued.tunnel.id)
        raise
    if refusal is not None:
        registry.remove(issued.tunnel.id)
        raise refusal
    # The tokens' few seconds count from now, when they are handed out, not from before the
    # wait (which grows with the load).
    issued.tunnel.created = time.monotonic()
