"""The relay's lean path (server/relay/transport.py) on its own: masked client frames, cut into
reads of any size, come out at the other end as the same messages in server frames (text,
binary, fragments, a 512 KiB frame); a ping is answered; a frame over the limit and an unmasked
frame end the socket with 1009 and 1002; a full transport at one end pauses reading at the other.
The real server and tunnels are tested in tests/integration (test_relay.py, test_files.py)."""

from __future__ import annotations

import asyncio
import os
import struct
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from relaydesk.server.relay.transport import RelayDeskWebSocketProtocol, splice_protocols


class Transport:
    """What the protocol writes, and whether it was told to pause or close."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.reading = True
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.written += chunk

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        pass


def client_frame(opcode: Opcode, payload: bytes, fin: bool = True, masked: bool = True) -> bytes:
    frame = Frame(opcode, payload, fin=fin)
    return frame.serialize(mask=masked, extensions=[])


def server_frames(data: bytes) -> list[Frame]:
    reader = StreamReader()
    reader.feed_data(data)
    parser = Frame.parse(reader.read_exact, mask=False, max_size=None, extensions=[])
    frames: list[Frame] = []
    while True:
        try:
            next(parser)
        except StopIteration as done:
            frames.append(done.value)
            parser = Frame.parse(reader.read_exact, mask=False, max_size=None, extensions=[])
            continue
        if not reader.buffer:
            return frames


def lean_end(loop: asyncio.AbstractEventLoop) -> tuple[RelayDeskWebSocketProtocol, Transport]:
    config = Config(app=lambda *_: None, ws_max_size=1 << 20)
    config.load()
    protocol = RelayDeskWebSocketProtocol(config, ServerState(), {}, _loop=loop)
    transport = Transport()
    protocol.transport = transport  # type: ignore[assignment]
    protocol.handshake_complete = True
    protocol.lean = True
    return protocol, transport


@pytest.fixture
def loop() -> Any:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.mark.parametrize("read_size", [1, 7, 1000, 65536, None])
def test_frames_cross_whatever_the_reads(loop: Any, read_size: int | None) -> None:
    a, _ = lean_end(loop)
    b, b_out = lean_end(loop)
    done = splice_protocols(a, b, loop.create_future())
    assert not done.done()
    big = os.urandom(512 * 1024)
    stream = b"".join(
        [
            client_frame(Opcode.BINARY, b"\x00\x01screen"),
            client_frame(Opcode.TEXT, "héllo".encode()),
            client_frame(Opcode.BINARY, b"first half ", fin=False),
            client_frame(Opcode.CONT, b"second half"),
            client_frame(Opcode.BINARY, big),
            client_frame(Opcode.BINARY, b""),
        ]
    )
    size = read_size or len(stream)
    chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
    for chunk in chunks:
        a.data_received(chunk)
    frames = server_frames(bytes(b_out.written))
    assert [(f.opcode, f.fin, bytes(f.data)) for f in frames] == [
        (Opcode.BINARY, True, b"\x00\x01screen"),
        (Opcode.TEXT, True, "héllo".encode()),
        (Opcode.BINARY, False, b"first half "),
        (Opcode.CONT, True, b"second half"),
        (Opcode.BINARY, True, big),
        (Opcode.BINARY, True, b""),
    ]


def test_a_ping_is_answered_and_a_close_ends_the_splice(loop: Any) -> None:
    a, a_out = lean_end(loop)
    b, _ = lean_end(loop)
    done = splice_protocols(a, b, loop.create_future())
    a.data_received(client_frame(Opcode.PING, b"are you there"))
    assert [(f.opcode, bytes(f.data)) for f in server_frames(bytes(a_out.written))] == [
        (Opcode.PONG, b"are you there")
    ]
    a_out.written.clear()
    a.data_received(client_frame(Opcode.CLOSE, struct.pack("!H", 1000)))
    assert [(f.opcode, bytes(f.data)) for f in server_frames(bytes(a_out.written))] == [
        (Opcode.CLOSE, struct.pack("!H", 1000))
    ]
    assert a_out.closed and done.done()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (client_frame(Opcode.BINARY, b"x" * ((1 << 20) + 1)), 1009),
        (client_frame(Opcode.BINARY, b"not masked", masked=False), 1002),
    ],
)
def test_a_bad_frame_ends_the_socket(loop: Any, frame: bytes, code: int) -> None:
    a, a_out = lean_end(loop)
    b, b_out = lean_end(loop)
    done = splice_protocols(a, b, loop.create_future())
    a.data_received(frame)
    (closing,) = server_frames(bytes(a_out.written))
    assert closing.opcode == Opcode.CLOSE
    assert struct.unpack("!H", closing.data[:2])[0] == code
    assert a_out.closed and done.done() and not b_out.written


def test_a_full_end_stops_reading_the_other(loop: Any) -> None:
    a, a_out = lean_end(loop)
    b, _ = lean_end(loop)
    splice_protocols(a, b, loop.create_future())
    b.pause_writing()  # b's transport holds more than its high mark
    assert not a_out.reading
    b.resume_writing()
    assert a_out.reading
