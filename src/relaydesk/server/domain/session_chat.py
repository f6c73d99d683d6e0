"""Chat in a support session between its technician and the customer (ATT-9): who may write,
what a message may hold, and where it is announced."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.events import ChatLine, CustomerChat, SessionChat
from relaydesk.protocol.states import SessionStatus
from relaydesk.server.db.models import ChatMessage, Organisation, SupportSession, utcnow
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.errors import Conflict, Forbidden, Invalid
from relaydesk.server.domain.notifications import announce, org_topic, session_topic
from relaydesk.server.domain.support_sessions import get_visible, record_event

MAX_CHAT_LENGTH = 4000


async def _chat_allowed(db: AsyncSession, session: SupportSession) -> None:
    organisation = await db.get(Organisation, session.organisation_id)
    if organisation is not None and organisation.chat_disabled:
        raise Forbidden("chat_disabled", "Chat is turned off for this organisation.")
    if session.status == SessionStatus.ENDED:
        raise Conflict("session_ended", "This session has ended; chat is closed.")


def _clean_text(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise Invalid("empty_message", "Type a message first.", field="text")
    if len(cleaned) > MAX_CHAT_LENGTH:
        raise Invalid(
            "message_too_long",
            f"Messages may have at most {MAX_CHAT_LENGTH} characters.",
            field="text",
        )
    return cleaned


def chat_line(message: ChatMessage) -> ChatLine:
    return ChatLine.model_validate(message, from_attributes=True)


async def _post(db: AsyncSession, session: SupportSession, message: ChatMessage) -> ChatMessage:
    db.add(message)
    await db.flush()
    record_event(db, session, "chat", message.sender_name, sender=message.sender)
    line = chat_line(message).model_dump()
    announce(db, org_topic(session.organisation_id), SessionChat(**line))
    announce(db, session_topic(session.id), CustomerChat(**line))
    return message


async def chat_from_technician(
    db: AsyncSession, actor: Actor, session_id: int, text: str
) -> ChatMessage:
    session = await get_visible(db, actor, session_id)
    await _chat_allowed(db, session)
    if session.owner_id != actor.user.id:
        raise Forbidden("not_session_owner", "Accept the session before chatting in it.")
    return await _post(
        db,
        session,
        ChatMessage(
            session_id=session.id,
            sender="technician",
            sender_user_id=actor.user.id,
            sender_name=actor.user.name,
            text=_clean_text(text),
            at=utcnow(),
        ),
    )


async def chat_from_customer(db: AsyncSession, session: SupportSession, text: str) -> ChatMessage:
    await _chat_allowed(db, session)
    return await _post(
        db,
        session,
        ChatMessage(
            session_id=session.id,
            sender="customer",
            sender_name=session.customer_name or "Customer",
            text=_clean_text(text),
            at=utcnow(),
        ),
    )


async def chat_history(db: AsyncSession, session: SupportSession) -> list[ChatMessage]:
    rows = await db.execute(
        select(ChatMessage).where(ChatMessage.session_id == session.id).order_by(ChatMessage.id)
    )
    return list(rows.scalars())
