"""How the agent trusts its server, for the control channel and for tunnels alike: the system's
certificate authorities, or one pinned certificate (`--pin-sha256`, SEC-1).

With a pin, the server's certificate is compared with it right after the TLS handshake and
before the first byte of the HTTP request is written, so that an impostor never sees a session
key, a tunnel token or anything else: the connection is aborted and TlsMismatch raised. (Python's
ssl module has no verification callback, and asyncio cannot take over an already wrapped socket;
websockets' connect() opens the TLS connection and only then writes its request, which is where
the check sits.)"""

from __future__ import annotations

import hashlib
import re
import ssl
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class TlsMismatch(Exception):
    """The server's certificate is not the pinned one; nothing was sent to it."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"The TLS certificate of {url} does not match the pinned fingerprint; nothing was sent."
        )


def normalised_pin(pin: str) -> str:
    """A SHA-256 fingerprint as 64 lowercase hex digits; colons and a 'sha256' prefix (as
    `openssl x509 -fingerprint` and browsers print it) are accepted. ValueError otherwise."""
    digits = pin.strip().lower().removeprefix("sha256").removeprefix(":").removeprefix("=")
    digits = digits.replace(":", "")
    if not re.fullmatch(r"[0-9a-f]{64}", digits):
        raise ValueError(f"'{pin}' is not a SHA-256 fingerprint (64 hexadecimal digits)")
    return digits


def certificate_sha256(connection: ClientConnection) -> str | None:
    ssl_object = connection.transport.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return hashlib.sha256(der).hexdigest() if der else None


class _PinnedConnect(connect):
    """websockets' connect(), checking the pin between the TLS handshake and the HTTP request."""

    def __init__(self, uri: str, *, pin: str, **kwargs: Any) -> None:
        super().__init__(uri, **kwargs)
        self.pin = pin

    async def open_tcp_connection(self) -> ClientConnection:
        connection = await super().open_tcp_connection()
        if certificate_sha256(connection) != self.pin:
            connection.transport.abort()
            raise TlsMismatch(self.uri)
        return connection


class ServerTls:
    """One per agent: the TLS context and the way to open a WebSocket to the server."""

    def __init__(self, pin_sha256: str | None = None) -> None:
        self.pin = normalised_pin(pin_sha256) if pin_sha256 else None
        self._context: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext:
        if self._context is None:
            context = ssl.create_default_context()
            if self.pin:
                # The pin replaces the certificate authorities (a self-signed certificate is
                # fine); it is checked before anything is sent (_PinnedConnect).
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._context = context
        return self._context

    def open(self, url: str, **kwargs: Any) -> connect:
        """websockets' connect() for `url` (await it or use it with `async with`); raises
        TlsMismatch when a pinned server shows another certificate."""
        if not url.startswith("wss://"):
            if self.pin:
                raise ValueError(f"a pinned certificate needs an https:// server, not {url}")
            return connect(url, **kwargs)
        if self.pin is None:
            return connect(url, ssl=self.context(), **kwargs)
        return _PinnedConnect(url, pin=self.pin, ssl=self.context(), **kwargs)
