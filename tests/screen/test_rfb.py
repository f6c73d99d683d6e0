"""The sans-I/O RFB core: handshakes, message parsing, extensions, and never raising."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaydesk.agent.screen import rfb
from relaydesk.agent.screen.rfb import (
    AuthenticationFailed,
    ClientCutText,
    ClientInitDone,
    ConnectionRefused,
    EnableContinuousUpdates,
    EncodingsSet,
    FenceReceived,
    KeyEvent,
    PixelFormat,
    PixelFormatSet,
    PointerEvent,
    ProtocolViolation,
    QemuKeyEvent,
    RfbServer,
    SetDesktopSize,
    UpdateRequested,
    vnc_auth_response,
)

CHALLENGE = bytes(range(16))


def server(password: str | None = None) -> RfbServer:
    return RfbServer(
        width=640, height=480, name="test desk", password=password, challenge=lambda: CHALLENGE
    )


def handshake(srv: RfbServer, version: bytes = b"RFB 003.008\n") -> list[rfb.Event]:
    assert srv.data_to_send() == b"RFB 003.008\n"
    events = srv.receive_data(version)
    if srv.version == (3, 3):
        assert srv.data_to_send() == struct.pack(">I", 1)
    else:
        assert srv.data_to_send() == b"\x01\x01"
        events += srv.receive_data(b"\x01")
        result = srv.data_to_send()
        assert result == (struct.pack(">I", 0) if srv.version == (3, 8) else b"")
    events += srv.receive_data(b"\x01")
    init = srv.data_to_send()
    w, h = struct.unpack(">HH", init[:4])
    assert (w, h) == (640, 480)
    assert PixelFormat.unpack(init[4:20]) == rfb.SERVER_PIXEL_FORMAT
    (n,) = struct.unpack(">I", init[20:24])
    assert init[24 : 24 + n] == b"test desk"
    assert srv.ready
    return events


@pytest.mark.parametrize(
    "version",
    [b"RFB 003.008\n", b"RFB 003.007\n", b"RFB 003.003\n", b"RFB 003.005\n", b"RFB 003.889\n"],
)
def test_handshake_none(version: bytes) -> None:
    srv = server()
    events = handshake(srv, version)
    assert ClientInitDone(True) in events


def test_vnc_auth_vector() -> None:
    # vncdotool derives the key its own way (a standard client's view of VNC authentication).
    from vncdotool.rfb import _vnc_des, des_encrypt

    challenge = bytes(range(16))
    want = des_encrypt(_vnc_des("secret12"), challenge)
    assert vnc_auth_response("secret12", challenge) == want
    assert vnc_auth_response("secret123456", challenge) == want  # only 8 characters count
    assert vnc_auth_response("secret13", challenge) != want


def test_vnc_auth_ok_and_wrong() -> None:
    srv = server("hunter2")
    srv.data_to_send()
    srv.receive_data(b"RFB 003.008\n")
    assert srv.data_to_send() == b"\x01\x02"
    srv.receive_data(b"\x02")
    assert srv.data_to_send() == CHALLENGE
    srv.receive_data(vnc_auth_response("hunter2", CHALLENGE))
    assert srv.data_to_send() == struct.pack(">I", 0)
    srv.receive_data(b"\x00")
    assert srv.ready

    bad = server("hunter2")
    bad.data_to_send()
    bad.receive_data(b"RFB 003.008\n\x02")
    bad.data_to_send()
    events = bad.receive_data(vnc_auth_response("hunter3", CHALLENGE))
    assert isinstance(events[0], AuthenticationFailed)
    out = bad.data_to_send()
    assert out[:4] == struct.pack(">I", 1) and b"authentication failed" in out
    assert bad.closed
    assert bad.receive_data(b"\x00" * 50) == []


def test_vnc_auth_33() -> None:
    srv = server("pw")
    srv.data_to_send()
    srv.receive_data(b"RFB 003.003\n")
    assert srv.data_to_send() == struct.pack(">I", 2) + CHALLENGE
    srv.receive_data(vnc_auth_response("pw", CHALLENGE) + b"\x01")
    out = srv.data_to_send()
    assert out[:4] == struct.pack(">I", 0) and srv.ready


def test_security_type_not_offered() -> None:
    srv = server("pw")
    srv.data_to_send()
    events = srv.receive_data(b"RFB 003.008\n\x01")
    assert isinstance(events[-1], ProtocolViolation) and srv.closed
    assert srv.data_to_send().startswith(b"\x01\x02" + struct.pack(">I", 1))


@pytest.mark.parametrize(
    ("version", "no_security"),
    [(b"RFB 003.008\n", b"\x00"), (b"RFB 003.007\n", b"\x00"), (b"RFB 003.003\n", b"\0\0\0\0")],
)
def test_refusal_reaches_the_viewer_as_rfb_says_it(version: bytes, no_security: bytes) -> None:
    reason = "no screen to share: the X display :9 cannot be opened"
    srv = RfbServer(width=0, height=0, refusal=reason)
    assert srv.data_to_send() == b"RFB 003.008\n"
    events = srv.receive_data(version)
    assert events[-1] == ConnectionRefused(reason) and srv.closed
    assert srv.close_reason == reason
    encoded = reason.encode()
    assert srv.data_to_send() == no_security + struct.pack(">I", len(encoded)) + encoded
    assert srv.receive_data(b"\x01") == []


@pytest.mark.parametrize("junk", [b"GET / HTTP/1.1\r\n", b"RFB 004.000\n", b"RFB 003.00x\n"])
def test_bad_version(junk: bytes) -> None:
    srv = server()
    events = srv.receive_data(junk)
    assert isinstance(events[-1], ProtocolViolation) and srv.closed


def ready_server() -> RfbServer:
    srv = server()
    handshake(srv)
    return srv


NOVNC_PF = PixelFormat(32, 24, False, True, 255, 255, 255, 0, 8, 16)


def msg_set_pixel_format(pf: PixelFormat) -> bytes:
    return b"\x00\x00\x00\x00" + pf.pack()


def msg_set_encodings(encs: list[int]) -> bytes:
    return struct.pack(">BxH", 2, len(encs)) + b"".join(struct.pack(">i", e) for e in encs)


def test_messages_in_one_chunk_and_byte_by_byte() -> None:
    stream = (
        msg_set_pixel_format(NOVNC_PF)
        + msg_set_encodings([7, 16, 0, -239, -224])
        + struct.pack(">BBHHHH", 3, 1, 0, 0, 640, 480)
        + struct.pack(">BBxxI", 4, 1, 0x61)
        + struct.pack(">BBHH", 5, 1, 10, 20)
        + struct.pack(">BxxxI", 6, 5)
        + b"h\xe9llo"
        + struct.pack(">BBHII", 255, 0, 1, 0xFF0D, 0x1C)
    )
    expected = [
        PixelFormatSet(NOVNC_PF),
        EncodingsSet((7, 16, 0, -239, -224)),
        UpdateRequested(True, 0, 0, 640, 480),
        KeyEvent(True, 0x61),
        PointerEvent(1, 10, 20),
        ClientCutText("h\xe9llo"),
        QemuKeyEvent(True, 0xFF0D, 0x1C),
    ]
    srv = ready_server()
    assert srv.receive_data(stream) == expected
    assert srv.caps.cursor and srv.caps.last_rect and srv.pixel_format == NOVNC_PF
    srv2 = ready_server()
    got = []
    for i in range(len(stream)):
        got += srv2.receive_data(stream[i : i + 1])
    assert got == expected


def test_colour_map_client_gets_bgr233() -> None:
    srv = ready_server()
    cmap_pf = PixelFormat(8, 8, False, False, 0, 0, 0, 0, 0, 0)
    events = srv.receive_data(msg_set_pixel_format(cmap_pf))
    assert events == [PixelFormatSet(rfb.BGR233_PIXEL_FORMAT)]
    out = srv.data_to_send()
    assert out[0] == 1 and struct.unpack(">H", out[4:6])[0] == 256


@pytest.mark.parametrize(
    "message",
    [
        b"\x07",  # unknown type
        msg_set_pixel_format(PixelFormat(24, 24, False, True, 255, 255, 255, 16, 8, 0)),
        msg_set_pixel_format(PixelFormat(16, 16, False, True, 255, 255, 255, 16, 8, 0)),
        msg_set_pixel_format(PixelFormat(32, 24, False, True, 0, 255, 255, 16, 8, 0)),
        struct.pack(">BxxxI", 6, 0x7FFFFFFF),  # absurd cut text
        struct.pack(">BBHHHH", 150, 1, 0, 0, 10, 10),  # continuous updates never offered
        struct.pack(">BxxxIB", 248, 0, 200),  # fence payload > 64
        struct.pack(">BB", 255, 7),  # unknown QEMU subtype
        struct.pack(">Bxxxi", 6, -8) + b"\0" * 8,  # extended clipboard never negotiated
    ],
)
def test_violations_close_with_reason(message: bytes) -> None:
    srv = ready_server()
    events = srv.receive_data(message + b"\x03" * 20)
    assert isinstance(events[-1], ProtocolViolation)
    assert srv.closed and srv.close_reason
    assert srv.receive_data(b"\x04" * 8) == []


def test_fence_and_continuous_updates() -> None:
    srv = ready_server()
    srv.receive_data(msg_set_encodings([7, rfb.ENC_FENCE, rfb.ENC_CONTINUOUS_UPDATES]))
    out = srv.data_to_send()
    # A fence request first (announces Fence), then EndOfContinuousUpdates (announces CU)
    flags, length = struct.unpack(">xxxxIB", out[:9])
    assert out[0] == 248 and flags & rfb.FENCE_REQUEST
    assert out[9 + length :] == b"\x96"
    # The client answers a fence request of ours...
    events = srv.receive_data(struct.pack(">BxxxIB", 248, 0, 1) + b"\0")
    assert events == [FenceReceived(0, b"\0")]
    assert srv.data_to_send() == b""
    # ...and we answer its requests at once, dropping flags we don't support.
    flags = rfb.FENCE_REQUEST | rfb.FENCE_BLOCK_BEFORE | rfb.FENCE_SYNC_NEXT
    srv.receive_data(struct.pack(">BxxxIB", 248, flags, 3) + b"abc")
    assert srv.data_to_send() == struct.pack(">BxxxIB", 248, rfb.FENCE_BLOCK_BEFORE, 3) + b"abc"
    events = srv.receive_data(struct.pack(">BBHHHH", 150, 1, 0, 0, 640, 480))
    assert events == [EnableContinuousUpdates(True, 0, 0, 640, 480)] and srv.continuous_updates
    srv.receive_data(struct.pack(">BBHHHH", 150, 0, 0, 0, 640, 480))
    assert not srv.continuous_updates and srv.data_to_send() == b"\x96"
    assert srv.send_fence(b"x")


def test_set_desktop_size_is_refused_with_extended_desktop_size() -> None:
    srv = ready_server()
    srv.receive_data(msg_set_encodings([rfb.ENC_EXTENDED_DESKTOP_SIZE]))
    msg = struct.pack(">BxHHBx", 251, 800, 600, 1) + struct.pack(">IHHHHI", 0, 0, 0, 800, 600, 0)
    events = srv.receive_data(msg)
    assert events == [SetDesktopSize(800, 600, (rfb.Screen(0, 0, 0, 800, 600, 0),))]
    srv.deny_desktop_size()
    out = srv.data_to_send()
    x, y, w, h, enc = struct.unpack(">HHHHi", out[4:16])
    assert (x, y, w, h, enc) == (1, 1, 640, 480, rfb.ENC_EXTENDED_DESKTOP_SIZE)


def test_extended_clipboard_both_ways() -> None:
    srv = ready_server()
    srv.receive_data(msg_set_encodings([rfb.ENC_EXTENDED_CLIPBOARD]))
    caps = srv.data_to_send()
    (length,) = struct.unpack(">i", caps[4:8])
    (flags,) = struct.unpack(">I", caps[8:12])
    assert caps[0] == 3 and length < 0 and flags & rfb.CLIP_ACTION_CAPS

    def ext(flags: int, body: bytes = b"") -> bytes:
        payload = struct.pack(">I", flags) + body
        return struct.pack(">Bxxxi", 6, -len(payload)) + payload

    # Client caps: text, notify/request/provide
    client_caps = rfb.CLIP_ACTION_CAPS | rfb.CLIP_ACTION_NOTIFY | rfb.CLIP_ACTION_REQUEST
    client_caps |= rfb.CLIP_ACTION_PROVIDE | rfb.CLIP_FORMAT_TEXT
    assert srv.receive_data(ext(client_caps, struct.pack(">I", 1 << 20))) == []
    # Client notifies -> we request
    srv.receive_data(ext(rfb.CLIP_ACTION_NOTIFY | rfb.CLIP_FORMAT_TEXT))
    out = srv.data_to_send()
    assert struct.unpack(">I", out[8:12])[0] == rfb.CLIP_ACTION_REQUEST | rfb.CLIP_FORMAT_TEXT
    # Client provides UTF-8 text
    text = "Grüße 你好\r\nzwei"
    raw = text.encode() + b"\0"
    body = zlib.compress(struct.pack(">I", len(raw)) + raw)
    events = srv.receive_data(ext(rfb.CLIP_ACTION_PROVIDE | rfb.CLIP_FORMAT_TEXT, body))
    assert events == [ClientCutText("Grüße 你好\nzwei")]
    # Server -> client: notify, the client requests, we provide
    srv.send_cut_text("мир\n2")
    out = srv.data_to_send()
    assert struct.unpack(">I", out[8:12])[0] == rfb.CLIP_ACTION_NOTIFY | rfb.CLIP_FORMAT_TEXT
    srv.receive_data(ext(rfb.CLIP_ACTION_REQUEST | rfb.CLIP_FORMAT_TEXT))
    out = srv.data_to_send()
    assert struct.unpack(">I", out[8:12])[0] == rfb.CLIP_ACTION_PROVIDE | rfb.CLIP_FORMAT_TEXT
    data = zlib.decompress(out[12:])
    (size,) = struct.unpack(">I", data[:4])
    assert data[4 : 4 + size] == "мир\r\n2".encode() + b"\0"


def test_classic_cut_text_out() -> None:
    srv = ready_server()
    srv.send_cut_text("héllo")
    assert srv.data_to_send() == struct.pack(">BxxxI", 3, 5) + "héllo".encode("latin-1")


def test_update_framing_and_last_rect() -> None:
    srv = ready_server()
    srv.send_update([rfb.rect_header(0, 0, 1, 1, 0) + b"\0\0\0\0"])
    out = srv.data_to_send()
    assert out[:4] == b"\x00\x00\x00\x01" and len(out) == 4 + 12 + 4
    with pytest.raises(ValueError):
        srv.begin_update()  # LastRect not announced
    srv.receive_data(msg_set_encodings([rfb.ENC_LAST_RECT]))
    srv.begin_update()
    srv.end_update_last_rect()
    assert srv.data_to_send() == b"\x00\x00\xff\xff" + rfb.rect_header(0, 0, 0, 0, -224)


# --- property-based ---------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=300),
    st.sampled_from([None, "pw"]),
    st.lists(st.integers(1, 40), max_size=10),
)
def test_random_bytes_never_raise(data: bytes, password: str | None, cuts: list[int]) -> None:
    srv = server(password)
    pos = 0
    for cut in [*cuts, len(data)]:
        events = srv.receive_data(data[pos : pos + cut])
        pos += cut
        assert all(isinstance(e, rfb.Event) for e in events)
        srv.data_to_send()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(1, 60), max_size=10))
def test_random_bytes_after_handshake_never_raise(data: bytes, cuts: list[int]) -> None:
    srv = ready_server()
    srv.receive_data(
        msg_set_encodings([rfb.ENC_FENCE, rfb.ENC_CONTINUOUS_UPDATES, rfb.ENC_EXTENDED_CLIPBOARD])
    )
    pos = 0
    for cut in [*cuts, len(data)]:
        events = srv.receive_data(data[pos : pos + cut])
        pos += cut
        for event in events:
            if isinstance(event, ProtocolViolation):
                assert srv.closed and event.reason


u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
valid_messages = st.one_of(
    st.builds(
        lambda e: (msg_set_encodings(e), EncodingsSet(tuple(e))),
        st.lists(st.integers(-(2**31), 2**31 - 1), max_size=20),
    ),
    st.builds(
        lambda i, x, y, w, h: (
            struct.pack(">BBHHHH", 3, i, x, y, w, h),
            UpdateRequested(bool(i), x, y, w, h),
        ),
        st.integers(0, 1),
        u16,
        u16,
        u16,
        u16,
    ),
    st.builds(
        lambda d, k: (struct.pack(">BBxxI", 4, d, k), KeyEvent(bool(d), k)), st.integers(0, 1), u32
    ),
    st.builds(
        lambda b, x, y: (struct.pack(">BBHH", 5, b, x, y), PointerEvent(b, x, y)),
        st.integers(0, 255),
        u16,
        u16,
    ),
    st.builds(
        lambda t: (struct.pack(">BxxxI", 6, len(t)) + t, ClientCutText(t.decode("latin-1"))),
        st.binary(max_size=100),
    ),
    st.builds(
        lambda d, s, c: (struct.pack(">BBHII", 255, 0, d, s, c), QemuKeyEvent(bool(d), s, c)),
        st.integers(0, 1),
        u32,
        u32,
    ),
    st.builds(
        lambda p: (struct.pack(">BxxxIB", 248, 0, len(p)) + p, FenceReceived(0, p)),
        st.binary(max_size=64),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(valid_messages, max_size=15), st.lists(st.integers(1, 30), max_size=30))
def test_random_message_sequences_parse_back(messages: list, cuts: list[int]) -> None:
    srv = ready_server()
    stream = b"".join(m for m, _ in messages)
    got: list[rfb.Event] = []
    pos = 0
    for cut in [*cuts, len(stream)]:
        got += srv.receive_data(stream[pos : pos + cut])
        pos += cut
    assert got == [e for _, e in messages]
    assert not srv.closed
