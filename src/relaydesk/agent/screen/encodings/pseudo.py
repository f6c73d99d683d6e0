"""Pseudo-rectangles that carry data: Cursor, QEMU extended key event acknowledgement.

DesktopSize, ExtendedDesktopSize and LastRect live in the core (`RfbServer.desktop_size_rect`,
`RfbServer.end_update_last_rect`), which knows what the client announced.
"""

from __future__ import annotations

import numpy as np

from relaydesk.agent.screen.encodings.pixels import convert
from relaydesk.agent.screen.rfb import ENC_CURSOR, ENC_QEMU_EXT_KEY, PixelFormat, rect_header


def cursor_rect(
    rgba: np.ndarray, hot_x: int, hot_y: int, pf: PixelFormat, alpha_threshold: int = 128
) -> bytes:
    """Cursor pseudo-rect from an H x W x 4 RGBA image (straight alpha)."""
    h, w = rgba.shape[:2]
    if w == 0 or h == 0:
        return rect_header(0, 0, 0, 0, ENC_CURSOR)
    bgrx = np.zeros((h, w, 4), np.uint8)
    bgrx[..., 0] = rgba[..., 2]
    bgrx[..., 1] = rgba[..., 1]
    bgrx[..., 2] = rgba[..., 0]
    pixels = np.ascontiguousarray(convert(bgrx, pf)).tobytes()
    mask = np.packbits(rgba[..., 3] >= alpha_threshold, axis=1).tobytes()
    hot_x = min(max(hot_x, 0), w - 1)
    hot_y = min(max(hot_y, 0), h - 1)
    return rect_header(hot_x, hot_y, w, h, ENC_CURSOR) + pixels + mask


def qemu_key_ack_rect() -> bytes:
    """Tells the client that QEMU extended key events are understood."""
    return rect_header(0, 0, 0, 0, ENC_QEMU_EXT_KEY)
