"""Tight encoding (7): fill, basic (copy / palette / mono over four zlib streams) and JPEG.

Choice per rectangle (after splitting to at most 2048 pixels wide, which decoders require):
  one colour                      -> fill
  two colours                     -> basic, palette filter, 1 bit per pixel (stream 1)
  up to 16 colours (64 w/o JPEG)  -> basic, palette filter, 8 bits per pixel (stream 2)
  more, JPEG allowed              -> JPEG (client sent a quality level, 16 or 32 bpp)
  more, no JPEG                   -> basic, copy filter (stream 0)
Data under 12 bytes is sent uncompressed, as the format says. Compression level (0..9) picks
the zlib level of each stream when it starts; a stream in use is never reset (see
set_compression).
"""

from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image

from relaydesk.agent.screen.encodings.pixels import keys, tpixels
from relaydesk.agent.screen.rfb import ENC_TIGHT, PixelFormat, rect_header

MAX_WIDTH = 2048
MAX_BASIC_AREA = 65536
MAX_JPEG_AREA = 2048 * 256
MIN_JPEG_AREA = 256
MIN_SPLIT_HEIGHT = 1

FILL = 0x80
JPEG = 0x90
EXPLICIT_FILTER = 0x40
FILTER_COPY = 0
FILTER_PALETTE = 1

STREAM_COPY = 0
STREAM_MONO = 1
STREAM_INDEXED = 2

# Quality level 0..9 -> (JPEG quality, Pillow subsampling: 2 = 4:2:0, 1 = 4:2:2, 0 = 4:4:4),
# the TigerVNC server's table (libvncserver, hence x11vnc, uses the same): 4:2:0 up to level 2,
# 4:2:2 for 3..5, 4:4:4 from 6 up, so that a level means the same picture on every server.
JPEG_QUALITY = [15, 29, 41, 42, 62, 77, 79, 86, 92, 100]
JPEG_SUBSAMPLING = [2, 2, 2, 1, 1, 1, 0, 0, 0, 0]
# Compression level 0..9 -> zlib level of the copy stream (full pixels: costly to deflate) and
# of the palette streams (1 or 8 bits per pixel, a 24th or a third of the copy data: a higher
# level costs little there and shrinks text a lot; measured on the scrolling-text benchmark:
# 2.4x fewer bytes at level 6 than at 1 for the same encoding time).
ZLIB_LEVEL = [1, 1, 1, 2, 3, 4, 5, 6, 7, 9]
PALETTE_ZLIB_LEVEL = [1, 6, 6, 6, 7, 7, 8, 8, 9, 9]
DEFAULT_COMPRESSION = 1


def compact_length(n: int) -> bytes:
    """Tight's 1..3 byte length: 7 bits per byte, low bits first, high bit = more follows."""
    out = bytearray()
    out.append(n & 0x7F)
    if n > 0x7F:
        out[-1] |= 0x80
        out.append((n >> 7) & 0x7F)
        if n > 0x3FFF:
            out[-1] |= 0x80
            out.append((n >> 14) & 0xFF)
    return bytes(out)


