"""RFB 3.8 server protocol core (RFC 6143 + rfbproto community extensions), sans-I/O.

Feed bytes from the client to `RfbServer.receive_data()`; it returns events. Everything the
server wants to send accumulates in a buffer that `data_to_send()` drains. Nothing here does I/O,
sleeps or raises on bad input: a malformed or unknown client message yields a
`ProtocolViolation` event, the reason is kept in `close_reason`, and the machine is closed.

Handshake: versions 3.3, 3.7 and 3.8 (3.5 and unknown 3.x minors map as the spec says), security
types None and VNC Authentication (DES challenge/response), ClientInit/ServerInit.

Extensions handled in the core: Fence (requests are answered here), ContinuousUpdates (announced
with EndOfContinuousUpdates once the client shows Fence and ContinuousUpdates support),
ExtendedDesktopSize/SetDesktopSize (requests are answered "prohibited" by `deny_desktop_size`),
QEMU extended key events, extended clipboard (caps, notify/request/provide/peek; UTF-8 text),
colour-map clients (8 bpp, answered with a fixed BGR233 map).
"""

from __future__ import annotations

import hmac
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum, auto

# --- constants ----------------------------------------------------------------------------

SECURITY_INVALID = 0
SECURITY_NONE = 1
SECURITY_VNC_AUTH = 2

# Encodings
ENC_RAW = 0
ENC_COPYRECT = 1
ENC_RRE = 2
ENC_HEXTILE = 5
ENC_ZLIB = 6
ENC_TIGHT = 7
ENC_ZRLE = 16
ENC_OPEN_H264 = 50
# Pseudo-encodings
ENC_JPEG_QUALITY_0 = -32  # -32..-23
ENC_JPEG_QUALITY_9 = -23
ENC_DESKTOP_SIZE = -223
ENC_LAST_RECT = -224
ENC_CURSOR = -239
ENC_X_CURSOR = -240
ENC_COMPRESS_LEVEL_0 = -256  # -256..-247
ENC_COMPRESS_LEVEL_9 = -247
ENC_QEMU_POINTER_MOTION = -257
ENC_QEMU_EXT_KEY = -258
ENC_DESKTOP_NAME = -307
ENC_EXTENDED_DESKTOP_SIZE = -308
ENC_XVP = -309
ENC_FENCE = -312
ENC_CONTINUOUS_UPDATES = -313
ENC_CURSOR_WITH_ALPHA = -314
ENC_EXTENDED_CLIPBOARD = -1063131698  # 0xC0A1E5CE as S32

# Client -> server message types
C_SET_PIXEL_FORMAT = 0
C_SET_ENCODINGS = 2
C_FB_UPDATE_REQUEST = 3
C_KEY_EVENT = 4
C_POINTER_EVENT = 5
C_CLIENT_CUT_TEXT = 6
C_ENABLE_CONTINUOUS_UPDATES = 150
C_CLIENT_FENCE = 248
C_XVP = 250
C_SET_DESKTOP_SIZE = 251
C_QEMU = 255

# Server -> client message types
S_FB_UPDATE = 0
S_SET_COLOUR_MAP = 1
S_BELL = 2
S_SERVER_CUT_TEXT = 3
S_END_OF_CONTINUOUS_UPDATES = 150
S_SERVER_FENCE = 248

# Fence flags
FENCE_BLOCK_BEFORE = 1 << 0
FENCE_BLOCK_AFTER = 1 << 1
FENCE_SYNC_NEXT = 1 << 2
FENCE_REQUEST = 1 << 31
FENCE_SUPPORTED = FENCE_BLOCK_BEFORE | FENCE_BLOCK_AFTER

# Extended clipboard
CLIP_FORMAT_TEXT = 1 << 0
CLIP_FORMAT_MASK = 0xFFFF
CLIP_ACTION_CAPS = 1 << 24
CLIP_ACTION_REQUEST = 1 << 25
CLIP_ACTION_PEEK = 1 << 26
CLIP_ACTION_NOTIFY = 1 << 27
CLIP_ACTION_PROVIDE = 1 << 28
CLIP_ACTION_MASK = 0x1F << 24

