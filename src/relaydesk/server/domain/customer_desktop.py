"""The customer's window on his desktop (the support client's, issue 12): what it shows and what
its buttons do. The window speaks through the agent's control channel, which is authorised for
its one session by the device's key; every answer goes through the same rules as the portal
page's (domain/screen.py, session_chat.py, support_sessions.py), so whichever side answers first
wins and both are told the new state."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.events import ChatLine
from relaydesk.protocol.messages import (
    ChatEntry,
    ConsentAnswer,
    CustomerAction,
    CustomerState,
    Helper,
)
from relaydesk.server.db.models import Organisation, SupportSession, User
from relaydesk.server.domain import screen, session_chat, support_sessions
from relaydesk.server.domain.errors import Conflict, NotFound

# The window shows the latest lines; the whole conversation stays in the session report.
CHAT_LINES_SHOWN = 200


async def _session(db: AsyncSession, session_id: int) -> SupportSession:
    session = await db.get(SupportSession, session_id)
    if session is None:
        raise NotFound("session_not_found", "This support session no longer exists.")
    return session


def chat_entry(line: ChatLine) -> ChatEntry:
    return ChatEntry(
        id=line.id,
        at=line.at.isoformat(),
        sender=line.sender,
        sender_name=line.sender_name[:500],
        text=line.text[:4000],
    )


async def window_state(db: AsyncSession, session_id: int) -> CustomerState:
    session = await _session(db, session_id)
    organisation = await db.get(Organisation, session.organisation_id)
    technician_id = session.owner_id or session.queue_user_id
    technician = await db.get(User, technician_id) if technician_id else None
    helper = (
        Helper(
            name=technician.name[:500],
            title=(technician.title or "")[:500],
            company=(technician.company or "")[:500],
            verified_domain=(technician.verified_domain or "")[:500],
            picture=(
                technician.picture
                if technician.picture and len(technician.picture) <= 200_000
                else None
            ),
        )
        if technician
        else None
    )
    history = await session_chat.chat_history(db, session)
    return CustomerState(
        type="customer_state",
        status=session.status,  # type: ignore[arg-type]
        helper=helper,
        screen_state=session.screen_state,  # type: ignore[arg-type]
        screen_requested=session.screen_requested,  # type: ignore[arg-type]
        chat_enabled=organisation is None or not organisation.chat_disabled,
        chat=[chat_entry(session_chat.chat_line(m)) for m in history[-CHAT_LINES_SHOWN:]],
    )


async def answer(db: AsyncSession, session_id: int, message: ConsentAnswer) -> None:
    """Allow or deny the request the customer saw; a request answered meanwhile (on the portal
    page) or replaced by another is not answered again."""
    session = await _session(db, session_id)
    if session.screen_requested != message.mode:
        raise Conflict(
            "no_screen_request",
            "This request was already answered or replaced; the window shows the current one.",
        )
    await screen.answer(db, session, message.allow)


async def act(db: AsyncSession, session_id: int, message: CustomerAction) -> None:
    session = await _session(db, session_id)
    if message.action == "stop_sharing":
        await screen.customer_stops(db, session)
    elif message.action == "take_control_back":
        await screen.revoke_control(db, session)
    else:
        await support_sessions.end_by_customer(db, session)


async def chat(db: AsyncSession, session_id: int, text: str) -> None:
    await session_chat.chat_from_customer(db, await _session(db, session_id), text)
