"""The customer portal page's WebSocket, /api/v1/portal/ws: the state and chat of the one
session whose secret the page presents as a subprotocol (never in the URL, which logs keep)."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import WebSocket, WebSocketDisconnect

from relaydesk.protocol.events import (
    ChatLine,
    CustomerChat,
    CustomerScreen,
    PortalError,
    PortalEvent,
    PortalSnapshot,
    SessionState,
    ToolOpened,
)
from relaydesk.protocol.states import SessionStatus
from relaydesk.server.api import presenters
from relaydesk.server.domain.customer import CustomerView, customer_view
from relaydesk.server.domain.errors import DomainError
from relaydesk.server.domain.notifications import FellBehind, session_topic
from relaydesk.server.realtime import bearer
from relaydesk.server.realtime.console import _until_closed, same_origin
from relaydesk.server.realtime.limits import (
    SILENT_PEER_BYTES,
    close_fallen_behind,
    limit_message_size,
)
from relaydesk.server.runtime import Runtime

AGENT_WAIT_POLL_SECONDS = 1.0


def _snapshot(view: CustomerView) -> PortalSnapshot:
    return PortalSnapshot(
        status=(
            "waiting_for_agent"
            if view.status == "waiting_for_agent"
            else SessionStatus(view.status)
        ),
        technician=(
            presenters.technician_out(view.technician).model_dump(mode="json")  # type: ignore[union-attr]
            if view.technician
            else None
        ),
        chat=[ChatLine.model_validate(m, from_attributes=True) for m in view.chat],
        chat_enabled=view.chat_enabled,
        jump_client_request_id=view.jump_client_request_id,
        jump_client_technician=view.jump_client_technician,
    )


async def _send(websocket: WebSocket, event: PortalEvent) -> None:
    await websocket.send_text(event.model_dump_json())


async def _follow(runtime: Runtime, websocket: WebSocket, token: str) -> None:
    try:
        await _follow_session(runtime, websocket, token)
    except FellBehind:
        await close_fallen_behind(websocket)


async def _follow_session(runtime: Runtime, websocket: WebSocket, token: str) -> None:
    last_status = None
    while True:
        async with runtime.reading() as db:
            view = await customer_view(db, token)
        if view.session_id is None:
            if view.status != last_status:
                await _send(websocket, _snapshot(view))
                last_status = view.status
            await asyncio.sleep(AGENT_WAIT_POLL_SECONDS)
            continue
        async with runtime.broker.subscribe(session_topic(view.session_id)) as events:
            async with runtime.reading() as db:
                view = await customer_view(db, token)
            await _send(websocket, _snapshot(view))
            async for event in events:
                if isinstance(event, SessionState):
                    async with runtime.reading() as db:
                        view = await customer_view(db, token)
                    await _send(websocket, _snapshot(view))
                elif isinstance(event, CustomerChat | CustomerScreen | ToolOpened):
                    await _send(websocket, event)


async def portal_endpoint(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    if not same_origin(websocket):
        await websocket.close(code=4403, reason="cross-origin")
        return
    token = await bearer.presented_secret(websocket)
    if token is None:
        return
    limit_message_size(websocket, SILENT_PEER_BYTES)
    await bearer.accept(websocket)
    follow = asyncio.create_task(_follow(runtime, websocket, token))
    closed = asyncio.create_task(_until_closed(websocket))
    try:
        done, _ = await asyncio.wait({follow, closed}, return_when=asyncio.FIRST_COMPLETED)
        if follow in done and isinstance(follow.exception(), DomainError):
            error = follow.exception()
            assert isinstance(error, DomainError)
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await _send(websocket, PortalError(code=error.code, detail=error.message))
                await websocket.close(code=4404)
    finally:
        follow.cancel()
        closed.cancel()
