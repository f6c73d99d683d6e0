"""The relay: the console's and the agent's WebSockets of one tunnel meet here and their
messages are copied across as they come. One message is in flight per direction: a slow reader
slows its writer (backpressure) instead of filling memory. Either side closing closes the other;
the end of the session or of the screen share closes both."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from relaydesk.protocol.events import BrokerEvent, CustomerScreen, SessionState
from relaydesk.server.domain.notifications import Broker, session_topic
from relaydesk.server.domain.tunnels import TOKEN_LIFETIME_SECONDS, Side, Tunnel, TunnelRegistry
from relaydesk.server.metrics import RelayFigures
from relaydesk.server.relay.heap import give_back_freed_memory, hold_message_buffers
from relaydesk.server.relay.recording import ShellRecording
from relaydesk.server.relay.transport import splice

log = logging.getLogger(__name__)

OnRecorded = Callable[[ShellRecording], Awaitable[None]]


# While the first side waits for the second it is still read, so that its going away (or the
# server shutting down) is seen at once; what it sends meanwhile waits here, up to this much.
EARLY_BYTES_LIMIT = 1 << 20


@dataclass
class _Meeting:
    first: WebSocket
    first_side: Side
    second_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # Set once the first side's waiting reader has stopped: the pipe may read it from then on.
    handed_over: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    early: list[Message] = field(default_factory=list)


class RelayHub:
    def __init__(
        self,
        registry: TunnelRegistry,
        broker: Broker,
        recordings_dir: Path,
        on_recorded: OnRecorded | None = None,
    ) -> None:
        self.registry = registry
        self.broker = broker
        self.recordings_dir = recordings_dir
        self.on_recorded = on_recorded
        self._meetings: dict[str, _Meeting] = {}
        self.figures = RelayFigures()

    async def join(self, tunnel: Tunnel, side: Side, websocket: WebSocket) -> None:
        """Returns when the tunnel is over for this side."""
        meeting = self._meetings.get(tunnel.id)
        if meeting is None:
            meeting = _Meeting(websocket, side)
            self._meetings[tunnel.id] = meeting
            outcome = await self._wait_for_second(meeting)
            if outcome != "arrived":
                self._meetings.pop(tunnel.id, None)
                self.registry.remove(tunnel.id)
                if outcome == "timeout":
                    await _close(websocket, 4408, "the other side of the tunnel never came")
                return
            await meeting.done.wait()
            return
        meeting.second_arrived.set()
        await meeting.handed_over.wait()
        hold_message_buffers()
        try:
            await self._pipe(
                tunnel, meeting.first_side, meeting.first, side, websocket, meeting.early
            )
        finally:
            meeting.done.set()
            self._meetings.pop(tunnel.id, None)
            self.registry.remove(tunnel.id)
            give_back_freed_memory()  # what the tunnel's messages left free in the heap

    async def _wait_for_second(self, meeting: _Meeting) -> str:
        """Waits for the other side while reading this one: "arrived", "left" or "timeout"."""
        arrived = asyncio.create_task(meeting.second_arrived.wait())
        reading: asyncio.Task[Message] | None = None
        early_bytes = 0
        deadline = asyncio.get_running_loop().time() + TOKEN_LIFETIME_SECONDS + 5
        try:
            while True:
                if reading is None and early_bytes < EARLY_BYTES_LIMIT:
                    reading = asyncio.create_task(meeting.first.receive())
                waiting: set[asyncio.Task[Any]] = (
                    {arrived} if reading is None else {arrived, reading}
                )
                left = deadline - asyncio.get_running_loop().time()
                await asyncio.wait(
                    waiting, timeout=max(left, 0), return_when=asyncio.FIRST_COMPLETED
                )
                if reading is not None and reading.done():
                    message = reading.result() if not reading.exception() else None
                    reading = None
                    if message is None or message["type"] == "websocket.disconnect":
                        return "left"
                    meeting.early.append(message)
                    early_bytes += len(message.get("bytes") or message.get("text") or "")
                    continue
                if arrived.done():
                    return "arrived"
                if left <= 0:
                    return "timeout"
        finally:
            arrived.cancel()
            if reading is not None:
                reading.cancel()  # a pending read gives nothing up when cancelled
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    message = await reading
                    if message["type"] != "websocket.disconnect":
                        meeting.early.append(message)
            meeting.handed_over.set()

    async def _pipe(
        self,
        tunnel: Tunnel,
        side_a: Side,
        a: WebSocket,
        side_b: Side,
        b: WebSocket,
        early: list[Message],
    ) -> None:
        recording = (
            ShellRecording(tunnel, self.recordings_dir / str(tunnel.session_id))
            if tunnel.record
            else None
        )
        self.figures.tunnels_open += 1
        self.figures.tunnels_opened += 1
        tasks: list[asyncio.Future[Any]] = [asyncio.create_task(self._watch(tunnel))]
        try:
            spliced = None
            if recording is None:
                # The lean path (relay/transport.py): what the first side sent while it waited
                # goes first, then frames cross without passing through here.
                with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                    for message in early:
                        await _forward(message, b, self.figures)
                    early = []
                    spliced = await splice(a, b, self.figures.relayed)
            if spliced is not None:
                self.figures.spliced += 1
                tasks.append(spliced)
            else:
                tasks.append(asyncio.create_task(self._copy(recording, side_a, a, b, early)))
                tasks.append(asyncio.create_task(self._copy(recording, side_b, b, a)))
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.figures.tunnels_open -= 1
            for task in tasks:
                task.cancel()
            await _close(a, 1000, "tunnel closed")
            await _close(b, 1000, "tunnel closed")
            if recording is not None:
                await asyncio.to_thread(recording.save)
                if self.on_recorded is not None:
                    await self.on_recorded(recording)

    async def _copy(
        self,
        recording: ShellRecording | None,
        side: Side,
        source: WebSocket,
        target: WebSocket,
        early: list[Message] | None = None,
    ) -> None:
        pending = list(early or [])
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                message = pending.pop(0) if pending else await source.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data: bytes | str | None = message.get("bytes")
                if data is None:
                    data = message.get("text")
                del message  # files move in 512 KiB messages: hold none longer than needed
                if data is None:
                    continue
                if recording is not None:
                    recording.on_message(side, data)
                self.figures.bytes_relayed += len(data)
                if isinstance(data, bytes):
                    await target.send_bytes(data)
                else:
                    await target.send_text(data)
                del data  # not kept while the next message is awaited

    async def _watch(self, tunnel: Tunnel) -> None:
        """Ends the pipe when the session ends or (for the screen) sharing stops."""
        async with self.broker.subscribe(session_topic(tunnel.session_id)) as events:
            async for event in events:
                if _ends(tunnel, event):
                    return


def _ends(tunnel: Tunnel, event: BrokerEvent) -> bool:
    if isinstance(event, SessionState) and event.status in ("ended", "held"):
        return True
    return tunnel.kind == "screen" and isinstance(event, CustomerScreen) and event.state == "off"


async def _forward(message: Message, target: WebSocket, figures: RelayFigures) -> None:
    data: bytes | str | None = message.get("bytes")
    if data is None:
        data = message.get("text")
    if data is None:
        return
    figures.bytes_relayed += len(data)
    if isinstance(data, bytes):
        await target.send_bytes(data)
    else:
        await target.send_text(data)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=code, reason=reason)