# ExtendedDesktopSize reasons / status
EDS_REASON_SERVER = 0
EDS_REASON_THIS_CLIENT = 1
EDS_REASON_OTHER_CLIENT = 2
EDS_STATUS_OK = 0
EDS_STATUS_PROHIBITED = 1
EDS_STATUS_OUT_OF_RESOURCES = 2
EDS_STATUS_INVALID_LAYOUT = 3

MAX_CUT_TEXT = 16 * 1024 * 1024
MAX_CLIPBOARD_TEXT = 16 * 1024 * 1024
VERSION_RE = re.compile(rb"RFB (\d{3})\.(\d{3})\n")


def _encode_compact_name(name: str) -> bytes:
    return name.encode("utf-8")


# --- pixel format -------------------------------------------------------------------------


class PixelFormatError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PixelFormat:
    bits_per_pixel: int = 32
    depth: int = 24
    big_endian: bool = False
    true_colour: bool = True
    red_max: int = 255
    green_max: int = 255
    blue_max: int = 255
    red_shift: int = 16
    green_shift: int = 8
    blue_shift: int = 0

    STRUCT = struct.Struct(">BBBBHHHBBB3x")

    @property
    def bytes_per_pixel(self) -> int:
        return self.bits_per_pixel // 8

    def pack(self) -> bytes:
        return self.STRUCT.pack(
            self.bits_per_pixel,
            self.depth,
            int(self.big_endian),
            int(self.true_colour),
            self.red_max,
            self.green_max,
            self.blue_max,
            self.red_shift,
            self.green_shift,
            self.blue_shift,
        )

    @classmethod
    def unpack(cls, data: bytes) -> PixelFormat:
        bpp, depth, be, tc, rm, gm, bm, rs, gs, bs = cls.STRUCT.unpack(data)
        return cls(bpp, depth, be != 0, tc != 0, rm, gm, bm, rs, gs, bs)

    def validate(self) -> None:
        """Raise PixelFormatError unless this is a format the server can produce."""
        if self.bits_per_pixel not in (8, 16, 32):
            raise PixelFormatError(f"bits-per-pixel {self.bits_per_pixel} is not 8, 16 or 32")
        if not 0 < self.depth <= self.bits_per_pixel:
            raise PixelFormatError(f"depth {self.depth} with {self.bits_per_pixel} bpp")
        if not self.true_colour:
            if self.bits_per_pixel != 8:
                raise PixelFormatError("colour-map formats are supported only at 8 bpp")
            return
        for colour, maximum, shift in (
            ("red", self.red_max, self.red_shift),
            ("green", self.green_max, self.green_shift),
            ("blue", self.blue_max, self.blue_shift),
        ):
            if maximum == 0:
                raise PixelFormatError(f"{colour}-max is 0")
            if shift + maximum.bit_length() > self.bits_per_pixel:
                raise PixelFormatError(f"{colour} does not fit in {self.bits_per_pixel} bits")

    @property
    def is_tpixel(self) -> bool:
        """Tight's 3-byte TPIXEL (R, G, B) applies to this format."""
        return (
            self.true_colour
            and self.bits_per_pixel == 32
            and self.depth == 24
            and self.red_max == self.green_max == self.blue_max == 255
        )

    @property
    def cpixel_slice(self) -> slice | None:
        """ZRLE's 3-byte CPIXEL: which bytes of the 4-byte PIXEL to keep, or None (full PIXEL)."""
        if not (self.true_colour and self.bits_per_pixel == 32 and self.depth <= 24):
            return None
        mask = (
            (self.red_max << self.red_shift)
            | (self.green_max << self.green_shift)
            | (self.blue_max << self.blue_shift)
        )
        fits_low = mask < (1 << 24)
        fits_high = (mask & 0xFF) == 0
        if fits_low:  # the three least significant bytes (preferred when both fit)
            return slice(0, 3) if not self.big_endian else slice(1, 4)
        if fits_high:
            return slice(1, 4) if not self.big_endian else slice(0, 3)
        return None


# The capture format: B, G, R, X bytes in memory (X11 ZPixmap depth 24 on little endian).
SERVER_PIXEL_FORMAT = PixelFormat()
# Answer for colour-map clients: 8-bit BGR233 through a fixed colour map.
BGR233_PIXEL_FORMAT = PixelFormat(8, 8, False, True, 7, 7, 3, 0, 3, 6)


