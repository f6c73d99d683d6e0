"""The agent's end of tunnels: when the server says so, open /relay/{id} (the token offered as
a subprotocol, never in the URL) and serve one tool on it. Which tools this agent can serve is a
table of handlers; the connection code only moves bytes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from relaydesk.agent.server_tls import ServerTls, TlsMismatch
from relaydesk.protocol import bearer, control
from relaydesk.protocol.messages import FileGrant, FileReport


class ByteStream(Protocol):
    async def read(self) -> bytes: ...

    async def write(self, data: bytes) -> None: ...


class MessageStream(Protocol):
    """A tunnel as whole messages: an empty message is a message, None is the end."""

    async def receive(self) -> bytes | None: ...

    async def write(self, data: bytes) -> None: ...


class WebSocketStream:
    """A tunnel's WebSocket seen as a byte stream (b"" at the end)."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        # The control link was lost: the tool's last words (a shell's exit) are not sent, so
        # that the console takes the tunnel for lost and opens a new one (TunnelManager).
        self.silenced = False

    async def read(self) -> bytes:
        try:
            message = await self.websocket.recv()
        except ConnectionClosed:
            return b""
        return message if isinstance(message, bytes) else message.encode()

    async def receive(self) -> bytes | None:
        try:
            message = await self.websocket.recv()
        except ConnectionClosed:
            return None
        return message if isinstance(message, bytes) else message.encode()

    async def write(self, data: bytes) -> None:
        if self.silenced:
            raise ConnectionAbortedError("the control link was lost")
        await self.websocket.send(data)


@dataclass
class InputSwitch:
    """Whether remote input may reach the device; tools that take input consult it."""

    allowed: bool = False
    listeners: list[Callable[[bool], None]] = field(default_factory=list)

    def set(self, allowed: bool) -> None:
        self.allowed = allowed
        for listener in self.listeners:
            listener(allowed)


Handler = Callable[[ByteStream, InputSwitch], Awaitable[None]]
Status = Callable[[str], None]
# The files tool also gets the technician's rights and a way to report completed transfers.
FilesHandler = Callable[
    [MessageStream, FileGrant, str, Callable[[FileReport], None]], Awaitable[None]
]


class TunnelManager:
    def __init__(
        self,
        control_url: str,
        tls: ServerTls,
        handlers: dict[str, Handler],
        status: Status,
        files_handler: FilesHandler | None = None,
    ) -> None:
        self.base = control_url.removesuffix("/agent/ws")
        self.tls = tls  # the control channel's: a pinned certificate is checked before the token
        self.handlers = handlers
        self.status = status
        self.input = InputSwitch()
        self.files_handler = files_handler
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._streams: dict[str, WebSocketStream] = {}
        # Transfer reports wait here until the control channel has sent them (it may be down).
        self.reports: list[FileReport] = []
        self.reports_waiting = asyncio.Event()

    def report(self, report: FileReport) -> None:
        self.reports.append(report)
        self.reports_waiting.set()

    def take_reports(self) -> list[FileReport]:
        taken, self.reports = self.reports, []
        self.reports_waiting.clear()
        return taken

    def put_back(self, reports: list[FileReport]) -> None:
        self.reports[:0] = reports
        if self.reports:
            self.reports_waiting.set()

    def open(self, request: control.TunnelRequested) -> None:
        self.input.set(request.input_allowed)
        task = asyncio.create_task(self._serve(request))
        self._tasks[request.tunnel_id] = task
        task.add_done_callback(lambda _: self._ended(request.tunnel_id))

    def _ended(self, tunnel_id: str) -> None:
        self._tasks.pop(tunnel_id, None)
        self._streams.pop(tunnel_id, None)

    def close(self, tunnel_id: str) -> None:
        task = self._tasks.get(tunnel_id)
        if task is not None:
            task.cancel()

    def close_all(self, *, link_lost: bool = False) -> None:
        """Close every tool. `link_lost`: the control link is gone, the session is not over; the
        tools close without a last word (no shell exit), so that the console takes each tunnel
        for a lost connection and asks for a new one, which reaches the agent once it is back
        (a new shell: the old one's process group is hung up here)."""
        if link_lost:
            for stream in self._streams.values():
                stream.silenced = True
        for task in list(self._tasks.values()):
            task.cancel()

    async def _serve(self, request: control.TunnelRequested) -> None:
        try:
            await self._serve_tool(request)
        except TlsMismatch as mismatch:
            self.status(f"Tool not opened: {request.kind}. {mismatch}")

    async def _serve_tool(self, request: control.TunnelRequested) -> None:
        url = f"{self.base}/relay/{quote(request.tunnel_id)}"
        handler = self.handlers.get(request.kind)
        files = self.files_handler if request.kind == "files" and request.files else None
        with contextlib.suppress(OSError, ConnectionClosed, asyncio.CancelledError):
            async with self.tls.open(
                url,
                subprotocols=[Subprotocol(p) for p in bearer.offered(request.token)],
                compression=None,
                max_size=None,
                open_timeout=10,
                # Files move in 512 KiB frames: a short queue keeps the agent's memory small.
                max_queue=4 if request.kind == "files" else 16,
            ) as websocket:
                stream = self._streams[request.tunnel_id] = WebSocketStream(websocket)
                if files is not None and request.files is not None:
                    self.status(f"Tool opened: files (for {request.files.technician}).")
                    await files(stream, request.files, request.tunnel_id, self.report)
                    return
                if handler is None:
                    self.status(
                        f"The technician asked for '{request.kind}', which this agent cannot serve."
                    )
                    await websocket.close(4400, f"this agent cannot serve {request.kind}")
                    return
                self.status(f"Tool opened: {request.kind}.")
                await handler(stream, self.input)
        self.status(f"Tool closed: {request.kind}.")
