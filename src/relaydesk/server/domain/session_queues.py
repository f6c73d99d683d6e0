"""The technicians' queues: which open sessions a technician sees where (his personal queue,
his teams' queues, the sessions he works), their places in line, and arrivals to announce.

Every list costs a constant number of queries whatever its length (issue 13): places in line
come from one ranked statement, and the lists are paged (limit and offset per list)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from relaydesk.protocol.states import OPEN_STATUSES, SessionStatus
from relaydesk.server.auth.rbac import PermissionSet
from relaydesk.server.db.models import Device, IssueType, SupportSession, User
from relaydesk.server.domain.device_scope import permissions_of
from relaydesk.server.domain.support_sessions import can_see, team_ids_of_user

QUEUE_PAGE = 100  # sessions per list (personal queue, each team's, his own) unless asked


@dataclass(frozen=True)
class SessionCard:
    session: SupportSession
    device: Device
    owner_name: str | None
    position: int | None
    # The portal issue form's issue type, by name ("" when the session did not come from it).
    issue_type_name: str = ""


def _places_in_line(organisation_id: int) -> Any:
    """Each waiting session's place in its queue (a technician's or a team's), all at once: one
    more than the sessions queued strictly before it (rank(), so equal times share a place)."""
    return (
        select(
            SupportSession.id.label("id"),
            func.rank()
            .over(
                partition_by=(SupportSession.queue_user_id, SupportSession.queue_team_id),
                order_by=SupportSession.queued_at,
            )
            .label("position"),
        )
        .where(
            SupportSession.organisation_id == organisation_id,
            SupportSession.status == SessionStatus.WAITING,
        )
        .subquery()
    )


def _card_statement(organisation_id: int) -> Select[Any]:
    """The session, its device, its owner's name, its issue type's name and its place in line,
    in one statement for any number of sessions."""
    places = _places_in_line(organisation_id)
    owner = aliased(User)
    return (
        select(SupportSession, Device, owner.name, IssueType.name, places.c.position)
        .join(Device, Device.id == SupportSession.device_id)
        .outerjoin(owner, owner.id == SupportSession.owner_id)
        .outerjoin(IssueType, IssueType.id == SupportSession.issue_type_id)
        .outerjoin(places, places.c.id == SupportSession.id)
    )


def _card(row: Any) -> SessionCard:
    session, device, owner_name, issue_type_name, position = tuple(row)[:5]
    waiting = session.status == SessionStatus.WAITING
    return SessionCard(
        session, device, owner_name, position if waiting else None, issue_type_name or ""
    )


async def cards(db: AsyncSession, sessions: Sequence[SupportSession]) -> list[SessionCard]:
    """The cards of these sessions (of one organisation), in their order, in one query."""
    if not sessions:
        return []
    statement = _card_statement(sessions[0].organisation_id)
    rows = await db.execute(statement.where(SupportSession.id.in_([s.id for s in sessions])))
    by_id = {card.session.id: card for card in map(_card, rows)}
    return [by_id[s.id] for s in sessions]


@dataclass
class QueueView:
    personal: list[SessionCard]
    teams: dict[int, list[SessionCard]]
    mine: list[SessionCard]
    # How many sessions each list holds in all (the view holds limit of them from offset).
    personal_total: int = 0
    team_totals: dict[int, int] = field(default_factory=dict)
    mine_total: int = 0


def _in_scope(permissions: PermissionSet) -> Any:
    """PermissionSet.reaches for a session's device, as SQL (GOV-3)."""
    if permissions.reaches_every_group():
        return true()
    return or_(
        Device.device_group_id.in_(sorted(permissions.groups_reached())),
        Device.id.in_(sorted(permissions.ad_hoc_devices)),
    )


async def queue_for(
    db: AsyncSession, user: User, limit: int = QUEUE_PAGE, offset: int = 0
) -> QueueView:
    """A page of each of the technician's lists, oldest first: his personal queue (waiting or
    held for him), each of his teams' queues (waiting for the team) and the sessions he works;
    limit of each from offset, with each list's total. The lists are the partitions of one
    ranked statement, so the queries are as many for ten sessions as for ten thousand."""
    team_ids = await team_ids_of_user(db, user.id)
    view = QueueView([], {tid: [] for tid in team_ids}, [], 0, dict.fromkeys(team_ids, 0))
    current = await db.get(User, user.id)  # his role assignments as they are now
    if current is None or not current.is_active:
        return view
    s = SupportSession
    list_of = case(
        (and_(s.status == SessionStatus.ACTIVE, s.owner_id == user.id), "mine"),
        (
            and_(
                s.status.in_((SessionStatus.WAITING, SessionStatus.HELD)),
                s.queue_user_id == user.id,
            ),
            "personal",
        ),
        (
            and_(
                s.status == SessionStatus.WAITING,
                s.queue_team_id.in_(team_ids),
                s.queue_user_id.is_(None),
            ),
            "team",
        ),
        else_=None,
    )
    team_of = case((list_of == "team", s.queue_team_id), else_=None)
    lists = (
        select(
            s.id.label("id"),
            list_of.label("list"),
            team_of.label("team_id"),
            func.row_number()
            .over(partition_by=(list_of, team_of), order_by=(s.queued_at, s.id))
            .label("n"),
            func.count().over(partition_by=(list_of, team_of)).label("total"),
        )
        .join(Device, Device.id == s.device_id)
        .where(
            s.organisation_id == user.organisation_id,
            s.status.in_(OPEN_STATUSES),
            or_(s.owner_id == user.id, s.queue_user_id == user.id, s.queue_team_id.in_(team_ids)),
            _in_scope(await permissions_of(db, current)),
        )
        .subquery()
    )
    rows = await db.execute(
        _card_statement(user.organisation_id)
        .add_columns(lists.c.list, lists.c.team_id, lists.c.total, lists.c.n)
        .join(lists, lists.c.id == s.id)
        .where(
            lists.c.list.is_not(None),
            # Each list's first row comes too, for its total when the page is past the end.
            or_(lists.c.n == 1, and_(lists.c.n > offset, lists.c.n <= offset + limit)),
        )
        .order_by(s.queued_at, s.id)
    )
    for row in rows:
        kind, team_id, total, n = tuple(row)[5:]
        if kind == "mine":
            shown, view.mine_total = view.mine, total
        elif kind == "personal":
            shown, view.personal_total = view.personal, total
        elif team_id in view.teams:
            shown, view.team_totals[team_id] = view.teams[team_id], total
        else:
            continue
        if n > offset:
            shown.append(_card(row))
    return view


async def card(db: AsyncSession, session: SupportSession) -> SessionCard:
    return (await cards(db, [session]))[0]


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
