"""Open H.264 encoding (rfbproto "Open H.264", encoding 50) through PyAV's libx264.

Wire format of one rectangle after its header: U32 length, U32 flags, then `length` bytes of
H.264 Annex B data holding exactly one access unit (one picture). Flag 1 tells the client to
reset its decoder context for this rectangle, flag 2 to reset all its contexts. Clients keep
one decoder context per rectangle geometry, so the encoder always sends the same rectangle: the
framebuffer cut to even width and height (4:2:0 needs even sides); the session sends the odd
last column or row, if any, with a lossless encoding.

The libx264 context is per client (each client decodes its own stream), tuned for latency:
`tune=zerolatency` (no look-ahead, no B-frames: every input picture comes out at once),
`preset=ultrafast`, constrained baseline profile (what browsers' WebCodecs and every hardware
decoder take), SPS/PPS repeated before every keyframe, no periodic keyframes (a keyframe only
when the client asks for a full update, or after a reset). The JPEG quality level the client
sent (0..9) picks a constant quantiser (QP 40 - 2 x level). Not x264's constant rate factor:
it depends on the frame rate the stream claims and on how much of the (mostly static) screen
is still, so the same level gave twice the bytes on a full screen as on the moving window alone.
Only the areas that changed are converted to YUV, into a persistent picture. Every picture is
one slice (one thread): noVNC splits a payload at each slice and decodes each as a picture.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from typing import Any

import numpy as np

from relaydesk.agent.screen.rfb import ENC_OPEN_H264, rect_header

FLAG_RESET_CONTEXT = 1
FLAG_RESET_ALL_CONTEXTS = 2

# Quality level 0..9 -> x264 constant quantiser (lower = better); None (no level) -> level 6.
QP_BY_QUALITY = [40 - 2 * level for level in range(10)]
DEFAULT_QUALITY = 6
NOMINAL_FPS = 30


def available() -> bool:
    """PyAV is installed and its FFmpeg has libx264."""
    try:
        import av
    except ImportError:
        return False
    return "libx264" in av.codecs_available


def qp_for(quality: int | None) -> int:
    level = DEFAULT_QUALITY if quality is None else max(0, min(9, quality))
    return QP_BY_QUALITY[level]


def even_size(width: int, height: int) -> tuple[int, int]:
    """The H.264 rectangle's size for a framebuffer: both sides cut to even."""
    return width & ~1, height & ~1


class H264Encoder:
    """One per connection: one libx264 context for the (even-cut) framebuffer."""

    def __init__(self) -> None:
        self._ctx: Any = None
        self._picture: Any = None  # the persistent yuv420p input picture
        self._planes: list[np.ndarray] = []  # numpy views of its Y, U and V planes
        self._size: tuple[int, int] | None = None
        self._qp: int | None = None
        self._pts = 0
        self.frames = 0
        self.keyframes = 0

    def reset(self) -> None:
        """Drop the context: the next picture is a keyframe sent with the reset flag."""
        self._ctx = None
        self._size = None

    def _open(self, width: int, height: int, qp: int) -> None:
        import av

        ctx = av.CodecContext.create("libx264", "w")
        ctx.width = width
        ctx.height = height
        ctx.pix_fmt = "yuv420p"
        # A nominal 30 fps (pictures go out when asked for, the quantiser is constant): x264
        # derives the H.264 level from it, 4.0 for 1920x1080 rather than 6.1 at the 1000 fps
        # a millisecond time base implies, which hardware decoders may refuse.
        ctx.time_base = Fraction(1, NOMINAL_FPS)
        ctx.framerate = Fraction(NOMINAL_FPS, 1)
        ctx.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "profile": "baseline",
            "qp": str(qp),
            # One slice per picture: zerolatency's sliced threads cut a picture into a slice
            # per thread, and noVNC 1.7 hands each slice to WebCodecs as a picture of its own
            # (Chromium then shows green for the rest). One thread: frame threads would delay.
            "threads": "1",
            "x264-params": "repeat-headers=1:keyint=infinite:min-keyint=1:scenecut=0"
            ":sliced-threads=0:slices=1"
            # What the conversion above makes (FFmpeg's default: BT.601, limited range), said in
            # the stream: decoders guess BT.709 otherwise (Chromium did: greens 10 levels off).
            ":colormatrix=smpte170m:colorprim=smpte170m:transfer=smpte170m:range=tv",
        }
        ctx.open()
        self._ctx = ctx
        self._picture = av.VideoFrame(width, height, "yuv420p")
        self._planes = [
            np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
            for plane in self._picture.planes
        ]
        self._size = (width, height)
        self._qp = qp
        self._pts = 0

    def _convert(self, frame: np.ndarray, x: int, y: int, w: int, h: int) -> None:
        """BGRX -> the persistent picture's YUV 4:2:0 planes, for one even-aligned area."""
        import av

        area = np.ascontiguousarray(frame[y : y + h, x : x + w])
        converted = av.VideoFrame.from_numpy_buffer(area, format="bgra").reformat(format="yuv420p")
        for plane, target, div in zip(converted.planes, self._planes, (1, 2, 2), strict=True):
            rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
            target[y // div : (y + h) // div, x // div : (x + w) // div] = rows[:, : w // div]

    def encode(
        self,
        frame: np.ndarray,
        quality: int | None = None,
        keyframe: bool = False,
        changed: list[tuple[int, int, int, int]] | None = None,
    ) -> bytes | None:
        """One Open H.264 rectangle (header + data) for the even part of `frame` (BGRX, H x W x
        4), or None when the frame is smaller than 2 x 2.

        `changed`: the areas (x, y, w, h) that differ from the previous call's frame, when the
        caller knows them; only those are converted to YUV (None: the whole frame)."""
        from av.video.frame import PictureType

        height, width = frame.shape[:2]
        w, h = even_size(width, height)
        if w == 0 or h == 0:
            return None
        qp = qp_for(quality)
        flags = 0
        if self._ctx is None or self._size != (w, h) or self._qp != qp:
            self._open(w, h, qp)
            flags |= FLAG_RESET_CONTEXT
            keyframe = True
            changed = None
        if changed is None:
            self._convert(frame, 0, 0, w, h)
        else:
            for cx, cy, cw, ch in changed:
                x0, y0 = cx & ~1, cy & ~1  # whole 2 x 2 chroma blocks
                x1, y1 = min(w, (cx + cw + 1) & ~1), min(h, (cy + ch + 1) & ~1)
                if x1 > x0 and y1 > y0:
                    self._convert(frame, x0, y0, x1 - x0, y1 - y0)
        picture = self._picture
        picture.pts = self._pts
        self._pts += 1
        picture.pict_type = PictureType.I if keyframe else PictureType.NONE
        packets = self._ctx.encode(picture)
        data = b"".join(bytes(packet) for packet in packets)
        self.frames += 1
        if keyframe:
            self.keyframes += 1
        return rect_header(0, 0, w, h, ENC_OPEN_H264) + struct.pack(">II", len(data), flags) + data
