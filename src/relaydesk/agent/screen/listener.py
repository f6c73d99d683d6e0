"""`relaydesk-agent --rfb-listen HOST:PORT`: a local RFB listener for any standard VNC client.

Loopback by default; a non-loopback address needs a password (VNC Authentication), otherwise
the agent refuses to start. Failed authentications are rate-limited: after
MAX_FAILURES within FAILURE_WINDOW seconds, new connections are dropped for LOCKOUT seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from relaydesk.agent.screen.session import ScreenHandle, serve_rfb

log = logging.getLogger(__name__)

EXIT_ERROR = 2
MAX_FAILURES = 5
FAILURE_WINDOW = 60.0
LOCKOUT = 60.0


class TcpStream:
    """ByteStream over an asyncio TCP connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def read(self) -> bytes:
        try:
            return await self._reader.read(65536)
        except (ConnectionError, OSError):
            return b""

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


def parse_host_port(value: str) -> tuple[str, int]:
    """ "HOST:PORT", "[v6]:PORT" or ":PORT" (loopback)."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"--rfb-listen wants HOST:PORT, not {value!r}")
    host = host.strip("[]") or "127.0.0.1"
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range")
    return host, port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def read_password(path: Path) -> str:
    text = path.read_text(encoding="utf-8").splitlines()
    password = text[0].strip() if text else ""
    if not password:
        raise ValueError(f"{path} holds no password")
    return password


class RfbListener:
    def __init__(
        self,
        host: str,
        port: int,
        display: str,
        *,
        password: str | None,
        name: str,
        view_only: bool = False,
        status: Callable[[str], None] | None = None,
        monitor: int | None = None,
    ) -> None:
        self.monitor = monitor
        self.host, self.port = host, port
        self.display = display
        self.password = password
        self.name = name
        self.view_only = view_only
        self.status = status or (lambda line: None)
        self.failures: deque[float] = deque()
        self.locked_until = 0.0
        self.handles: set[ScreenHandle] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, self.host, self.port)
        sockets: list[socket.socket] = list(self.server.sockets or [])
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def serve_forever(self) -> None:
        assert self.server is not None
        async with self.server:
            await self.server.serve_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        stream = TcpStream(reader, writer)
        now = time.monotonic()
        if now < self.locked_until:
            log.warning("refusing %s: too many failed authentications", peer)
            await stream.close()
            return
        handle = ScreenHandle()
        self.handles.add(handle)
        self.status(f"viewer connected from {peer}")
        try:
            await serve_rfb(
                stream,
                self.display,
                password=self.password,
                view_only=self.view_only,
                name=self.name,
                handle=handle,
                monitor=self.monitor,
            )
        except Exception as error:
            log.warning("screen session for %s failed: %r", peer, error)
        finally:
            self.handles.discard(handle)
            await stream.close()
        reason = handle.close_reason or "closed"
        stats = handle.stats
        self.status(
            f"viewer {peer} disconnected: {reason} ({stats.updates} updates, "
            f"{stats.copyrects} CopyRect, {stats.bytes_sent} bytes)"
        )
        if reason == "authentication failed":
            self._record_failure()

    def _record_failure(self) -> None:
        now = time.monotonic()
        self.failures.append(now)
        while self.failures and now - self.failures[0] > FAILURE_WINDOW:
            self.failures.popleft()
        if len(self.failures) >= MAX_FAILURES:
            self.locked_until = now + LOCKOUT
            self.failures.clear()
            self.status(f"too many failed authentications: locked for {LOCKOUT:.0f} s")

    def close(self) -> None:
        for handle in list(self.handles):
            handle.stop("listener closed")
        if self.server is not None:
            self.server.close()


class _StatusHandler(logging.Handler):
    """The screen's log lines (viewer encodings, refusals, failures) as status lines."""

    def __init__(self, status: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self._status = status

    def emit(self, record: logging.LogRecord) -> None:
        self._status(record.getMessage())


def report_screen_log(status: Callable[[str], None]) -> None:
    """Show the screen's log lines (which encoding each viewer gets, failures) as status lines,
    through the relay as well as on the local listener."""
    screen_log = logging.getLogger("relaydesk.agent.screen")
    screen_log.setLevel(logging.INFO)
    screen_log.addHandler(_StatusHandler(status))


def run_from_args(args: argparse.Namespace, status: Callable[[str], None]) -> int:
    """Entry for relaydesk-agent --rfb-listen: returns the exit code."""
    report_screen_log(status)
    try:
        host, port = parse_host_port(args.rfb_listen)
    except ValueError as error:
        print(f"relaydesk-agent: {error}", file=sys.stderr)
        return EXIT_ERROR
    password = None
    if args.password_file is not None:
        try:
            password = read_password(Path(args.password_file))
        except (OSError, ValueError) as error:
            print(f"relaydesk-agent: cannot read the password file: {error}", file=sys.stderr)
            return EXIT_ERROR
    if password is None and not is_loopback(host):
        print(
            f"relaydesk-agent: refusing to listen on {host} without a password: "
            "give --password-file, or listen on 127.0.0.1",
            file=sys.stderr,
        )
        return EXIT_ERROR
    display = args.display or os.environ.get("DISPLAY") or ":0"
    name = f"relaydesk {socket.gethostname()} {display}"
    listener = RfbListener(host, port, display, password=password, name=name, status=status)

    async def main() -> None:
        try:
            await listener.start()
        except OSError as error:
            raise SystemExit(f"relaydesk-agent: cannot listen on {host}:{port}: {error}") from None
        auth = "VNC authentication" if password else "no authentication"
        status(f"RFB server listening on {host}:{listener.port} for display {display} ({auth})")
        await listener.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        status("Stopped.")
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
            return EXIT_ERROR
        raise
    return 0
