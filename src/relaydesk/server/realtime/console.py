"""The console's WebSocket, /api/v1/console/ws: pushes queue changes, arrival notifications,
chat, session updates, system information and screen consent changes to the technicians
allowed to see them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import urlparse

from fastapi import WebSocket, WebSocketDisconnect

from relaydesk.protocol.events import (
    AdHocChanged,
    Arrival,
    BrokerEvent,
    ChatSwitch,
    ConsoleEvent,
    DeviceChanged,
    DeviceOnline,
    QueueChanged,
    QueueSnapshot,
    SessionChat,
    SessionOnline,
    SessionScreen,
    SessionSysinfo,
)
from relaydesk.server.api import presenters
from relaydesk.server.api.deps import SESSION_COOKIE, client_ip
from relaydesk.server.auth.rbac import PermissionSet
from relaydesk.server.db.models import User
from relaydesk.server.domain import device_scope, session_queues, signin, support_sessions
from relaydesk.server.domain.errors import DomainError
from relaydesk.server.domain.live_sockets import SIGNED_OUT, LiveSocket
from relaydesk.server.domain.notifications import FellBehind, org_topic
from relaydesk.server.domain.organisations import check_console_address_of
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.realtime import limits
from relaydesk.server.realtime.limits import close_fallen_behind
from relaydesk.server.runtime import Runtime

SESSION_EVENTS = (SessionChat, SessionOnline, SessionSysinfo, SessionScreen)


def same_origin(websocket: WebSocket) -> bool:
    """Browsers send Origin on WebSockets; a page of another site must not ride our cookie."""
    origin = websocket.headers.get("origin")
    return origin is None or urlparse(origin).netloc == websocket.headers.get("host")


async def _signed_in_user(
    runtime: Runtime, websocket: WebSocket, ip: str
) -> tuple[User, int] | None:
    """The user and browser sign-in of the cookie, when complete and allowed from here."""
    token = websocket.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with runtime.reading() as db:
        found = await signin.find_login(db, token)
        if found is None or found[0].stage != signin.Stage.COMPLETE:
            return None
        try:
            await check_console_address_of(db, found[1].organisation_id, ip)
        except DomainError:
            return None
        return found[1], found[0].id


class ConsoleFeed:
    def __init__(
        self, runtime: Runtime, websocket: WebSocket, user: User, after: str | None = None
    ) -> None:
        self.runtime = runtime
        self.websocket = websocket
        self.user = user
        # The rights as they are now: a change of rights ends the socket (live_sockets).
        self.permissions = PermissionSet.of(user)
        # Several nodes: the id of the last event the console got before it reconnected (it
        # sends it back as ?after=); the events it missed come first. `event_id` is the id of
        # the event being delivered, added to what it sends so the console can name it.
        self.after = after
        self.event_id: str | None = None

    async def send(self, event: ConsoleEvent) -> None:
        if self.event_id is None:
            await self.websocket.send_text(event.model_dump_json())
            return
        frame = event.model_dump(mode="json")
        frame["event_id"] = self.event_id
        await self.websocket.send_text(json.dumps(frame))

    async def send_queue(self) -> None:
        async with self.runtime.reading() as db:
            queue = await presenters.queue(db, self.user)
        await self.send(QueueSnapshot(queue=queue.model_dump(mode="json")))

    async def reaches_own_ad_hoc_device(self, device_group_id: int | None, device_id: int) -> bool:
        """A device without a group: whether it is one of his open ad hoc sessions' devices, as
        the database says now (domain/device_scope.py)."""
        if device_group_id is not None or self.permissions.reaches(None):
            return False
        async with self.runtime.reading() as db:
            permissions = await device_scope.permissions_of(db, self.user)
        return permissions.reaches(None, device_id)

    async def deliver(self, event: BrokerEvent) -> None:
        if isinstance(event, QueueChanged):
            await self.send_queue()
            if event.change == "arrived":
                async with self.runtime.reading() as db:
                    arrival = await session_queues.arrival_for(db, self.user, event.session_id)
                if arrival is not None:
                    session = presenters.session_out(arrival).model_dump(mode="json")
                    await self.send(Arrival(session=session))
        elif isinstance(event, ChatSwitch):
            await self.send(event)
        elif isinstance(event, DeviceOnline | DeviceChanged):
            # Only to technicians whose scope reaches the device (GOV-3), or reached it before
            # a move: they learn that it left their list.
            before = event.previous_group_id if isinstance(event, DeviceChanged) else None
            if (
                self.permissions.reaches(event.device_group_id)
                or (
                    isinstance(event, DeviceChanged)
                    and event.change == "moved"
                    and self.permissions.reaches(before)
                )
                or await self.reaches_own_ad_hoc_device(event.device_group_id, event.device_id)
            ):
                await self.send(event)
        elif isinstance(event, AdHocChanged):
            # An ad hoc session's progress: to its technician, and to administrators (who see
            # every ad hoc session of the organisation, domain/ad_hoc_sessions.py).
            if event.technician_id == self.user.id or self.permissions.has(Permission.ADMINISTER):
                await self.send(event)
        elif isinstance(event, SESSION_EVENTS):
            async with self.runtime.reading() as db:
                visible = await support_sessions.user_can_see(db, self.user, event.session_id)
            if visible:
                await self.send(event)

    async def run(self) -> None:
        try:
            topic = org_topic(self.user.organisation_id)
            async with self.runtime.broker.subscribe_from(topic, self.after) as events:
                await self.send_queue()
                async for event_id, event in events:
                    self.event_id = event_id
                    await self.deliver(event)
        except FellBehind:
            await close_fallen_behind(self.websocket)


async def _until_closed(websocket: WebSocket) -> None:
    """The console and the portal page send nothing: whatever comes (text or binary, within
    limits.SILENT_PEER_BYTES) is ignored until the socket closes."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass


async def console_endpoint(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    ip = client_ip(websocket)
    if not same_origin(websocket):
        await websocket.close(code=4403, reason="cross-origin")
        return
    signed_in = await _signed_in_user(runtime, websocket, ip)
    if signed_in is None:
        await websocket.close(code=SIGNED_OUT, reason="sign in first")
        return
    user, login_id = signed_in
    ended: list[tuple[int, str]] = []
    running: list[asyncio.Task[None]] = []

    async def end(code: int, reason: str) -> None:
        """Signed out, credentials or rights changed: not one more event, then the close."""
        ended.append((code, reason))
        for task in running:
            task.cancel()

    with runtime.live_sockets.connected(LiveSocket(user.id, login_id, "console"), end):
        # Looked up again now that no ending can pass unseen: the sign-in may have ended, or the
        # user's rights changed, while the first look-up ran.
        again = await _signed_in_user(runtime, websocket, ip)
        if again is None or again[1] != login_id or ended:
            await websocket.close(code=SIGNED_OUT, reason="sign in first")
            return
        user = again[0]
        limits.limit_message_size(websocket, limits.SILENT_PEER_BYTES)
        await websocket.accept()
        runtime.presence.arrive(user.id)
        after = websocket.query_params.get("after")  # an event id, not a secret
        feed = ConsoleFeed(runtime, websocket, user, after)
        running.append(asyncio.create_task(feed.run()))
        running.append(asyncio.create_task(_until_closed(websocket)))
        try:
            if not ended:
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in running:
                task.cancel()
            runtime.presence.leave(user.id)
        if ended:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close(*ended[0])
