"""What an adversary can make the agent's control channel (/agent/ws) cost the server: the size of
a message before and after the handshake, binary frames, system reports nobody asked for, and a
console too slow to take what it is sent (issue 11, defects 12, 13, 14). Real server process; the
"agent" is this test speaking the protocol through its own state machine, since a real agent
never misbehaves this way."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from relaydesk.protocol import control, identity
from relaydesk.protocol.messages import (
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    DeviceFacts,
    Hello,
    SessionKeyCredential,
)
from tests.fixtures.common import eventually
from tests.integration.technician import Technician, next_event

FIFTEEN_MIB = 15 * 1024 * 1024
HANDSHAKE_FRAME_BYTES = 16 * 1024  # the protocol's limit before the handshake (messages.py)


def hello(key: identity.DeviceKey, session_key: str) -> Hello:
    return Hello(
        type="hello",
        protocol=PROTOCOL_VERSION,
        agent_version="adversary",
        mode="attended",
        public_key=key.public_key_b64,
        credential=SessionKeyCredential(kind="session_key", key=session_key),
        device=DeviceFacts(hostname="adversary-pc", os="Linux"),
    )


def agent_ws_url(server: Any) -> str:
    return str(server.url).replace("http://", "ws://") + "/agent/ws"


class RawAgent:
    """An agent's protocol machine over a synchronous WebSocket, driven by the test."""

    def __init__(self, ws: ClientConnection, session_key: str) -> None:
        self.ws = ws
        self.key = identity.DeviceKey.generate()
        self.connection = control.AgentConnection(hello(self.key, session_key), self.key)

    def flush(self) -> None:
        for frame in self.connection.data_to_send():
            self.ws.send(frame)

    def events(self) -> list[control.Event]:
        """The events of the next frame the server sends (pings answered)."""
        events = self.connection.receive(self.ws.recv(timeout=30))
        self.flush()
        return events

    def establish(self) -> control.Established:
        self.connection.start()
        self.flush()
        while True:
            for event in self.events():
                assert not isinstance(event, control.RefusedByServer), event
                if isinstance(event, control.Established):
                    return event

    def next_event(self, kind: type[control.Event], frames: int = 4) -> Any:
        """The next event of that kind, within the next few frames (each waited for 30 s)."""
        seen: list[control.Event] = []
        for _ in range(frames):
            for event in self.events():
                if isinstance(event, kind):
                    return event
                seen.append(event)
        raise AssertionError(f"no {kind.__name__} in {frames} frames: {seen}")


@contextmanager
def raw_agent(server: Any, session_key: str) -> Iterator[RawAgent]:
    with connect(agent_ws_url(server), max_size=None, open_timeout=10) as ws:
        yield RawAgent(ws, session_key)


@pytest.fixture
def technician(relaydesk_server: Any) -> Technician:
    return Technician(relaydesk_server).sign_in_first_time()


