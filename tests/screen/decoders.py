"""Reference decoders written from the rfbproto text, independent of the encoders under test.

A `ClientFramebuffer` keeps the client's framebuffer as pixel *values* (H x W uint32) in the
negotiated pixel format and applies rectangles the way a client does (zlib streams persist).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from relaydesk.agent.screen.rfb import PixelFormat


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"truncated: want {n} at {self.pos} of {len(self.data)}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def s32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def pixel_value(raw: bytes, pf: PixelFormat) -> int:
    return int.from_bytes(raw, "big" if pf.big_endian else "little")


def values_from_bytes(raw: bytes, count: int, pf: PixelFormat) -> np.ndarray:
    bpp = pf.bytes_per_pixel
    arr = np.frombuffer(raw, np.uint8).reshape(count, bpp).astype(np.uint32)
    order = range(bpp) if pf.big_endian else range(bpp - 1, -1, -1)
    value = np.zeros(count, np.uint32)
    for i in order:
        value = (value << 8) | arr[:, i]
    return value & np.uint32(colour_mask(pf))  # bits outside the colours carry nothing


def rgb_to_values(rgb: np.ndarray, pf: PixelFormat) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return (
        (((r * pf.red_max + 127) // 255) << pf.red_shift)
        | (((g * pf.green_max + 127) // 255) << pf.green_shift)
        | (((b * pf.blue_max + 127) // 255) << pf.blue_shift)
    )


def colour_mask(pf: PixelFormat) -> int:
    return (
        (pf.red_max << pf.red_shift)
        | (pf.green_max << pf.green_shift)
        | pf.blue_max << pf.blue_shift
    )


def expected_values(frame_bgrx: np.ndarray, pf: PixelFormat) -> np.ndarray:
    """What a perfect client holds for this BGRX frame (independent of the encoder code)."""
    rgb = frame_bgrx[..., [2, 1, 0]]
    return rgb_to_values(rgb, pf)


def compact_length(reader: Reader) -> int:
    b = reader.u8()
    n = b & 0x7F
    if b & 0x80:
        b = reader.u8()
        n |= (b & 0x7F) << 7
        if b & 0x80:
            n |= reader.u8() << 14
    return n


@dataclass
class ClientFramebuffer:
    width: int
    height: int
    pf: PixelFormat
    fb: np.ndarray = field(init=False)
    tight_streams: list[zlib._Decompress | None] = field(default_factory=lambda: [None] * 4)
    zrle_stream: zlib._Decompress = field(default_factory=zlib.decompressobj)
    cursor: tuple[int, int, np.ndarray, np.ndarray] | None = None
    jpeg_rects: list[tuple[int, int, int, int]] = field(default_factory=list)
    h264_contexts: dict[tuple[int, int, int, int], Any] = field(default_factory=dict)
    h264_rects: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    # False: H.264 pictures are decoded but not converted into `fb` (the benchmark's client:
    # a browser hands decoded pictures to the GPU; converting 1080p in numpy would make this
    # client the bottleneck).
    h264_to_framebuffer: bool = True
    pseudo: list[tuple[int, int, int, int, int, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fb = np.zeros((self.height, self.width), np.uint32)

    # -- messages --------------------------------------------------------------------------

    def apply_update(self, data: bytes) -> int:
        """Apply one FramebufferUpdate message (type byte included); returns bytes consumed."""
        r = Reader(data)
        assert r.u8() == 0
        self.apply_update_body(r)
        return r.pos

    def apply_update_body(self, r: Reader) -> list[tuple[int, int, int, int, int]]:
        """The rest of a FramebufferUpdate after its type byte; returns the rectangles seen."""
        r.take(1)
        count = r.u16()
        seen = []
        done = 0
        while done < count:
            x, y, w, h = r.u16(), r.u16(), r.u16(), r.u16()
            enc = r.s32()
            if enc == -224:  # LastRect
                break
            self.apply_rect(r, x, y, w, h, enc)
            seen.append((x, y, w, h, enc))
            done += 1
        return seen

    def apply_rect(self, r: Reader, x: int, y: int, w: int, h: int, enc: int) -> None:
        assert x + w <= self.width and y + h <= self.height or enc < 0, (x, y, w, h, enc)
        if enc == 0:
            raw = r.take(w * h * self.pf.bytes_per_pixel)
            self.fb[y : y + h, x : x + w] = values_from_bytes(raw, w * h, self.pf).reshape(h, w)
        elif enc == 1:
            sx, sy = r.u16(), r.u16()
            self.fb[y : y + h, x : x + w] = self.fb[sy : sy + h, sx : sx + w].copy()
        elif enc == 7:
            self.tight(r, x, y, w, h)
        elif enc == 16:
            self.zrle(r, x, y, w, h)
        elif enc == 50:
            self.open_h264(r, x, y, w, h)
        elif enc == -239:
            bpp = self.pf.bytes_per_pixel
            pixels = values_from_bytes(r.take(w * h * bpp), w * h, self.pf).reshape(h, w)
            mask_raw = np.frombuffer(r.take((w + 7) // 8 * h), np.uint8).reshape(h, -1)
            mask = np.unpackbits(mask_raw, axis=1)[:, :w].astype(bool)
            self.cursor = (x, y, pixels, mask)
        elif enc == -308:
            n = r.u8()
            r.take(3)
            body = r.take(16 * n)
            self.pseudo.append((x, y, w, h, enc, body))
            self.width, self.height = w, h
            if self.fb.shape != (h, w):
                self.fb = np.zeros((h, w), np.uint32)
        elif enc == -223:
            self.pseudo.append((x, y, w, h, enc, b""))
            self.width, self.height = w, h
            self.fb = np.zeros((h, w), np.uint32)
        elif enc < 0:
            self.pseudo.append((x, y, w, h, enc, b""))
        else:
            raise ValueError(f"encoding {enc} not handled by the reference decoder")

    # -- Tight -----------------------------------------------------------------------------

    def _tpixel_size(self) -> int:
        pf = self.pf
        tp = (
            pf.true_colour
            and pf.bits_per_pixel == 32
            and pf.depth == 24
            and pf.red_max == pf.green_max == pf.blue_max == 255
        )
        return 3 if tp else pf.bytes_per_pixel

    def _tpixels_to_values(self, raw: bytes, count: int) -> np.ndarray:
        if self._tpixel_size() == 3:
            rgb = np.frombuffer(raw, np.uint8).reshape(count, 3)
            return rgb_to_values(rgb, self.pf)
        return values_from_bytes(raw, count, self.pf)

    def tight(self, r: Reader, x: int, y: int, w: int, h: int) -> None:
        assert w <= 2048, "Tight rectangles are at most 2048 pixels wide"
        control = r.u8()
        for i in range(4):
            if control & (1 << i):
                self.tight_streams[i] = None
        kind = control >> 4
        tsize = self._tpixel_size()
        if kind == 0x8:
            value = self._tpixels_to_values(r.take(tsize), 1)[0]
            self.fb[y : y + h, x : x + w] = value
            return
        if kind == 0x9:
            length = compact_length(r)
            image = Image.open(io.BytesIO(r.take(length))).convert("RGB")
            assert image.size == (w, h)
            self.fb[y : y + h, x : x + w] = rgb_to_values(np.asarray(image), self.pf)
            self.jpeg_rects.append((x, y, w, h))
            return
        assert kind & 0x8 == 0, f"bad tight control {control:#x}"
        stream = kind & 0x3
        filter_id = r.u8() if kind & 0x4 else 0
        palette = None
        if filter_id == 1:
            n = r.u8() + 1
            palette = self._tpixels_to_values(r.take(n * tsize), n)
            bits = 1 if n == 2 else 8
            row = (w + 7) // 8 if bits == 1 else w
            size = row * h
        elif filter_id == 0:
            size = w * h * tsize
        else:
            raise ValueError(f"filter {filter_id} not produced by our encoder")
        if size < 12:
            data = r.take(size)
        else:
            length = compact_length(r)
            if self.tight_streams[stream] is None:
                self.tight_streams[stream] = zlib.decompressobj()
            inflater = self.tight_streams[stream]
            assert inflater is not None
            data = inflater.decompress(r.take(length))
            assert len(data) == size, (len(data), size)
        if palette is None:
            values = self._tpixels_to_values(data, w * h).reshape(h, w)
        elif len(palette) == 2:
            bits_arr = np.unpackbits(np.frombuffer(data, np.uint8).reshape(h, -1), axis=1)[:, :w]
            values = palette[bits_arr]
        else:
            values = palette[np.frombuffer(data, np.uint8).reshape(h, w)]
        self.fb[y : y + h, x : x + w] = values

    # -- Open H.264 ------------------------------------------------------------------------

    def open_h264(self, r: Reader, x: int, y: int, w: int, h: int) -> None:
        """U32 length, U32 flags (1: reset this rectangle's context, 2: reset all), then one
        access unit of Annex B H.264, decoded by FFmpeg's decoder through PyAV; one decoder
        context per rectangle geometry, as noVNC and TigerVNC keep them."""
        import av

        length, flags = r.u32(), r.u32()
        data = r.take(length)
        if flags & 2:
            self.h264_contexts.clear()
        key = (x, y, w, h)
        if flags & 1:
            self.h264_contexts.pop(key, None)
        ctx = self.h264_contexts.get(key)
        if ctx is None:
            ctx = av.CodecContext.create("h264", "r")
            self.h264_contexts[key] = ctx
        pictures = ctx.decode(av.Packet(data))
        # A zero-latency stream: every access unit gives its picture at once.
        assert len(pictures) == 1, f"{len(pictures)} pictures from one H.264 rectangle"
        picture = pictures[0]
        assert (picture.width, picture.height) == (w, h), (picture.width, picture.height, w, h)
        self.h264_rects.append((x, y, w, h, flags))
        if not self.h264_to_framebuffer:
            return
        pf = self.pf
        rgb = picture.to_ndarray(format="rgb24")
        shifts = (pf.red_shift, pf.green_shift, pf.blue_shift)
        order = {(0, 8, 16): [0, 1, 2], (16, 8, 0): [2, 1, 0]}.get(shifts)
        if order and pf.bits_per_pixel == 32 and not pf.big_endian and pf.depth == 24:
            # Bytes straight into the client's layout (fast enough for the benchmark's client).
            # (Not FFmpeg's rgba output: at some widths, e.g. 66, it comes out wrong.)
            padded = np.zeros((h, w, 4), np.uint8)
            padded[..., :3] = rgb[..., order]
            self.fb[y : y + h, x : x + w] = padded.view(np.uint32).reshape(h, w)
        else:
            self.fb[y : y + h, x : x + w] = rgb_to_values(rgb, pf)

    # -- ZRLE ------------------------------------------------------------------------------

    def _cpixel_size(self) -> tuple[int, str]:
        pf = self.pf
        if pf.true_colour and pf.bits_per_pixel == 32 and pf.depth <= 24:
            mask = colour_mask(pf)
            if mask < (1 << 24):
                return 3, "low"
            if mask & 0xFF == 0:
                return 3, "high"
        return pf.bytes_per_pixel, "full"

    def _cpixels_to_values(self, raw: bytes, count: int) -> np.ndarray:
        size, which = self._cpixel_size()
        if which == "full":
            return values_from_bytes(raw, count, self.pf)
        arr = np.frombuffer(raw, np.uint8).reshape(count, 3).astype(np.uint32)
        if self.pf.big_endian:
            value = (arr[:, 0] << 16) | (arr[:, 1] << 8) | arr[:, 2]
        else:
            value = arr[:, 0] | (arr[:, 1] << 8) | (arr[:, 2] << 16)
        return value if which == "low" else value << 8

    def zrle(self, r: Reader, x: int, y: int, w: int, h: int) -> None:
        length = r.u32()
        data = self.zrle_stream.decompress(r.take(length))
        t = Reader(data)
        size, _ = self._cpixel_size()
        for ty in range(y, y + h, 64):
            th = min(64, y + h - ty)
            for tx in range(x, x + w, 64):
                tw = min(64, x + w - tx)
                self.fb[ty : ty + th, tx : tx + tw] = self._zrle_tile(t, tw, th, size)
        assert t.left == 0, f"{t.left} bytes left in the ZRLE rectangle"

    def _zrle_tile(self, t: Reader, w: int, h: int, size: int) -> np.ndarray:
        sub = t.u8()
        if sub == 0:
            return self._cpixels_to_values(t.take(w * h * size), w * h).reshape(h, w)
        if sub == 1:
            return np.full((h, w), self._cpixels_to_values(t.take(size), 1)[0], np.uint32)
        if 2 <= sub <= 16:
            palette = self._cpixels_to_values(t.take(sub * size), sub)
            bits = 1 if sub == 2 else 2 if sub <= 4 else 4
            row = (w * bits + 7) // 8
            raw = np.frombuffer(t.take(row * h), np.uint8).reshape(h, row)
            bit_rows = np.unpackbits(raw, axis=1)
            idx = np.zeros((h, w), np.int64)
            for i in range(w):
                for b in range(bits):
                    idx[:, i] = (idx[:, i] << 1) | bit_rows[:, i * bits + b]
            return palette[idx]
        if sub == 128 or sub >= 130:
            palette = None
            if sub >= 130:
                n = sub - 128
                palette = self._cpixels_to_values(t.take(n * size), n)
            out = np.zeros(w * h, np.uint32)
            pos = 0
            while pos < w * h:
                if palette is None:
                    value = self._cpixels_to_values(t.take(size), 1)[0]
                    run = self._run(t)
                else:
                    index = t.u8()
                    if index & 0x80:
                        run = self._run(t)
                        index &= 0x7F
                    else:
                        run = 1
                    value = palette[index]
                assert pos + run <= w * h, "run past the end of the tile"
                out[pos : pos + run] = value
                pos += run
            return out.reshape(h, w)
        raise ValueError(f"ZRLE subencoding {sub}")

    @staticmethod
    def _run(t: Reader) -> int:
        run = 1
        while True:
            b = t.u8()
            run += b
            if b != 255:
                return run
