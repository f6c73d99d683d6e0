"""The technicians' queues: which open sessions a technician sees where (his personal queue,
his teams' queues, the sessions he works), their places in line, and arrivals to announce."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.states import OPEN_STATUSES, SessionStatus
from relaydesk.server.db.models import Device, IssueType, SupportSession, User
from relaydesk.server.domain.support_sessions import can_see, in_scope, team_ids_of_user


@dataclass(frozen=True)
class SessionCard:
    session: SupportSession
    device: Device
    owner_name: str | None
    position: int | None
    # The portal issue form's issue type, by name ("" when the session did not come from it).
    issue_type_name: str = ""


async def _cards(db: AsyncSession, sessions: Sequence[SupportSession]) -> list[SessionCard]:
    cards = []
    for session in sessions:
        device = await db.get(Device, session.device_id)
        assert device is not None
        owner = await db.get(User, session.owner_id) if session.owner_id else None
        position = None
        if session.status == SessionStatus.WAITING:
            ahead = await db.execute(
                select(SupportSession.id).where(
                    SupportSession.organisation_id == session.organisation_id,
                    SupportSession.status == SessionStatus.WAITING,
                    SupportSession.queue_user_id.is_(None)
                    if session.queue_user_id is None
                    else SupportSession.queue_user_id == session.queue_user_id,
                    SupportSession.queue_team_id.is_(None)
                    if session.queue_team_id is None
                    else SupportSession.queue_team_id == session.queue_team_id,
                    SupportSession.queued_at < session.queued_at,
                )
            )
            position = len(ahead.all()) + 1
        issue_type = (
            await db.get(IssueType, session.issue_type_id) if session.issue_type_id else None
        )
        cards.append(
            SessionCard(
                session,
                device,
                owner.name if owner else None,
                position,
                issue_type.name if issue_type else "",
            )
        )
    return cards


@dataclass(frozen=True)
class QueueView:
    personal: list[SessionCard]
    teams: dict[int, list[SessionCard]]
    mine: list[SessionCard]


async def queue_for(db: AsyncSession, user: User) -> QueueView:
    team_ids = await team_ids_of_user(db, user.id)
    rows = await db.execute(
        select(SupportSession)
        .where(
            SupportSession.organisation_id == user.organisation_id,
            SupportSession.status.in_(OPEN_STATUSES),
            or_(
                SupportSession.owner_id == user.id,
                SupportSession.queue_user_id == user.id,
                SupportSession.queue_team_id.in_(team_ids),
            ),
        )
        .order_by(SupportSession.queued_at)
    )
    personal, mine = [], []
    teams: dict[int, list[SessionCard]] = {tid: [] for tid in team_ids}
    reachable = [s for s in rows.scalars() if await in_scope(db, user, s)]
    for card in await _cards(db, reachable):
        s = card.session
        if s.status == SessionStatus.ACTIVE and s.owner_id == user.id:
            mine.append(card)
        elif s.status in (SessionStatus.WAITING, SessionStatus.HELD) and s.queue_user_id == user.id:
            personal.append(card)
        elif (
            s.status == SessionStatus.WAITING
            and s.queue_team_id in teams
            and s.queue_user_id is None
        ):
            teams[s.queue_team_id].append(card)
    return QueueView(personal, teams, mine)


async def card(db: AsyncSession, session: SupportSession) -> SessionCard:
    return (await _cards(db, [session]))[0]


async def arrival_for(db: AsyncSession, user: User, session_id: int) -> SessionCard | None:
    """The new session a technician should be told about, if it landed in one of his queues."""
    session = await db.get(SupportSession, session_id)
    if (
        session is None
        or session.status != SessionStatus.WAITING
        or not await can_see(db, user, session)
    ):
        return None
    return await card(db, session)