class RawSocket:
    """A WebSocket client written by hand, for what a library will not do: announce a frame and
    send only part of it, or read nothing at all for a while (a small receive buffer, so that the
    server's writes block soon)."""

    def __init__(self, server: Any, path: str, headers: str = "") -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        self.sock.settimeout(30)
        self.sock.connect(("127.0.0.1", server.port))
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            f"{headers}\r\n".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += self.sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 101"), answer
        self.buffer = answer.split(b"\r\n\r\n", 1)[1]
        self.last_fin = True

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            assert chunk, "the server closed the connection without a close frame"
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_frame(self) -> tuple[int, bytes]:
        first, second = self._read(2)
        self.last_fin = bool(first & 0x80)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        return first & 0x0F, self._read(length)

    def read_close(self) -> tuple[int, bytes, list[bytes]]:
        """Reads up to the close frame: its code and reason, and the text messages before it
        (a message sent in fragments is put together again, as RFC 6455 5.4 allows)."""
        texts: list[bytes] = []
        message: bytearray | None = None
        while True:
            opcode, payload = self.read_frame()
            if opcode == 0x8:
                return struct.unpack("!H", payload[:2])[0], payload[2:], texts
            if opcode == 0x1:
                message = bytearray(payload)
            elif opcode == 0x0 and message is not None:
                message += payload
            else:
                continue
            if self.last_fin:
                texts.append(bytes(message))
                message = None

    def send_text_header(self, length: int, first_bytes: bytes) -> None:
        """The header of a text frame of `length` bytes, and only `first_bytes` of it."""
        mask = os.urandom(4)
        header = bytes([0x81, 0x80 | 127]) + struct.pack("!Q", length) + mask
        self.sock.sendall(header + bytes(b ^ mask[i % 4] for i, b in enumerate(first_bytes)))

    def send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        assert len(payload) < 126
        header = bytes([0x80 | opcode, 0x80 | len(payload)]) + mask
        self.sock.sendall(header + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def close(self) -> None:
        self.sock.close()


def test_oversized_messages_are_refused_as_their_header_arrives(
    technician: Technician, relaydesk_server: Any
) -> None:
    # Before anyone authenticated: the header of a 15 MiB frame and 1 KiB of its payload are
    # enough to close with 1009 (a server waiting for the rest would answer nothing).
    raw = RawSocket(relaydesk_server, "/agent/ws")
    try:
        raw.send_text_header(FIFTEEN_MIB, b"x" * 1024)
        code, reason, _ = raw.read_close()
    finally:
        raw.close()
    assert code == 1009, reason

    # A hello padded past the handshake's limit is refused the same way.
    with raw_agent(relaydesk_server, "AAAA-BBBB-CCCC") as agent:
        padded = hello(agent.key, "AAAA-BBBB-CCCC").model_dump_json()
        padded = padded[:-1] + ', "pad": "' + "x" * HANDSHAKE_FRAME_BYTES + '"}'
        agent.ws.send(padded)
        with pytest.raises(ConnectionClosed) as closed:
            agent.ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    # After the handshake the limit is MAX_FRAME_BYTES: just under is read (and answered by the
    # protocol), just over closes the channel with 1009.
    with raw_agent(relaydesk_server, technician.new_key()) as agent:
        agent.establish()
        near = {"type": "sysinfo", "request_id": "r", "info": {"pad": ""}}
        near["info"]["pad"] = "x" * (MAX_FRAME_BYTES - len(json.dumps(near)))  # type: ignore[index]
        agent.ws.send(json.dumps(near))
        assert agent.next_event(control.PeerError).code == "unsolicited_report"
        agent.ws.send("x" * (MAX_FRAME_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                agent.events()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    eventually(
        lambda: f"a message over {MAX_FRAME_BYTES} bytes (1009)" in relaydesk_server.output(),
        what="the server logs the channel it closed for a message too large",
    )
    assert "Traceback" not in relaydesk_server.output()


def test_binary_frames_are_answered_by_the_protocol(
    technician: Technician, relaydesk_server: Any
) -> None:
    with raw_agent(relaydesk_server, "AAAA-BBBB-CCCC") as agent:
        agent.ws.send(b'{"type": "hello"}')
        assert json.loads(agent.ws.recv(timeout=30)) == {
            "type": "refused",
            "code": "binary_frame",
            "message": "Control messages are JSON text frames; a binary frame is not one.",
        }

    with raw_agent(relaydesk_server, technician.new_key()) as agent:
        sid = agent.establish().session_id
        agent.ws.send(b"\x00\xff binary")
        assert agent.next_event(control.PeerError).code == "binary_frame"
        # The channel lives on: the technician's request still reaches this agent.
        assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
        assert technician.post(f"/api/v1/sessions/{sid}/sysinfo").status_code == 202
        assert agent.next_event(control.SysinfoWanted).request_id

    output = relaydesk_server.output()
    assert "KeyError" not in output and "Traceback" not in output
    assert "binary_frame" in output


def test_system_reports_nobody_asked_for_are_dropped(
    technician: Technician, relaydesk_server: Any
) -> None:
    with (
        technician.console() as console,
        raw_agent(relaydesk_server, technician.new_key()) as agent,
    ):
        next_event(console, "queue")
        sid = agent.establish().session_id
        assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
        unsolicited = {"hostname": "adversary-pc", "pad": "x" * 900_000}
        for n in range(20):
            agent.connection.send_sysinfo(f"made-up-{n}", unsolicited)
            agent.flush()
            error = agent.next_event(control.PeerError)
            assert error.code == "unsolicited_report"
            assert f"made-up-{n}" in error.message

        assert technician.post(f"/api/v1/sessions/{sid}/sysinfo").status_code == 202
        wanted = agent.next_event(control.SysinfoWanted)
        agent.connection.send_sysinfo(wanted.request_id, {"hostname": "adversary-pc"})
        agent.flush()
        # Nothing of the 20 reached the console: the first report it sees is the one asked for.
        report = next_event(console, "session.sysinfo")
        assert report["request_id"] == wanted.request_id
        assert report["info"] == {"hostname": "adversary-pc"}

    def summary() -> bool:
        return "bad frames dropped in all: {'unsolicited_report': 20}" in relaydesk_server.output()

    eventually(summary, what="one summary line when the channel closes")
    assert relaydesk_server.output().count("unsolicited_report (") == 1  # logged once


def test_a_console_too_slow_for_its_events_is_cut_off(
    technician: Technician, relaydesk_server: Any
) -> None:
    reports = 24  # about 22 MB: more than the sockets' buffers and the subscription's bound
    cookie = "; ".join(f"{k}={v}" for k, v in technician.http.cookies.items())
    console = RawSocket(relaydesk_server, "/api/v1/console/ws", f"Cookie: {cookie}\r\n")
    try:
        with raw_agent(relaydesk_server, technician.new_key()) as agent:
            sid = agent.establish().session_id
            assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
            # The console reads nothing while the technician asks for report after report.
            for n in range(reports):
                assert technician.post(f"/api/v1/sessions/{sid}/sysinfo").status_code == 202
                wanted = agent.next_event(control.SysinfoWanted)
                agent.connection.send_sysinfo(wanted.request_id, {"n": n, "pad": "x" * 900_000})
                agent.flush()
            eventually(
                lambda: "fell behind" in relaydesk_server.output(),
                what="the server notes that the console's subscription fell behind",
            )
            # The console reads what reached it, then finds itself cut off with 1013.
            code, reason, texts = console.read_close()
    finally:
        console.close()
    assert code == 1013, reason
    received = [json.loads(t)["info"]["n"] for t in texts if b'"session.sysinfo"' in t]
    # Under load the subscription may fall behind before the socket delivered any report.
    assert len(received) < reports
    assert received == list(range(len(received)))  # in order, none skipped before the cut

    # The console reconnects and is served again.
    with technician.console() as again:
        assert next_event(again, "queue")["queue"]


def test_the_console_socket_ignores_what_it_is_sent_within_a_few_kib(
    technician: Technician, relaydesk_server: Any
) -> None:
    """The console (like the portal page) sends nothing: a binary frame is ignored (no
    KeyError), a large message is refused as its header arrives."""
    cookie = "; ".join(f"{k}={v}" for k, v in technician.http.cookies.items())
    console = RawSocket(relaydesk_server, "/api/v1/console/ws", f"Cookie: {cookie}\r\n")
    try:
        opcode, first = console.read_frame()
        assert opcode == 0x1 and json.loads(first)["type"] == "queue"
        console.send_frame(0x2, b"\x00\x01 binary")
        console.send_text_header(FIFTEEN_MIB, b"x" * 1024)
        code, reason, _ = console.read_close()
    finally:
        console.close()
    assert code == 1009, reason
    output = relaydesk_server.output()
    assert "KeyError" not in output and "Traceback" not in output