def bgr233_colour_map() -> list[tuple[int, int, int]]:
    entries = []
    for value in range(256):
        r, g, b = value & 7, (value >> 3) & 7, (value >> 6) & 3
        entries.append((r * 65535 // 7, g * 65535 // 7, b * 65535 // 3))
    return entries


@dataclass(frozen=True, slots=True)
class Screen:
    """One RFB screen (ExtendedDesktopSize): a viewport into the framebuffer."""

    id: int
    x: int
    y: int
    width: int
    height: int
    flags: int = 0

    def pack(self) -> bytes:
        return struct.pack(">IHHHHI", self.id, self.x, self.y, self.width, self.height, self.flags)


# --- events -------------------------------------------------------------------------------


class Event:
    """Base class of everything `receive_data` returns."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class VersionAgreed(Event):
    version: tuple[int, int]


@dataclass(frozen=True, slots=True)
class AuthenticationFailed(Event):
    reason: str


@dataclass(frozen=True, slots=True)
class ConnectionRefused(Event):
    """The server could not serve a screen (see RfbServer's `refusal`); the viewer was told."""

    reason: str


@dataclass(frozen=True, slots=True)
class ClientInitDone(Event):
    shared: bool


@dataclass(frozen=True, slots=True)
class PixelFormatSet(Event):
    pixel_format: PixelFormat


@dataclass(frozen=True, slots=True)
class EncodingsSet(Event):
    encodings: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class UpdateRequested(Event):
    incremental: bool
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class KeyEvent(Event):
    down: bool
    keysym: int


@dataclass(frozen=True, slots=True)
class QemuKeyEvent(Event):
    down: bool
    keysym: int
    keycode: int  # XT scancode; extended keys as 0xE0xx or 0x80|code (QEMU's convention)


@dataclass(frozen=True, slots=True)
class PointerEvent(Event):
    buttons: int
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class ClientCutText(Event):
    text: str


@dataclass(frozen=True, slots=True)
class FenceReceived(Event):
    flags: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class EnableContinuousUpdates(Event):
    enable: bool
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class SetDesktopSize(Event):
    width: int
    height: int
    screens: tuple[Screen, ...]


@dataclass(frozen=True, slots=True)
class XvpRequested(Event):
    version: int
    code: int


@dataclass(frozen=True, slots=True)
class ProtocolViolation(Event):
    reason: str


class _State(Enum):
    VERSION = auto()
    SECURITY_TYPE = auto()
    VNC_AUTH = auto()
    CLIENT_INIT = auto()
    NORMAL = auto()
    CLOSED = auto()


# --- VNC authentication -------------------------------------------------------------------


def _reverse_bits(byte: int) -> int:
    return int(f"{byte:08b}"[::-1], 2)


def vnc_auth_response(password: str | bytes, challenge: bytes) -> bytes:
    """DES-encrypt the 16-byte challenge with the password, VNC style (bit-reversed key bytes)."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    raw = password.encode("latin-1", "replace") if isinstance(password, str) else password
    key = bytes(_reverse_bits(b) for b in raw[:8].ljust(8, b"\0"))
    # Three equal keys make 3DES exactly single DES.
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


# --- the server ---------------------------------------------------------------------------


def rect_header(x: int, y: int, width: int, height: int, encoding: int) -> bytes:
    return struct.pack(">HHHHi", x, y, width, height, encoding)


@dataclass(slots=True)
class ClientCapabilities:
    """What the client announced in SetEncodings, digested."""

    encodings: tuple[int, ...] = ()
    quality: int | None = None  # JPEG quality level 0..9, None = no JPEG
    compression: int | None = None  # compression level 0..9
    cursor: bool = False
    desktop_size: bool = False
    extended_desktop_size: bool = False
    last_rect: bool = False
    fence: bool = False
    continuous_updates: bool = False
    qemu_key: bool = False
    extended_clipboard: bool = False
    desktop_name: bool = False

    @classmethod
    def from_encodings(cls, encodings: Sequence[int]) -> ClientCapabilities:
        caps = cls(encodings=tuple(encodings))
        for enc in encodings:
            if ENC_JPEG_QUALITY_0 <= enc <= ENC_JPEG_QUALITY_9 and caps.quality is None:
                caps.quality = enc - ENC_JPEG_QUALITY_0
            elif ENC_COMPRESS_LEVEL_0 <= enc <= ENC_COMPRESS_LEVEL_9 and caps.compression is None:
                caps.compression = enc - ENC_COMPRESS_LEVEL_0
        present = set(encodings)
        caps.cursor = ENC_CURSOR in present
        caps.desktop_size = ENC_DESKTOP_SIZE in present
        caps.extended_desktop_size = ENC_EXTENDED_DESKTOP_SIZE in present
        caps.last_rect = ENC_LAST_RECT in present
        caps.fence = ENC_FENCE in present
        caps.continuous_updates = ENC_CONTINUOUS_UPDATES in present
        caps.qemu_key = ENC_QEMU_EXT_KEY in present
        caps.extended_clipboard = ENC_EXTENDED_CLIPBOARD in present
        caps.desktop_name = ENC_DESKTOP_NAME in present
        return caps

    def preferred(self, supported: Iterable[int]) -> int:
        """The first encoding in the client's order that the server supports; Raw otherwise."""
        allowed = set(supported)
        for enc in self.encodings:
            if enc in allowed:
                return enc
        return ENC_RAW


@dataclass(slots=True)
class _Clipboard:
    client_caps: int = 0  # the client's caps flags (formats | actions)
    client_sizes: dict[int, int] = field(default_factory=dict)
    pending_text: str | None = None  # what we notified the client of, served on request


class RfbServer:
    """The server side of one RFB connection.

    Args:
        width, height: the framebuffer size announced in ServerInit.
        name: the desktop name.
        password: None offers security type None; a password offers VNC Authentication only.
        challenge: a function returning 16 random bytes (tests make it deterministic).
        refusal: a reason not to serve at all (no screen to share): once the versions are
            agreed, the viewer gets it the way RFB reports a failed connection (no security
            types and the reason), and the machine closes.
    """

    def __init__(
        self,
        *,
        width: int,
        height: int,
        name: str = "relaydesk",
        password: str | None = None,
        screens: Sequence[Screen] | None = None,
        challenge: Callable[[], bytes] | None = None,
        max_cut_text: int = MAX_CUT_TEXT,
        refusal: str | None = None,
    ) -> None:
        self._refusal = refusal
        self.width = width
        self.height = height
        self.name = name
        self.screens: tuple[Screen, ...] = tuple(screens or (Screen(0, 0, 0, width, height),))
        self._password = password
        self._challenge_source = challenge or (lambda: os.urandom(16))
        self._max_cut_text = max_cut_text
        self._in = bytearray()
        self._out = bytearray()
        self._state = _State.VERSION
        self.version: tuple[int, int] = (3, 8)
        self._challenge = b""
        self.close_reason: str | None = None
        self.pixel_format: PixelFormat = SERVER_PIXEL_FORMAT
        self.caps = ClientCapabilities()
        self.shared = False
        self._fence_announced = False
        self._cu_announced = False
        self.continuous_updates = False
        self.continuous_area: tuple[int, int, int, int] = (0, 0, width, height)
        self._clip = _Clipboard()
        self._clip_announced = False
        self._out.extend(b"RFB 003.008\n")

    # -- state -----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._state is _State.CLOSED

    @property
    def ready(self) -> bool:
        """Handshake done: the normal message phase."""
        return self._state is _State.NORMAL

    def close(self, reason: str = "closed by server") -> None:
        if self._state is not _State.CLOSED:
            self._state = _State.CLOSED
            self.close_reason = reason
            self._in.clear()

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    @property
    def pending_output(self) -> int:
        return len(self._out)

    # -- input -----------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Event]:
        """Parse client bytes; never raises for any input."""
        events: list[Event] = []
        if self._state is _State.CLOSED:
            return events
        self._in.extend(data)
        try:
            while self._state is not _State.CLOSED:
                before = len(self._in)
                state = self._state
                self._step(events)
                if len(self._in) == before and self._state is state:
                    break
        except Exception as error:  # a bug must not take the agent down: close with a reason
            self._violation(events, f"internal error while parsing: {error!r}")
        return events

    def _violation(self, events: list[Event], reason: str) -> None:
        events.append(ProtocolViolation(reason))
        self.close(reason)

    def _step(self, events: list[Event]) -> None:
        if self._state is _State.VERSION:
            self._read_version(events)
        elif self._state is _State.SECURITY_TYPE:
            self._read_security_type(events)
        elif self._state is _State.VNC_AUTH:
            self._read_vnc_auth(events)
        elif self._state is _State.CLIENT_INIT:
            if self._in:
                shared = self._in[0] != 0
                del self._in[:1]
                self.shared = shared
                self._send_server_init()
                self._state = _State.NORMAL
                events.append(ClientInitDone(shared))
        elif self._state is _State.NORMAL:
            self._read_message(events)

    def _read_version(self, events: list[Event]) -> None:
        if len(self._in) < 12:
            if not b"RFB ".startswith(bytes(self._in[:4])):
                self._violation(events, "not an RFB client (bad ProtocolVersion)")
            return
        match = VERSION_RE.fullmatch(bytes(self._in[:12]))
        del self._in[:12]
        if not match:
            self._violation(events, "malformed ProtocolVersion")
            return
        major, minor = int(match.group(1)), int(match.group(2))
        if major != 3:
            self._violation(events, f"unsupported protocol version {major}.{minor}")
            return
        self.version = (3, 8) if minor >= 8 else (3, 7) if minor == 7 else (3, 3)
        events.append(VersionAgreed(self.version))
        if self._refusal is not None:
            # 3.3: security type 0 (invalid); 3.7 and 3.8: an empty list. Then the reason.
            encoded = self._refusal.encode()
            self._out.extend(b"\0\0\0\0" if self.version == (3, 3) else b"\0")
            self._out.extend(struct.pack(">I", len(encoded)) + encoded)
            events.append(ConnectionRefused(self._refusal))
            self.close(self._refusal)
            return
        security = SECURITY_VNC_AUTH if self._password is not None else SECURITY_NONE
        if self.version == (3, 3):
            self._out.extend(struct.pack(">I", security))
            self._after_security_chosen(security)
        else:
            self._out.extend(bytes([1, security]))
            self._state = _State.SECURITY_TYPE

    def _read_security_type(self, events: list[Event]) -> None:
        if not self._in:
            return
        chosen = self._in[0]
        del self._in[:1]
        offered = SECURITY_VNC_AUTH if self._password is not None else SECURITY_NONE
        if chosen != offered:
            reason = f"security type {chosen} was not offered"
            if self.version == (3, 8):
                self._send_security_failure(reason)
            self._violation(events, reason)
            return
        self._after_security_chosen(chosen)

    def _after_security_chosen(self, security: int) -> None:
        if security == SECURITY_NONE:
            if self.version == (3, 8):
                self._out.extend(struct.pack(">I", 0))
            self._state = _State.CLIENT_INIT
        else:
            self._challenge = bytes(self._challenge_source())[:16].ljust(16, b"\0")
            self._out.extend(self._challenge)
            self._state = _State.VNC_AUTH

    def _read_vnc_auth(self, events: list[Event]) -> None:
        if len(self._in) < 16:
            return
        response = bytes(self._in[:16])
        del self._in[:16]
        assert self._password is not None
        expected = vnc_auth_response(self._password, self._challenge)
        if hmac.compare_digest(response, expected):
            self._out.extend(struct.pack(">I", 0))
            self._state = _State.CLIENT_INIT
            return
        reason = "authentication failed"
        self._send_security_failure(reason)
        events.append(AuthenticationFailed(reason))
        self.close(reason)

    def _send_security_failure(self, reason: str) -> None:
        self._out.extend(struct.pack(">I", 1))
        if self.version == (3, 8):
            encoded = reason.encode()
            self._out.extend(struct.pack(">I", len(encoded)) + encoded)

    def _send_server_init(self) -> None:
        name = _encode_compact_name(self.name)
        self._out.extend(struct.pack(">HH", self.width, self.height))
        self._out.extend(SERVER_PIXEL_FORMAT.pack())
        self._out.extend(struct.pack(">I", len(name)) + name)

    # -- normal phase ----------------------------------------------------------------------

    def _read_message(self, events: list[Event]) -> None:  # noqa: C901 - a dispatch table
        buf = self._in
        if not buf:
            return
        kind = buf[0]
        if kind == C_SET_PIXEL_FORMAT:
            if len(buf) < 20:
                return
            pf = PixelFormat.unpack(bytes(buf[4:20]))
            del buf[:20]
            try:
                pf.validate()
            except PixelFormatError as error:
                self._violation(events, f"SetPixelFormat: {error}")
                return
            if not pf.true_colour:
                self._send_colour_map(bgr233_colour_map())
                pf = BGR233_PIXEL_FORMAT
            self.pixel_format = pf
            events.append(PixelFormatSet(pf))
        elif kind == C_SET_ENCODINGS:
            if len(buf) < 4:
                return
            (count,) = struct.unpack_from(">H", buf, 2)
            if len(buf) < 4 + 4 * count:
                return
            encodings = struct.unpack_from(f">{count}i", buf, 4)
            del buf[: 4 + 4 * count]
            self.caps = ClientCapabilities.from_encodings(encodings)
            self._announce_extensions()
            events.append(EncodingsSet(tuple(encodings)))
        elif kind == C_FB_UPDATE_REQUEST:
            if len(buf) < 10:
                return
            inc, x, y, w, h = struct.unpack_from(">BHHHH", buf, 1)
            del buf[:10]
            events.append(UpdateRequested(inc != 0, x, y, w, h))
        elif kind == C_KEY_EVENT:
            if len(buf) < 8:
                return
            down, key = struct.unpack_from(">B2xI", buf, 1)
            del buf[:8]
            events.append(KeyEvent(down != 0, key))
        elif kind == C_POINTER_EVENT:
            if len(buf) < 6:
                return
            mask, x, y = struct.unpack_from(">BHH", buf, 1)
            del buf[:6]
            events.append(PointerEvent(mask, x, y))
        elif kind == C_CLIENT_CUT_TEXT:
            if len(buf) < 8:
                return
            (length,) = struct.unpack_from(">i", buf, 4)
            size = abs(length)
            if size > self._max_cut_text:
                self._violation(events, f"ClientCutText of {size} bytes is too long")
                return
            if len(buf) < 8 + size:
                return
            payload = bytes(buf[8 : 8 + size])
            del buf[: 8 + size]
            if length >= 0:
                events.append(ClientCutText(payload.decode("latin-1")))
            elif not self.caps.extended_clipboard:
                self._violation(events, "extended clipboard message without the pseudo-encoding")
            else:
                self._extended_clipboard(events, payload)
        elif kind == C_ENABLE_CONTINUOUS_UPDATES:
            if len(buf) < 10:
                return
            enable, x, y, w, h = struct.unpack_from(">BHHHH", buf, 1)
            del buf[:10]
            if not self._cu_announced:
                self._violation(events, "EnableContinuousUpdates before the server offered it")
                return
            if enable:
                self.continuous_updates = True
                self.continuous_area = (x, y, w, h)
            else:
                if self.continuous_updates:
                    self.continuous_updates = False
                self._out.append(S_END_OF_CONTINUOUS_UPDATES)
            events.append(EnableContinuousUpdates(enable != 0, x, y, w, h))
        elif kind == C_CLIENT_FENCE:
            if len(buf) < 9:
                return
            flags, length = struct.unpack_from(">3xIB", buf, 1)
            if length > 64:
                self._violation(events, f"Fence payload of {length} bytes (at most 64)")
                return
            if len(buf) < 9 + length:
                return
            payload = bytes(buf[9 : 9 + length])
            del buf[: 9 + length]
            if flags & FENCE_REQUEST:
                # Everything before it has been processed (we parse in order): answer now.
                self._send_fence(flags & FENCE_SUPPORTED, payload)
            events.append(FenceReceived(flags, payload))
        elif kind == C_SET_DESKTOP_SIZE:
            if len(buf) < 8:
                return
            w, h, count = struct.unpack_from(">xHHBx", buf, 1)
            if len(buf) < 8 + 16 * count:
                return
            screens = tuple(
                Screen(*struct.unpack_from(">IHHHHI", buf, 8 + 16 * i)) for i in range(count)
            )
            del buf[: 8 + 16 * count]
            events.append(SetDesktopSize(w, h, screens))
        elif kind == C_XVP:
            if len(buf) < 4:
                return
            version, code = buf[2], buf[3]
            del buf[:4]
            events.append(XvpRequested(version, code))
        elif kind == C_QEMU:
            if len(buf) < 2:
                return
            sub = buf[1]
            if sub != 0:
                self._violation(events, f"unsupported QEMU client message subtype {sub}")
                return
            if len(buf) < 12:
                return
            down, keysym, keycode = struct.unpack_from(">HII", buf, 2)
            del buf[:12]
            events.append(QemuKeyEvent(down != 0, keysym, keycode))
        else:
            self._violation(events, f"unknown client message type {kind}")

    def _announce_extensions(self) -> None:
        caps = self.caps
        if caps.fence and not self._fence_announced:
            self._fence_announced = True
            self._send_fence(FENCE_REQUEST, b"\0")
        if caps.continuous_updates and caps.fence and not self._cu_announced:
            self._cu_announced = True
            self._out.append(S_END_OF_CONTINUOUS_UPDATES)
        if caps.extended_clipboard and not self._clip_announced:
            self._clip_announced = True
            actions = CLIP_ACTION_REQUEST | CLIP_ACTION_PEEK | CLIP_ACTION_NOTIFY
            actions |= CLIP_ACTION_PROVIDE
            self._send_extended_clipboard(
                CLIP_ACTION_CAPS | actions | CLIP_FORMAT_TEXT,
                struct.pack(">I", MAX_CLIPBOARD_TEXT),
            )

    # -- extended clipboard ----------------------------------------------------------------

    def _extended_clipboard(self, events: list[Event], payload: bytes) -> None:
        if len(payload) < 4:
            self._violation(events, "extended clipboard message without flags")
            return
        (flags,) = struct.unpack_from(">I", payload)
        body = payload[4:]
        action = flags & CLIP_ACTION_MASK
        formats = flags & CLIP_FORMAT_MASK
        if action & CLIP_ACTION_CAPS:
            self._clip.client_caps = flags
            sizes: dict[int, int] = {}
            offset = 0
            for bit in range(16):
                if formats & (1 << bit):
                    if offset + 4 > len(body):
                        break
                    sizes[1 << bit] = struct.unpack_from(">I", body, offset)[0]
                    offset += 4
            self._clip.client_sizes = sizes
        elif action & CLIP_ACTION_NOTIFY:
            if formats & CLIP_FORMAT_TEXT:
                self._send_extended_clipboard(CLIP_ACTION_REQUEST | CLIP_FORMAT_TEXT, b"")
        elif action & CLIP_ACTION_PEEK:
            have = CLIP_FORMAT_TEXT if self._clip.pending_text is not None else 0
            self._send_extended_clipboard(CLIP_ACTION_NOTIFY | have, b"")
        elif action & CLIP_ACTION_REQUEST:
            if formats & CLIP_FORMAT_TEXT and self._clip.pending_text is not None:
                self._provide_text(self._clip.pending_text)
        elif action & CLIP_ACTION_PROVIDE:
            text = self._decode_provide(events, formats, body)
            if text is not None:
                events.append(ClientCutText(text))
        else:
            self._violation(events, f"extended clipboard action flags {action:#x}")

    def _decode_provide(self, events: list[Event], formats: int, body: bytes) -> str | None:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(body, MAX_CLIPBOARD_TEXT + 64)
        except zlib.error as error:
            self._violation(events, f"extended clipboard data: {error}")
            return None
        offset = 0
        text: str | None = None
        for bit in range(16):
            fmt = 1 << bit
            if not formats & fmt:
                continue
            if offset + 4 > len(data):
                self._violation(events, "extended clipboard data is truncated")
                return None
            (size,) = struct.unpack_from(">I", data, offset)
            offset += 4
            if offset + size > len(data):
                self._violation(events, "extended clipboard data is truncated")
                return None
            chunk = data[offset : offset + size]
            offset += size
            if fmt == CLIP_FORMAT_TEXT:
                text = chunk.rstrip(b"\0").decode("utf-8", "replace").replace("\r\n", "\n")
        return text

    def _provide_text(self, text: str) -> None:
        encoded = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8") + b"\0"
        raw = struct.pack(">I", len(encoded)) + encoded
        self._send_extended_clipboard(CLIP_ACTION_PROVIDE | CLIP_FORMAT_TEXT, zlib.compress(raw))

    def _send_extended_clipboard(self, flags: int, body: bytes) -> None:
        payload = struct.pack(">I", flags) + body
        self._out.extend(struct.pack(">B3xi", S_SERVER_CUT_TEXT, -len(payload)) + payload)

    # -- output ----------------------------------------------------------------------------

    def _send_fence(self, flags: int, payload: bytes) -> None:
        self._out.extend(struct.pack(">B3xIB", S_SERVER_FENCE, flags, len(payload)) + payload)

    def _send_colour_map(self, entries: Sequence[tuple[int, int, int]]) -> None:
        self._out.extend(struct.pack(">BxHH", S_SET_COLOUR_MAP, 0, len(entries)))
        for r, g, b in entries:
            self._out.extend(struct.pack(">HHH", r, g, b))

    def send_fence(self, payload: bytes = b"", flags: int = FENCE_REQUEST) -> bool:
        """Send a server Fence request (the client echoes it); False if the client lacks Fence."""
        if not self.ready or not self._fence_announced or len(payload) > 64:
            return False
        self._send_fence(flags | FENCE_REQUEST, payload)
        return True

    def send_update(self, rects: Sequence[bytes]) -> None:
        """A FramebufferUpdate with these rectangles (each: header + encoded data)."""
        if not self.ready:
            return
        if len(rects) > 0xFFFF:
            raise ValueError("more than 65535 rectangles in one update")
        self._out.extend(struct.pack(">BxH", S_FB_UPDATE, len(rects)))
        for rect in rects:
            self._out.extend(rect)

    def begin_update(self, count: int | None = None) -> None:
        """Start a FramebufferUpdate; `count` None needs LastRect (65535 + a LastRect rect)."""
        if not self.ready:
            return
        if count is None:
            if not self.caps.last_rect:
                raise ValueError("the client did not announce LastRect")
            count = 0xFFFF
        self._out.extend(struct.pack(">BxH", S_FB_UPDATE, count))

    def add_rect(self, rect: bytes) -> None:
        if self.ready:
            self._out.extend(rect)

    def end_update_last_rect(self) -> None:
        if self.ready:
            self._out.extend(rect_header(0, 0, 0, 0, ENC_LAST_RECT))

    def send_bell(self) -> None:
        if self.ready:
            self._out.append(S_BELL)

    def send_cut_text(self, text: str) -> None:
        """Offer the server clipboard: extended clipboard when the client has it, else Latin-1."""
        if not self.ready:
            return
        caps = self._clip.client_caps
        if self.caps.extended_clipboard and caps:
            self._clip.pending_text = text
            if caps & CLIP_ACTION_NOTIFY:
                self._send_extended_clipboard(CLIP_ACTION_NOTIFY | CLIP_FORMAT_TEXT, b"")
            else:
                self._provide_text(text)
            return
        data = text.replace("\r\n", "\n").encode("latin-1", "replace")
        self._out.extend(struct.pack(">B3xI", S_SERVER_CUT_TEXT, len(data)) + data)

    def set_screen(self, width: int, height: int, screens: Sequence[Screen] | None = None) -> None:
        """Change the framebuffer geometry known to the core (the caller sends the pseudo-rect)."""
        self.width, self.height = width, height
        self.screens = tuple(screens or (Screen(0, 0, 0, width, height),))

    def desktop_size_rect(self, reason: int = EDS_REASON_SERVER, status: int = 0) -> bytes | None:
        """The pseudo-rectangle announcing the framebuffer size, in the form the client supports."""
        if self.caps.extended_desktop_size:
            body = struct.pack(">B3x", len(self.screens)) + b"".join(s.pack() for s in self.screens)
            return (
                rect_header(reason, status, self.width, self.height, ENC_EXTENDED_DESKTOP_SIZE)
                + body
            )
        if self.caps.desktop_size:
            return rect_header(0, 0, self.width, self.height, ENC_DESKTOP_SIZE)
        return None

    def deny_desktop_size(self, status: int = EDS_STATUS_PROHIBITED) -> None:
        """Answer a SetDesktopSize at once: refused (the framebuffer follows the real display)."""
        if not self.ready or not self.caps.extended_desktop_size:
            return
        rect = self.desktop_size_rect(EDS_REASON_THIS_CLIENT, status)
        assert rect is not None
        self.send_update([rect])

    def end_continuous_updates(self) -> None:
        if self.ready and self.continuous_updates:
            self.continuous_updates = False
            self._out.append(S_END_OF_CONTINUOUS_UPDATES)
