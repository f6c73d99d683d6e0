"""One keepalive per agent connection (issue 13): an idle real agent's control channel, watched
frame by frame through a loopback proxy, carries only the protocol's JSON ping and its pong, no
WebSocket-level pings from uvicorn or from the agent."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.agents import start_agent
from tests.fixtures.common import eventually, free_port
from tests.fixtures.technician import Technician

HEARTBEAT = 6
OPCODES = {0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ws-ping", 0xA: "ws-pong"}


@dataclass
class FrameLog:
    """What went each way after the upgrade: 'text:<type>' for the protocol's JSON messages,
    'ws-ping'/'ws-pong' for WebSocket control frames."""

    seen: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str) -> int:
        with self.lock:
            return self.seen[name]

    def add(self, name: str) -> None:
        with self.lock:
            self.seen[name] += 1

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.seen)


def _frames(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Complete frames at the start of buffer (removed from it): opcode and unmasked payload."""
    found = []
    while len(buffer) >= 2:
        opcode, masked, length = buffer[0] & 0x0F, buffer[1] & 0x80, buffer[1] & 0x7F
        at = 2
        if length == 126:
            if len(buffer) < 4:
                break
            (length,) = struct.unpack("!H", buffer[2:4])
            at = 4
        elif length == 127:
            if len(buffer) < 10:
                break
            (length,) = struct.unpack("!Q", buffer[2:10])
            at = 10
        mask = b""
        if masked:
            mask, at = bytes(buffer[at : at + 4]), at + 4
        if len(buffer) < at + length:
            break
        payload = bytes(buffer[at : at + length])
        if masked:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        del buffer[: at + length]
        found.append((opcode, payload))
    return found


def _pump(source: socket.socket, sink: socket.socket, log: FrameLog, way: str) -> None:
    buffer, upgraded = bytearray(), False
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
            buffer += chunk
            if not upgraded:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    continue
                del buffer[: end + 4]
                upgraded = True
            for opcode, payload in _frames(buffer):
                name = OPCODES.get(opcode, f"op{opcode}")
                if opcode == 0x1:
                    name = f"text:{json.loads(payload).get('type')}"
                log.add(f"{way} {name}")
    except OSError:
        pass
    finally:
        for end in (source, sink):
            end.close()


def _proxy(target_port: int, log: FrameLog) -> int:
    """A loopback TCP proxy in front of the server that logs every WebSocket frame."""
    listener = socket.create_server(("127.0.0.1", free_port()))

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", target_port))
            for pair in ((client, upstream, "agent→server"), (upstream, client, "server→agent")):
                source, sink, way = pair
                threading.Thread(target=_pump, args=(source, sink, log, way), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    port: int = listener.getsockname()[1]
    return port


@pytest.mark.parametrize(
    "relaydesk_server",
    [{"env": {"RELAYDESK_AGENT_HEARTBEAT_SECONDS": str(HEARTBEAT)}}],
    indirect=True,
)
def test_an_idle_agent_connection_carries_one_keepalive(
    relaydesk_server: Any, tmp_path: Path
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    log = FrameLog()
    port = _proxy(int(relaydesk_server.url.rsplit(":", 1)[1]), log)
    agent = start_agent(f"http://127.0.0.1:{port}", technician.new_key(), tmpdir=tmp_path)
    try:
        technician.wait_for_waiting_session()
        # The session waits for a technician: nothing but keepalives goes either way now. Watch
        # for four heartbeats, longer than uvicorn's and the agent's former 20 s WebSocket pings
        # (and long enough for four of the former 20 s JSON pings, so that a server that still
        # sends those fails below, on what it sends).
        eventually(
            lambda: log.count("server→agent text:ping") >= 4,
            timeout=HEARTBEAT * 4 + 90,
            what="four JSON pings from the server",
        )
        eventually(
            lambda: log.count("agent→server text:pong") >= 4,
            timeout=10,
            what="the agent's answer to each",
        )
        seen = log.snapshot()
        assert agent.poll() is None, "the agent left"
    finally:
        agent.kill()
        agent.communicate(timeout=10)
    # Exactly one keepalive: the JSON ping and its pong, none of the WebSocket-level ones.
    assert seen["server→agent ws-ping"] == 0, seen
    assert seen["agent→server ws-ping"] == 0, seen
    assert seen["agent→server ws-pong"] == seen["server→agent ws-pong"] == 0, seen
    handshake = {"agent→server text:hello", "agent→server text:proof"}
    handshake |= {"server→agent text:challenge", "server→agent text:welcome"}
    keepalive = {"server→agent text:ping", "agent→server text:pong"}
    assert set(seen) - handshake - keepalive <= {"server→agent text:customer_state"}, seen
    assert seen["agent→server text:pong"] in (
        seen["server→agent text:ping"],
        seen["server→agent text:ping"] - 1,
    ), seen
