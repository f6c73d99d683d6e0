"""A small blocking RFB client for the tests, on top of the reference decoders."""

from __future__ import annotations

import select
import socket
import struct
from dataclasses import dataclass, field

import numpy as np

from relaydesk.agent.screen.input import keysym_for_char
from relaydesk.agent.screen.rfb import PixelFormat, vnc_auth_response
from tests.screen.decoders import ClientFramebuffer

TIGHT, ZRLE, RAW, COPYRECT = 7, 16, 0, 1
RGBX = PixelFormat(32, 24, False, True, 255, 255, 255, 0, 8, 16)  # noVNC's format


class AuthFailed(Exception):
    pass


class SocketReader:
    """Exact reads with our own buffer, so that `readable()` can tell if a message waits."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.pos = 0

    def readable(self, timeout: float) -> bool:
        if self.buffer:
            return True
        ready, _, _ = select.select([self.sock], [], [], timeout)
        return bool(ready)

    def take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise ConnectionError(f"connection closed ({len(self.buffer)} of {n} bytes)")
            self.buffer.extend(chunk)
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        self.pos += n
        return data

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def s32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]


@dataclass
class RfbClient:
    host: str
    port: int
    password: str | None = None
    timeout: float = 20.0
    sock: socket.socket = field(init=False)
    reader: SocketReader = field(init=False)
    fb: ClientFramebuffer = field(init=False)
    name: str = ""
    cut_texts: list[bytes] = field(default_factory=list)
    fences: list[tuple[int, bytes]] = field(default_factory=list)
    end_of_cu: int = 0

    def connect(self, version: bytes = b"RFB 003.008\n") -> RfbClient:
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = r = SocketReader(self.sock)
        assert r.take(12) == b"RFB 003.008\n"
        self.sock.sendall(version)
        count = r.u8()
        if count == 0:
            raise AuthFailed(r.take(r.u32()).decode())
        types = r.take(count)
        if 2 in types:
            self.sock.sendall(b"\x02")
            challenge = r.take(16)
            self.sock.sendall(vnc_auth_response(self.password or "", challenge))
        else:
            self.sock.sendall(b"\x01")
        if r.u32() != 0:
            raise AuthFailed(r.take(r.u32()).decode())
        self.sock.sendall(b"\x01")
        w, h = r.u16(), r.u16()
        pf = PixelFormat.unpack(r.take(16))
        self.name = r.take(r.u32()).decode()
        self.fb = ClientFramebuffer(w, h, pf)
        return self

    def close(self) -> None:
        self.sock.close()

    def set_pixel_format(self, pf: PixelFormat) -> None:
        self.sock.sendall(b"\x00\x00\x00\x00" + pf.pack())
        self.fb.pf = pf

    def set_encodings(self, encodings: list[int]) -> None:
        msg = struct.pack(">BxH", 2, len(encodings))
        self.sock.sendall(msg + b"".join(struct.pack(">i", e) for e in encodings))

    def request(self, incremental: bool = False) -> None:
        self.sock.sendall(
            struct.pack(">BBHHHH", 3, incremental, 0, 0, self.fb.width, self.fb.height)
        )

    def key(self, down: bool, keysym: int) -> None:
        self.sock.sendall(struct.pack(">BBxxI", 4, down, keysym))

    def tap(self, keysym: int) -> None:
        """A key pressed and released."""
        self.key(True, keysym)
        self.key(False, keysym)

    def type_text(self, text: str) -> None:
        """Each character as its keysym, pressed and released, as a viewer types."""
        for char in text:
            self.tap(keysym_for_char(char))

    def pointer(self, buttons: int, x: int, y: int) -> None:
        self.sock.sendall(struct.pack(">BBHH", 5, buttons, x, y))

    def read_message(self) -> tuple[str, object]:
        r = self.reader
        kind = r.u8()
        if kind == 0:
            return "update", self.fb.apply_update_body(r)
        if kind == 1:
            r.take(1)
            r.u16()
            r.take(6 * r.u16())
            return "colours", None
        if kind == 2:
            return "bell", None
        if kind == 3:
            r.take(3)
            (length,) = struct.unpack(">i", r.take(4))
            data = r.take(abs(length))
            self.cut_texts.append(data)
            return "cut", data
        if kind == 150:
            self.end_of_cu += 1
            return "end_of_cu", None
        if kind == 248:
            r.take(3)
            flags = r.u32()
            payload = r.take(r.u8())
            self.fences.append((flags, payload))
            if flags & (1 << 31):  # answer requests, as clients must
                self.sock.sendall(struct.pack(">BxxxIB", 248, flags & 3, len(payload)) + payload)
            return "fence", (flags, payload)
        raise AssertionError(f"unknown server message {kind}")

    def read_update(self, timeout: float | None = None) -> list[tuple[int, int, int, int, int]]:
        """Read messages until a FramebufferUpdate arrives; TimeoutError if none starts within
        `timeout` seconds (the connection stays usable)."""
        while True:
            if timeout is not None and not self.reader.readable(timeout):
                raise TimeoutError("no update")
            kind, value = self.read_message()
            if kind == "update":
                assert isinstance(value, list)
                return value

    def rgb(self) -> np.ndarray:
        """The client's framebuffer as H x W x 3 RGB (8-bit channel formats)."""
        pf = self.fb.pf
        fb = self.fb.fb
        return np.stack(
            [
                (fb >> pf.red_shift) & 0xFF,
                (fb >> pf.green_shift) & 0xFF,
                (fb >> pf.blue_shift) & 0xFF,
            ],
            -1,
        ).astype(np.uint8)
