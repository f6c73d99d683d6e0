"""The WebSocket protocol `relaydesk serve` runs under uvicorn: uvicorn's websockets-sansio
protocol for every socket, with a leaner path for the relay (/relay/{tunnel}).

On /relay:
- permessage-deflate is never negotiated (tunnels carry JPEG, zlib, H.264 and file chunks that
  do not compress; with it the relay spent several times the CPU per stream). The console's
  other sockets (events, portal, agents' control channel) keep it: small JSON, few messages.
- once the upgrade is answered, frames are read by a small parser of this module instead of the
  websockets library's generator-based one: a header is read with `struct`, the payload unmasked
  in C (`websockets.speedups.apply_mask`). Until both ends of a tunnel are there, messages go to
  the ASGI application as before (the relay reads what the first end sends while it waits).
- once both ends are there (`splice`), each data frame is written straight to the other end's
  transport with a server frame header, in the same call that read it: no ASGI message, no
  asyncio queue, no task switch per message. Fragmented messages pass frame by frame.
- backpressure: when the other end's transport holds more than WRITE_BUFFER_HIGH bytes unsent,
  this end stops reading its socket until it drains below WRITE_BUFFER_LOW (so a slow reader
  slows its writer through TCP, and a tunnel holds at most one read chunk plus the high mark).
- once spliced, the two ASGI calls return (relay/pipe.py): a tunnel then holds its two protocol
  objects and their transports, not two chains of coroutines, middleware frames and requests
  (an idle tunnel's memory). uvicorn closes a socket whose application returned; a spliced one
  stays open until the `Splice` closes it (`Splice.close`: close frames, then the transports
  close when the clients answer or after close_timeout).

The bearer check, the live-socket registry, the session watch and the tunnel's end stay in the
ASGI application and in relay/pipe.py."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from starlette.websockets import WebSocket
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.speedups import apply_mask

RELAY_PREFIX = "/relay/"
WRITE_BUFFER_HIGH = 256 * 1024
WRITE_BUFFER_LOW = 64 * 1024

_CONT, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_PROTOCOL_ERROR, _TOO_BIG, _NO_STATUS = 1002, 1009, 1005
_SHORT = struct.Struct("!H")
_LONG = struct.Struct("!Q")


class _Spent(asyncio.Queue[Any]):
    """The message queue of a spliced socket whose application returned: nobody reads it."""

    def put_nowait(self, item: Any) -> None:
        pass


_SPENT = _Spent()


def frame_header(fin: bool, opcode: int, length: int) -> bytes:
    """A server's (unmasked) frame header."""
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        return bytes((first, length))
    if length < 1 << 16:
        return bytes((first, 126)) + _SHORT.pack(length)
    return bytes((first, 127)) + _LONG.pack(length)


class RelayDeskWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol; see the module's docstring for /relay."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_relay = False
        self.lean = False  # this module parses the frames (after the upgrade, on /relay)
        self.peer: RelayDeskWebSocketProtocol | None = None  # spliced to
        self.spliced_done: asyncio.Future[None] | None = None
        self.on_relayed: Callable[[int], None] | None = None
        # The start of a frame not yet whole, and how long that frame is (0: header unknown).
        self._pending = bytearray()
        self._needed = 0
        self._fragments: list[bytes] = []
        self._fragment_opcode = _BINARY
        self._paused_for_peer = False

    # -- handshake ---------------------------------------------------------------------------

    def handle_connect(self, event: Request) -> None:
        self.is_relay = event.path.startswith(RELAY_PREFIX)
        if self.is_relay:
            self.conn.available_extensions = []  # never permessage-deflate on tunnels
        super().handle_connect(event)

    async def send(self, message: Any) -> None:
        accepting = not self.handshake_complete and message["type"] == "websocket.accept"
        await super().send(message)
        if self.lean and message["type"] == "websocket.close" and self._paused_for_peer:
            # Read again, whatever the other end's state: the client's answer ends the socket.
            self._paused_for_peer = False
            if not self.disconnected:
                self.transport.resume_reading()
        if accepting and self.is_relay and self.handshake_complete and not self.disconnected:
            # The client sends nothing before it has the answer, so nothing has been parsed
            # past the request: from here on this module reads the frames.
            self.lean = True
            self.transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH, low=WRITE_BUFFER_LOW)

    async def run_asgi(self) -> None:
        """uvicorn's, except that a spliced socket outlives its application (the Splice closes
        it): uvicorn closes the transport as soon as the application returns."""
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self.send_500_response()
        else:
            if not self.handshake_complete:
                self.logger.error("ASGI callable returned without completing handshake.")
                self.send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self.peer is not None:
            self._shed()
        elif self.close_timer is None:
            self.transport.close()

    def _shed(self) -> None:
        """Drops what only the application needed, once it has returned from a spliced socket:
        the scope (its headers, FastAPI's exit stacks), the upgrade's request and response, the
        message queue. An idle tunnel's memory is mostly these."""
        cast(dict[str, Any], self.scope).clear()
        del self.request, self.response
        self.queue = _SPENT

    def close_spliced(self, code: int, reason: str) -> None:
        """Sends a close frame; the transport closes at the client's answer (or after
        close_timeout). For a spliced socket, whose application has returned."""
        if self.close_sent or self.disconnected:
            return
        body = _SHORT.pack(code) + reason.encode()
        self.transport.write(frame_header(True, _CLOSE, len(body)) + body)
        self.close_sent = True
        if self._paused_for_peer or self.read_paused:  # the answer must be read
            self._paused_for_peer = self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)

    # -- reading -----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if not self.lean:
            super().data_received(data)
            return
        buffer: bytes | bytearray = data
        if self._pending:  # large frames come in many reads: gather them, parse once whole
            self._pending += data
            if len(self._pending) < self._needed:
                return
            buffer, self._pending = self._pending, bytearray()
        position = self._frames(buffer)
        if position < len(buffer):
            self._pending = bytearray(memoryview(buffer)[position:])

    def _frames(self, data: bytes | bytearray) -> int:
        """Handles every whole frame in data; returns where the first incomplete one starts."""
        self._needed = 0
        view = memoryview(data)
        size = len(data)
        position = 0
        limit = self.config.ws_max_size
        while size - position >= 2:
            first, second = data[position], data[position + 1]
            length = second & 0x7F
            header = 2
            if length == 126:
                if size - position < 4:
                    break
                length = _SHORT.unpack_from(data, position + 2)[0]
                header = 4
            elif length == 127:
                if size - position < 10:
                    break
                length = _LONG.unpack_from(data, position + 2)[0]
                header = 10
            if first & 0x70 or not second & 0x80:
                self._fail(_PROTOCOL_ERROR, "reserved bits set or frame not masked")
                return size
            if length > limit:
                self._fail(_TOO_BIG, f"frame over {limit} bytes")
                return size
            end = position + header + 4 + length
            if end > size:
                self._needed = end - position
                break
            mask = data[position + header : position + header + 4]
            payload = apply_mask(view[position + header + 4 : end], mask)
            position = end
            opcode = first & 0x0F
            fin = bool(first & 0x80)
            if opcode in (_CONT, _TEXT, _BINARY):
                if not self.close_sent:  # after our close, only its answer matters
                    self._data_frame(fin, opcode, payload)
            elif opcode == _PING:
                self.transport.write(frame_header(True, _PONG, len(payload)) + payload)
            elif opcode == _PONG:
                self.handle_pong(Frame(Opcode.PONG, payload))
            elif opcode == _CLOSE:
                self._closed_by_client(payload)
                return size
            else:
                self._fail(_PROTOCOL_ERROR, "unknown opcode")
                return size
        return position

    def _data_frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        peer = self.peer
        if peer is not None:
            if not peer.close_sent and not peer.disconnected:
                peer.transport.writelines((frame_header(fin, opcode, len(payload)), payload))
                if self.on_relayed is not None:
                    self.on_relayed(len(payload))
            return
        # Not spliced (yet): whole messages to the ASGI application, as uvicorn does.
        if opcode != _CONT:
            self._fragment_opcode = opcode
        self._fragments.append(payload)
        if not fin:
            return
        message = self._fragments[0] if len(self._fragments) == 1 else b"".join(self._fragments)
        self._fragments = []
        if self._fragment_opcode == _TEXT:
            try:
                self.queue.put_nowait({"type": "websocket.receive", "text": message.decode()})
            except UnicodeDecodeError:
                self._fail(1007, "invalid UTF-8 in a text message")
                return
        else:
            self.queue.put_nowait({"type": "websocket.receive", "bytes": message})
        if not self.read_paused:  # one message at a time, as uvicorn: receive() resumes
            self.read_paused = True
            self.transport.pause_reading()

    def _closed_by_client(self, payload: bytes) -> None:
        code = _SHORT.unpack_from(payload)[0] if len(payload) >= 2 else _NO_STATUS
        if self.close_sent:  # the answer to ours: the closing handshake is complete
            if self.close_timer is not None:
                self.close_timer.cancel()
                self.close_timer = None
            self.transport.close()
            return
        answer = _SHORT.pack(code) if code != _NO_STATUS else b""
        self.transport.write(frame_header(True, _CLOSE, len(answer)) + answer)
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code})
        self.transport.close()
        self._end_splice()

    def _fail(self, code: int, reason: str) -> None:
        body = _SHORT.pack(code) + reason.encode()
        self.transport.write(frame_header(True, _CLOSE, len(body)) + body)
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.transport.close()
        self._end_splice()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._end_splice()
        peer = self.peer
        if peer is not None and peer._paused_for_peer:
            peer._paused_for_peer = False  # nothing more will drain: let it see its own end
            if not peer.disconnected:
                peer.transport.resume_reading()

    # -- backpressure ------------------------------------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        peer = self.peer
        if peer is not None and not peer._paused_for_peer and not peer.disconnected:
            peer._paused_for_peer = True
            peer.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        peer = self.peer
        if peer is not None and peer._paused_for_peer:
            peer._paused_for_peer = False
            if not peer.disconnected:
                peer.transport.resume_reading()

    # -- splicing ----------------------------------------------------------------------------

    def _end_splice(self) -> None:
        if self.spliced_done is not None and not self.spliced_done.done():
            self.spliced_done.set_result(None)

    def splice_to(self, peer: RelayDeskWebSocketProtocol, done: asyncio.Future[None]) -> bool:
        """From now on (self.peer is set) this end's frames go straight to peer. What the ASGI
        application has not read yet goes first, in order. False when this end is gone."""
        self.spliced_done = done
        while not self.queue.empty():
            message = self.queue.get_nowait()
            if message["type"] == "websocket.disconnect":
                return False
            data, text = message.get("bytes"), message.get("text")
            if isinstance(data, bytes):
                payload, opcode = data, _BINARY
            elif isinstance(text, str):
                payload, opcode = text.encode(), _TEXT
            else:
                continue
            peer.transport.writelines((frame_header(True, opcode, len(payload)), payload))
        if self._fragments:  # a message begun but not finished: its first frames, as one
            joined = b"".join(self._fragments)
            self._fragments = []
            peer.transport.writelines(
                (frame_header(False, self._fragment_opcode, len(joined)), joined)
            )
        if self.disconnected or self.close_sent:
            return False
        if self.read_paused:
            self.read_paused = False
            if not self._paused_for_peer:
                self.transport.resume_reading()
        return True


