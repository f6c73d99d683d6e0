"""Compression on tunnels: Chromium offers permessage-deflate on every WebSocket it opens. The
relay (/relay/{tunnel}) never takes it: tunnels carry JPEG, zlib, H.264 and file chunks, which
do not compress, and deflating them cost the relay several times its CPU. The console's events
socket keeps it (small JSON messages, which compress well). Both upgrades are made here byte for
byte as Chromium makes them, against the real server with a real agent's shell tunnel."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
from typing import Any
from urllib.parse import urlsplit

from relaydesk.protocol import bearer
from tests.fixtures.agents import AGENT
from tests.fixtures.technician import Technician

CHROMIUM_OFFER = "permessage-deflate; client_max_window_bits"


def upgrade(url: str, path: str, *extra: str) -> tuple[str, dict[str, str]]:
    """The server's answer to a WebSocket upgrade with Chromium's headers: status line and
    headers (names lower-cased)."""
    where = urlsplit(url)
    host, port = where.hostname or "127.0.0.1", where.port or 80
    key = base64.b64encode(os.urandom(16)).decode()
    request = "\r\n".join(
        [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Connection: Upgrade",
            "Pragma: no-cache",
            "Cache-Control: no-cache",
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36",
            "Upgrade: websocket",
            f"Origin: {url}",
            "Sec-WebSocket-Version: 13",
            "Accept-Encoding: gzip, deflate, br, zstd",
            "Accept-Language: en-US,en;q=0.9",
            f"Sec-WebSocket-Key: {key}",
            f"Sec-WebSocket-Extensions: {CHROMIUM_OFFER}",
            *extra,
            "",
            "",
        ]
    )
    with socket.create_connection((host, port), timeout=30) as conn:
        conn.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(4096)
            assert chunk, f"the server closed before answering: {answer!r}"
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return head[0], headers


def test_the_relay_never_negotiates_compression_the_console_socket_does(
    relaydesk_server: Any,
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    cookie = "; ".join(f"{k}={v}" for k, v in technician.http.cookies.items())
    status, headers = upgrade(relaydesk_server.url, "/api/v1/console/ws", f"Cookie: {cookie}")
    assert status.startswith("HTTP/1.1 101"), status
    assert headers["sec-websocket-extensions"].startswith("permessage-deflate")

    agent = subprocess.Popen(
        [AGENT, "--server", relaydesk_server.url, "--key", technician.new_key()],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        sid = technician.wait_for_waiting_session(timeout=60)["id"]
        technician.post(f"/api/v1/sessions/{sid}/accept")
        for kind in ("shell", "files"):
            tunnel = technician.post(f"/api/v1/sessions/{sid}/{kind}/tunnel").json()
            protocols = ", ".join(bearer.offered(tunnel["token"], "binary"))
            status, headers = upgrade(
                relaydesk_server.url, tunnel["path"], f"Sec-WebSocket-Protocol: {protocols}"
            )
            assert status.startswith("HTTP/1.1 101"), (kind, status)
            assert headers["sec-websocket-protocol"] == "binary"
            assert "sec-websocket-extensions" not in headers, (kind, headers)
    finally:
        agent.terminate()
        agent.wait(timeout=30)
