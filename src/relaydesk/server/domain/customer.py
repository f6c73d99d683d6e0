"""What the customer's portal page may see and do for its one session, authorised by the secret
the portal was given (never by a session id)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import ChatMessage, Organisation, SessionKey, SupportSession, User
from relaydesk.server.domain import jump_client_install
from relaydesk.server.domain.errors import Conflict, NotFound
from relaydesk.server.domain.portal import Technician
from relaydesk.server.domain.session_chat import chat_history
from relaydesk.server.domain.support_sessions import by_customer_secret


@dataclass(frozen=True)
class CustomerView:
    status: str
    technician: Technician | None
    chat: list[ChatMessage]
    chat_enabled: bool
    session_id: int | None
    screen_state: str = "off"
    screen_requested: str = ""
    # A Jump client installation waiting for the customer's answer: its id, who asks.
    jump_client_request_id: int | None = None
    jump_client_technician: str = ""


async def _found(db: AsyncSession, secret: str) -> SupportSession | SessionKey:
    found = await by_customer_secret(db, secret)
    if found is None:
        raise NotFound(
            "customer_session_unknown",
            "This support page is no longer valid; enter your session key again.",
        )
    return found


async def require_customer_session(db: AsyncSession, secret: str) -> SupportSession:
    found = await _found(db, secret)
    if isinstance(found, SessionKey):
        raise Conflict(
            "agent_not_connected",
            "The support client has not connected yet; start it with the command shown.",
        )
    return found


async def customer_view(db: AsyncSession, secret: str) -> CustomerView:
    found = await _found(db, secret)
    organisation = await db.get(Organisation, found.organisation_id)
    assert organisation is not None
    if isinstance(found, SessionKey):
        technician_id = found.created_by_id or found.queue_user_id
        status, chat, session_id = "waiting_for_agent", [], None
    else:
        technician_id = found.owner_id or found.queue_user_id
        status, chat, session_id = found.status, await chat_history(db, found), found.id
    technician = await db.get(User, technician_id) if technician_id else None
    screen = (
        (found.screen_state, found.screen_requested)
        if isinstance(found, SupportSession)
        else ("off", "")
    )
    question = (
        await jump_client_install.question(db, found.id)
        if isinstance(found, SupportSession)
        else None
    )
    return CustomerView(
        jump_client_request_id=question[0] if question else None,
        jump_client_technician=question[1] if question else "",
        screen_state=screen[0],
        screen_requested=screen[1],
        status=status,
        technician=Technician.of(technician) if technician else None,
        chat=chat,
        chat_enabled=not organisation.chat_disabled,
        session_id=session_id,
    )
