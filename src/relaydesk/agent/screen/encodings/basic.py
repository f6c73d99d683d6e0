"""Raw and CopyRect."""

from __future__ import annotations

import struct

import numpy as np

from relaydesk.agent.screen.encodings.pixels import convert
from relaydesk.agent.screen.rfb import ENC_COPYRECT, ENC_RAW, PixelFormat, rect_header


def raw_rect(frame: np.ndarray, x: int, y: int, w: int, h: int, pf: PixelFormat) -> bytes:
    """Raw: the rectangle's pixels in the client's format, row by row."""
    pixels = convert(frame[y : y + h, x : x + w], pf)
    return rect_header(x, y, w, h, ENC_RAW) + np.ascontiguousarray(pixels).tobytes()


def copyrect_rect(x: int, y: int, w: int, h: int, src_x: int, src_y: int) -> bytes:
    """CopyRect: the client copies (src_x, src_y, w, h) of its framebuffer to (x, y)."""
    return rect_header(x, y, w, h, ENC_COPYRECT) + struct.pack(">HH", src_x, src_y)