def lean_protocol(websocket: WebSocket) -> RelayDeskWebSocketProtocol | None:
    """The relay protocol behind a Starlette WebSocket, when it reads its own frames."""
    connection = getattr(getattr(websocket, "_receive", None), "__self__", None)
    if isinstance(connection, RelayDeskWebSocketProtocol) and connection.lean:
        return connection
    return None


def splice_protocols(
    left: RelayDeskWebSocketProtocol, right: RelayDeskWebSocketProtocol, done: asyncio.Future[None]
) -> asyncio.Future[None]:
    """Joins two lean relay protocols; `done` is set when either end goes."""
    # Both peers are set before either's backlog is written: the writes may already push back.
    left.peer, right.peer = right, left
    joined = left.splice_to(right, done) and right.splice_to(left, done)
    if not joined and not done.done():
        done.set_result(None)
    return done


@dataclass(eq=False)
class Splice:
    """Two relay sockets joined frame to frame; `done` is set when either end goes."""

    left: RelayDeskWebSocketProtocol
    right: RelayDeskWebSocketProtocol
    done: asyncio.Future[None]

    def close(self, code: int, reason: str) -> None:
        """Closes both ends (and so ends the splice)."""
        self.left.close_spliced(code, reason)
        self.right.close_spliced(code, reason)
        if not self.done.done():
            self.done.set_result(None)


async def splice(
    a: WebSocket, b: WebSocket, on_relayed: Callable[[int], None] | None = None
) -> Splice | None:
    """Joins two relay WebSockets frame to frame. None when either is not on the lean path
    (then the caller copies messages itself)."""
    left, right = lean_protocol(a), lean_protocol(b)
    if left is None or right is None:
        return None
    left.on_relayed = right.on_relayed = on_relayed
    done = splice_protocols(left, right, asyncio.get_running_loop().create_future())
    return Splice(left, right, done)
