"""Encoders round-trip through the reference decoders (tests/fixtures/decoders.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relaydesk.agent.screen.encodings import (
    TightEncoder,
    ZrleEncoder,
    compact_length,
    convert,
    copyrect_rect,
    cursor_rect,
    raw_rect,
)
from relaydesk.agent.screen.rfb import BGR233_PIXEL_FORMAT, SERVER_PIXEL_FORMAT, PixelFormat
from tests.fixtures.decoders import ClientFramebuffer, Reader, decode_rects, expected_values
from tests.fixtures.decoders import compact_length as decode_compact_length

NOVNC = PixelFormat(32, 24, False, True, 255, 255, 255, 0, 8, 16)
FORMATS = [
    SERVER_PIXEL_FORMAT,  # BGRX little endian
    NOVNC,  # RGBX little endian (noVNC)
    PixelFormat(32, 24, True, True, 255, 255, 255, 16, 8, 0),  # big endian
    PixelFormat(32, 24, False, True, 255, 255, 255, 24, 16, 8),  # colours in the high bytes
    PixelFormat(16, 16, False, True, 31, 63, 31, 11, 5, 0),  # RGB565 LE
    PixelFormat(16, 16, True, True, 31, 63, 31, 11, 5, 0),  # RGB565 BE
    PixelFormat(16, 15, False, True, 31, 31, 31, 10, 5, 0),  # RGB555
    PixelFormat(8, 8, False, True, 7, 7, 3, 0, 3, 6),  # BGR233
    PixelFormat(8, 6, False, True, 3, 3, 3, 4, 2, 0),  # 64 colours
    PixelFormat(32, 30, False, True, 1023, 1023, 1023, 20, 10, 0),  # 10 bit channels
]


def frames(max_side: int = 150) -> st.SearchStrategy[np.ndarray]:
    """Random BGRX frames with structure: solid areas, few-colour areas, noise, gradients."""

    @st.composite
    def build(draw: st.DrawFn) -> np.ndarray:
        h = draw(st.integers(1, max_side))
        w = draw(st.integers(1, max_side))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        kind = draw(st.sampled_from(["solid", "few", "noise", "mixed", "gradient"]))
        colours = rng.integers(0, 256, (draw(st.integers(1, 20)), 4), dtype=np.uint8)
        if kind == "solid":
            frame = np.broadcast_to(colours[0], (h, w, 4)).copy()
        elif kind == "few":
            frame = colours[rng.integers(0, len(colours), (h, w))]
        elif kind == "noise":
            frame = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        elif kind == "gradient":
            yy, xx = np.mgrid[0:h, 0:w]
            frame = np.stack([xx % 256, yy % 256, (xx + yy) % 256, xx * 0], -1).astype(np.uint8)
        else:
            frame = colours[rng.integers(0, len(colours), (h, w))]
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            frame[y0:, x0:] = rng.integers(0, 256, frame[y0:, x0:].shape, dtype=np.uint8)
            frame[: h // 2, : w // 3] = colours[0]
        frame[..., 3] = rng.integers(0, 256, (h, w), dtype=np.uint8)  # X byte is garbage
        return np.ascontiguousarray(frame)

    return build()


def test_compact_length_round_trip() -> None:
    for n in [0, 1, 127, 128, 16383, 16384, 4194303]:
        assert decode_compact_length(Reader(compact_length(n))) == n
    assert compact_length(10000) == bytes([0x90, 0x4E])


def test_convert_known_values() -> None:
    pixel = np.array([[[0x10, 0x80, 0xFF, 0x00]]], np.uint8)  # B=0x10 G=0x80 R=0xFF
    assert convert(pixel, SERVER_PIXEL_FORMAT).tobytes() == bytes([0x10, 0x80, 0xFF, 0x00])
    assert convert(pixel, NOVNC)[..., :3].tobytes() == bytes([0xFF, 0x80, 0x10])
    rgb565 = PixelFormat(16, 16, False, True, 31, 63, 31, 11, 5, 0)
    value = (31 << 11) | (32 << 5) | 2  # 0x80*63/255 = 31.6 -> 32, 0x10*31/255 = 1.9 -> 2
    assert convert(pixel, rgb565).tobytes() == value.to_bytes(2, "little")
    be = PixelFormat(16, 16, True, True, 31, 63, 31, 11, 5, 0)
    assert convert(pixel, be).tobytes() == value.to_bytes(2, "big")
    assert convert(pixel, BGR233_PIXEL_FORMAT).tobytes() == bytes([7 | (4 << 3) | (0 << 6)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from(FORMATS))
def test_raw_round_trip(frame: np.ndarray, pf: PixelFormat) -> None:
    h, w = frame.shape[:2]
    fb = ClientFramebuffer(w, h, pf)
    decode_rects(fb, [raw_rect(frame, 0, 0, w, h, pf)])
    assert np.array_equal(fb.fb, expected_values(frame, pf))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from(FORMATS), st.integers(0, 9))
def test_zrle_round_trip(frame: np.ndarray, pf: PixelFormat, level: int) -> None:
    h, w = frame.shape[:2]
    fb = ClientFramebuffer(w, h, pf)
    encoder = ZrleEncoder(level)
    # Two rectangles through the same zlib stream, then the whole frame again.
    decode_rects(fb, encoder.encode(frame, 0, 0, w, h // 2, pf))
    decode_rects(fb, encoder.encode(frame, 0, h // 2, w, h - h // 2, pf))
    assert np.array_equal(fb.fb, expected_values(frame, pf))
    decode_rects(fb, encoder.encode(frame, 0, 0, w, h, pf))
    assert np.array_equal(fb.fb, expected_values(frame, pf))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from(FORMATS), st.one_of(st.none(), st.integers(0, 9)))
def test_tight_lossless_round_trip(frame: np.ndarray, pf: PixelFormat, level: int | None) -> None:
    h, w = frame.shape[:2]
    fb = ClientFramebuffer(w, h, pf)
    encoder = TightEncoder()
    encoder.set_compression(level)
    for _ in range(2):  # the zlib streams carry over between updates
        decode_rects(fb, encoder.encode(frame, 0, 0, w, h, pf))
        assert np.array_equal(fb.fb, expected_values(frame, pf))
        assert not fb.jpeg_rects
    # A new level never resets a started stream (noVNC's inflater fails after a reset).
    encoder.set_compression(9 if level != 9 else 0)
    rects = encoder.encode(frame, 0, 0, w, h, pf)
    assert all(r[12] >= 0x80 or not r[12] & 0x0F for r in rects)  # the same streams, no reset
    decode_rects(fb, rects)
    assert np.array_equal(fb.fb, expected_values(frame, pf))


def test_tight_splits_wide_rectangles() -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (40, 3000, 4), dtype=np.uint8)
    encoder = TightEncoder()
    rects = encoder.encode(frame, 0, 0, 3000, 40, SERVER_PIXEL_FORMAT)
    assert len(rects) >= 2
    fb = ClientFramebuffer(3000, 40, SERVER_PIXEL_FORMAT)
    decode_rects(fb, rects)  # asserts every rectangle is at most 2048 wide
    assert np.array_equal(fb.fb, expected_values(frame, SERVER_PIXEL_FORMAT))


# JPEG: a photo-like (smooth) image; the mean absolute error per channel is bounded per level.
JPEG_MEAN_ERROR = {0: 12.0, 5: 6.0, 9: 2.0}


@pytest.mark.parametrize("quality", sorted(JPEG_MEAN_ERROR))
@pytest.mark.parametrize("pf", [SERVER_PIXEL_FORMAT, NOVNC])
def test_tight_jpeg_within_error_bound(quality: int, pf: PixelFormat) -> None:
    h, w = 200, 300
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    rng = np.random.default_rng(7)
    r = 128 + 100 * np.sin(xx / 23) * np.cos(yy / 17)
    g = 128 + 90 * np.sin((xx + yy) / 31)
    b = 128 + 60 * np.cos(xx / 11) + rng.normal(0, 4, (h, w))
    frame = np.stack([b, g, r, np.zeros_like(r)], -1).clip(0, 255).astype(np.uint8)
    fb = ClientFramebuffer(w, h, pf)
    rects = TightEncoder().encode(frame, 0, 0, w, h, pf, quality=quality)
    decode_rects(fb, rects)
    assert fb.jpeg_rects, "a smooth many-colour image goes out as JPEG"
    got = np.stack([(fb.fb >> s) & 0xFF for s in (pf.red_shift, pf.green_shift, pf.blue_shift)])
    want = np.stack([frame[..., 2], frame[..., 1], frame[..., 0]]).astype(np.int64)
    error = np.abs(got.astype(np.int64) - want).mean()
    assert error <= JPEG_MEAN_ERROR[quality], error
    size = sum(len(r) for r in rects)
    assert size < h * w * 3 / (4 if quality <= 5 else 1)  # smaller than raw 24-bit


def test_tight_jpeg_not_used_for_few_colours() -> None:
    frame = np.zeros((64, 64, 4), np.uint8)
    frame[::2, ::3] = (255, 255, 255, 0)
    fb = ClientFramebuffer(64, 64, NOVNC)
    decode_rects(fb, TightEncoder().encode(frame, 0, 0, 64, 64, NOVNC, quality=5))
    assert not fb.jpeg_rects
    assert np.array_equal(fb.fb, expected_values(frame, NOVNC))


def test_tight_fill_is_tiny() -> None:
    frame = np.full((500, 500, 4), 77, np.uint8)
    rects = TightEncoder().encode(frame, 0, 0, 500, 500, NOVNC)
    assert sum(len(r) for r in rects) <= 12 + 1 + 3 + 30 * 16


def test_copyrect() -> None:
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (50, 60, 4), dtype=np.uint8)
    fb = ClientFramebuffer(60, 50, SERVER_PIXEL_FORMAT)
    decode_rects(fb, [raw_rect(frame, 0, 0, 60, 50, SERVER_PIXEL_FORMAT)])
    decode_rects(fb, [copyrect_rect(0, 10, 60, 40, 0, 0)])
    moved = frame.copy()
    moved[10:50] = frame[0:40]
    assert np.array_equal(fb.fb, expected_values(moved, SERVER_PIXEL_FORMAT))


@pytest.mark.parametrize("pf", FORMATS[:5])
def test_cursor_pseudo_rect(pf: PixelFormat) -> None:
    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 256, (19, 13, 4), dtype=np.uint8)
    fb = ClientFramebuffer(100, 100, pf)
    decode_rects(fb, [cursor_rect(rgba, 4, 7, pf)])
    assert fb.cursor is not None
    hx, hy, pixels, mask = fb.cursor
    assert (hx, hy) == (4, 7)
    bgrx = np.stack([rgba[..., 2], rgba[..., 1], rgba[..., 0], rgba[..., 3]], -1)
    assert np.array_equal(pixels, expected_values(bgrx, pf))
    assert np.array_equal(mask, rgba[..., 3] >= 128)


def _glyph_text(h: int, w: int, colours: int) -> np.ndarray:
    """Lines of 6 x 13 'glyphs' (repeating bitmaps, like a terminal) in up to `colours` inks."""
    rng = np.random.default_rng(9)
    glyphs = rng.random((40, 13, 6)) < 0.3
    inks = [(255, 255, 255, 0), (0, 0, 200, 0), (0, 180, 0, 0), (200, 0, 0, 0)][: colours - 1]
    frame = np.zeros((h, w, 4), np.uint8)
    words = "the quick brown fox jumps over the lazy dog while the help desk watches "
    for row in range(h // 13):
        line = f"{row:07d} " + (words * 3)[row % 13 :]
        for col in range(min(w // 6, 70 + row % 20)):
            mask = glyphs[ord(line[col]) % 40]
            frame[row * 13 : row * 13 + 13, col * 6 : col * 6 + 6][mask] = inks[col % len(inks)]
    return frame


@pytest.mark.parametrize("colours", [2, 4])
@pytest.mark.parametrize("pf", [NOVNC, FORMATS[4]])
def test_tight_text_goes_as_palette_and_deflates_harder(colours: int, pf: PixelFormat) -> None:
    frame = _glyph_text(260, 1000, colours)
    sizes = {}
    for level in (0, 2):
        encoder = TightEncoder()
        encoder.set_compression(level)
        rects = encoder.encode(frame, 0, 0, 1000, 260, pf, quality=6)
        fb = ClientFramebuffer(1000, 260, pf)
        decode_rects(fb, rects)
        assert np.array_equal(fb.fb, expected_values(frame, pf))
        assert not fb.jpeg_rects, "text never goes as JPEG"
        sizes[level] = sum(len(r) for r in rects)
    # Palette streams deflate at zlib level 6 from compression level 1 on (1 at level 0): on
    # this synthetic text about 8 % smaller; on the benchmark's real xterm frames 2.4x.
    assert sizes[2] < 0.95 * sizes[0], sizes
