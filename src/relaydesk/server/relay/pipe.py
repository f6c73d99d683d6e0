"""The relay: the console's and the agent's WebSockets of one tunnel meet here and their
messages are copied across as they come. One message is in flight per direction: a slow reader
slows its writer (backpressure) instead of filling memory. Either side closing closes the other;
the end of the session or of the screen share closes both (relay/watch.py).

On the lean path (relay/transport.py, no recording) the two sockets are spliced and both ASGI
calls return: the hub keeps the tunnel (`_hold`) until the splice is done, with the console
side's live-socket registration, and then closes both ends and forgets the tunnel."""

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

from relaydesk.server.domain.notifications import Broker
from relaydesk.server.domain.tunnels import TOKEN_LIFETIME_SECONDS, Side, Tunnel, TunnelRegistry
from relaydesk.server.metrics import RelayFigures
from relaydesk.server.relay.heap import give_back_freed_memory, hold_message_buffers
from relaydesk.server.relay.recording import ShellRecording
from relaydesk.server.relay.transport import Splice, splice
from relaydesk.server.relay.watch import SessionWatch

log = logging.getLogger(__name__)

OnRecorded = Callable[[ShellRecording], Awaitable[None]]


# While the first side waits for the second it is still read, so that its going away (or the
# server shutting down) is seen at once; what it sends meanwhile waits here, up to this much.
EARLY_BYTES_LIMIT = 1 << 20


@dataclass
class _Meeting:
    first: WebSocket
    first_side: Side
    # What the first side holds while its tunnel is open (the console's live-socket registration):
    # taken over by the hub when the ASGI calls return before the tunnel ends.
    first_holds: contextlib.ExitStack | None
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
        self.watch = SessionWatch(broker)

    async def join(
        self,
        tunnel: Tunnel,
        side: Side,
        websocket: WebSocket,
        holds: contextlib.ExitStack | None = None,
    ) -> None:
        """Returns when the tunnel is over for this side, or once it is spliced: then the hub
        keeps the tunnel, and what `holds` holds, until it ends (`holds` is left empty)."""
        meeting = self._meetings.get(tunnel.id)
        if meeting is None:
            meeting = _Meeting(websocket, side, holds)
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
        held = False
        try:
            spliced = await self._splice(tunnel, meeting.first, websocket, meeting.early)
            if spliced is not None:
                self._hold(tunnel, spliced, [meeting.first_holds, holds])
                held = True
            else:
                await self._pipe(
                    tunnel, meeting.first_side, meeting.first, side, websocket, meeting.early
                )
        finally:
            meeting.done.set()
            self._meetings.pop(tunnel.id, None)
            if not held:
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

    async def _splice(
        self, tunnel: Tunnel, a: WebSocket, b: WebSocket, early: list[Message]
    ) -> Splice | None:
        """The lean path (relay/transport.py), where the tunnel is not recorded: what the first
        side sent while it waited goes first, then frames cross without passing through here.
        None where the messages must be copied here (`_pipe`)."""
        if tunnel.record:
            return None
        spliced = None
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while early:
                await _forward(early[0], b, self.figures)
                early.pop(0)
            spliced = await splice(a, b, self.figures.relayed)
        return spliced

    def _hold(
        self, tunnel: Tunnel, spliced: Splice, holds: list[contextlib.ExitStack | None]
    ) -> None:
        """Keeps a spliced tunnel after its ASGI calls return, until either end goes or the
        watch ends it; then closes both ends and forgets it."""
        kept = contextlib.ExitStack()
        for hold in holds:
            if hold is not None:
                kept.enter_context(hold.pop_all())
        self.figures.tunnels_open += 1
        self.figures.tunnels_opened += 1
        self.figures.spliced += 1
        self.watch.add(tunnel, lambda: spliced.close(1000, "tunnel closed"))

        def over(_: asyncio.Future[None]) -> None:
            self.watch.discard(tunnel)
            spliced.close(1000, "tunnel closed")
            self.figures.tunnels_open -= 1
            self.registry.remove(tunnel.id)
            kept.close()
            give_back_freed_memory()

        spliced.done.add_done_callback(over)

    async def _pipe(
        self,
        tunnel: Tunnel,
        side_a: Side,
        a: WebSocket,
        side_b: Side,
        b: WebSocket,
        early: list[Message],
    ) -> None:
        """Copies messages both ways (recorded tunnels, sockets off the lean path)."""
        recording = (
            ShellRecording(tunnel, self.recordings_dir / str(tunnel.session_id))
            if tunnel.record
            else None
        )
        self.figures.tunnels_open += 1
        self.figures.tunnels_opened += 1
        ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.watch.add(tunnel, lambda: _settle(ended))
        tasks: list[asyncio.Future[Any]] = [
            ended,
            asyncio.create_task(self._copy(recording, side_a, a, b, early)),
            asyncio.create_task(self._copy(recording, side_b, b, a)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.watch.discard(tunnel)
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


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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