def split_rect(x: int, y: int, w: int, h: int, max_area: int) -> list[tuple[int, int, int, int]]:
    """Cut a rectangle into pieces at most MAX_WIDTH wide and `max_area` pixels large."""
    pieces = []
    for px in range(x, x + w, MAX_WIDTH):
        pw = min(MAX_WIDTH, x + w - px)
        rows = max(MIN_SPLIT_HEIGHT, max_area // pw)
        for py in range(y, y + h, rows):
            pieces.append((px, py, pw, min(rows, y + h - py)))
    return pieces


class TightEncoder:
    """One per connection: it owns the four zlib streams the client mirrors."""

    def __init__(self) -> None:
        self._streams: list[zlib._Compress | None] = [None, None, None, None]
        self._level = DEFAULT_COMPRESSION
        # (x, y, w, h) of every rectangle sent as JPEG since the caller last cleared it: the
        # viewer shows an approximation there (see refresh.py).
        self.jpeg_rects: list[tuple[int, int, int, int]] = []

    def set_compression(self, level: int | None) -> None:
        """The compression level for streams not started yet. A started stream keeps its zlib
        level: resetting it (the control byte's reset bits) would be legal, but noVNC 1.7's
        inflater (pako) decodes only the first rectangle after a reset and then fails ("zlib
        inflate failed"), and Python's zlib cannot change the level of a running stream."""
        self._level = DEFAULT_COMPRESSION if level is None else max(0, min(9, level))

    def _zlib_level(self, stream: int) -> int:
        table = ZLIB_LEVEL if stream == STREAM_COPY else PALETTE_ZLIB_LEVEL
        return table[self._level]

    def encode(
        self,
        frame: np.ndarray,
        x: int,
        y: int,
        w: int,
        h: int,
        pf: PixelFormat,
        quality: int | None = None,
    ) -> list[bytes]:
        """Rectangles (header + data) covering (x, y, w, h) of `frame` (BGRX)."""
        jpeg_ok = quality is not None and pf.true_colour and pf.bits_per_pixel in (16, 32)
        out: list[bytes] = []
        max_area = MAX_JPEG_AREA if jpeg_ok else MAX_BASIC_AREA
        for px, py, pw, ph in split_rect(x, y, w, h, max_area):
            sub = frame[py : py + ph, px : px + pw]
            out.extend(self._encode_piece(sub, px, py, pw, ph, pf, quality if jpeg_ok else None))
        return out

    def _encode_piece(
        self,
        sub: np.ndarray,
        x: int,
        y: int,
        w: int,
        h: int,
        pf: PixelFormat,
        quality: int | None,
    ) -> list[bytes]:
        if pf.is_tpixel:
            # 24-bit true colour (noVNC, TigerVNC): the BGR bytes of the capture are the key,
            # no conversion unless the pixels go out as they are.
            flat = np.ascontiguousarray(sub).view(np.uint32).reshape(-1) & np.uint32(0xFFFFFF)
            pixels = None
        else:
            pixels = tpixels(sub, pf)
            flat = keys(pixels).reshape(-1)
        first = flat[0]
        if (flat == first).all():
            fill = _tpixel_bytes(first[None])[0] if pixels is None else pixels[0, 0].tobytes()
            return [rect_header(x, y, w, h, ENC_TIGHT) + bytes([FILL]) + fill]
        max_colours = 16 if quality is not None else 64
        colours = _few_colours(flat, max_colours)
        size = 3 if pf.is_tpixel else pf.bytes_per_pixel
        if colours is not None:
            palette_keys, index = colours
            if w * h * size > 4 * len(palette_keys):
                if pixels is None:
                    reps = b"".join(_tpixel_bytes(palette_keys))
                else:
                    n = len(palette_keys)
                    # The keys are the wire bytes padded to 4: cut them back to the pixel size.
                    raw = np.ascontiguousarray(palette_keys, np.uint32).view(np.uint8)
                    reps = np.ascontiguousarray(raw.reshape(n, 4)[:, :size]).tobytes()
                return self._palette(reps, len(palette_keys), index, x, y, w, h)
        if quality is not None and w * h >= MIN_JPEG_AREA:
            return [self._jpeg(sub, x, y, w, h, quality)]
        if w * h > MAX_BASIC_AREA:  # only reachable with JPEG-sized pieces: cut again
            out: list[bytes] = []
            for px, py, pw, ph in split_rect(x, y, w, h, MAX_BASIC_AREA):
                piece = sub[py - y : py - y + ph, px - x : px - x + pw]
                out.extend(self._encode_piece(piece, px, py, pw, ph, pf, None))
            return out
        if pixels is None:
            pixels = tpixels(sub, pf)
        data = np.ascontiguousarray(pixels).tobytes()
        return [self._basic(x, y, w, h, STREAM_COPY, b"", data)]

    def _palette(
        self, reps: bytes, n: int, index: np.ndarray, x: int, y: int, w: int, h: int
    ) -> list[bytes]:
        header = bytes([FILTER_PALETTE, n - 1]) + reps
        idx = index.reshape(h, w).astype(np.uint8, copy=False)
        if n == 2:
            data = np.packbits(idx, axis=1).tobytes()
            return [self._basic(x, y, w, h, STREAM_MONO, header, data)]
        return [self._basic(x, y, w, h, STREAM_INDEXED, header, idx.tobytes())]

    def _basic(
        self, x: int, y: int, w: int, h: int, stream: int, filter_header: bytes, data: bytes
    ) -> bytes:
        control = stream << 4
        if filter_header:
            control |= EXPLICIT_FILTER
        if len(data) < 12:
            return rect_header(x, y, w, h, ENC_TIGHT) + bytes([control]) + filter_header + data
        compressor = self._streams[stream]
        if compressor is None:
            compressor = zlib.compressobj(self._zlib_level(stream))
            self._streams[stream] = compressor
            control |= 1 << stream  # the client resets its inflater for this stream
        packed = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return (
            rect_header(x, y, w, h, ENC_TIGHT)
            + bytes([control])
            + filter_header
            + compact_length(len(packed))
            + packed
        )

    def _jpeg(self, sub: np.ndarray, x: int, y: int, w: int, h: int, quality: int) -> bytes:
        level = max(0, min(9, quality))
        image = Image.frombuffer("RGB", (w, h), np.ascontiguousarray(sub), "raw", "BGRX", 0, 1)
        buffer = io.BytesIO()
        image.save(
            buffer,
            format="JPEG",
            quality=JPEG_QUALITY[level],
            subsampling=JPEG_SUBSAMPLING[level],
            # Huffman tables fitted to the picture: 11 % fewer bytes on the video benchmark for
            # 0.4 ms more per 640x360 frame; still baseline JPEG, as every Tight decoder expects.
            optimize=True,
        )
        data = buffer.getvalue()
        self.jpeg_rects.append((x, y, w, h))
        return rect_header(x, y, w, h, ENC_TIGHT) + bytes([JPEG]) + compact_length(len(data)) + data


def _tpixel_bytes(bgr_keys: np.ndarray) -> list[bytes]:
    """TPIXELs (R, G, B) of BGR keys (B | G << 8 | R << 16)."""
    return [bytes(((int(k) >> 16) & 0xFF, (int(k) >> 8) & 0xFF, int(k) & 0xFF)) for k in bgr_keys]


def _few_colours(flat: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(palette keys, index per pixel as uint8) if `flat` has at most `limit` distinct values.

    Peels one colour at a time (a comparison pass per colour) instead of sorting: text and
    user-interface areas have two to a handful of colours, where this is several times faster
    than np.unique; a sample tells many-colour areas apart first."""
    if len(flat) > 4096:
        step = len(flat) // 2048
        if len(np.unique(flat[::step])) > limit:
            return None
    # Two colours (text, the commonest case): two comparisons, no index building.
    other = flat != flat[0]
    second = flat[int(other.argmax())]
    if not (other & (flat != second)).any():
        return np.array([flat[0], second], np.uint32), other.view(np.uint8)
    index = np.zeros(len(flat), np.uint8)
    palette: list[int] = []
    rest = flat
    positions: np.ndarray | None = None  # where `rest` lies in `flat` (None: everywhere)
    while len(rest):
        if len(palette) == limit:
            return None
        colour = rest[0]
        palette.append(int(colour))
        other = rest != colour
        if positions is None:
            index[~other] = len(palette) - 1
            positions = np.flatnonzero(other)
        else:
            index[positions[~other]] = len(palette) - 1
            positions = positions[other]
        rest = rest[other]
    return np.array(palette, np.uint32), index
