"""From the capture format (numpy BGRX, H x W x 4 uint8) to the client's pixel format."""

from __future__ import annotations

import numpy as np

from relaydesk.agent.screen.rfb import PixelFormat

Frame = np.ndarray  # H x W x 4 uint8, bytes B, G, R, X

_DTYPES: dict[tuple[int, bool], np.dtype] = {
    (8, False): np.dtype("u1"),
    (8, True): np.dtype("u1"),
    (16, False): np.dtype("<u2"),
    (16, True): np.dtype(">u2"),
    (32, False): np.dtype("<u4"),
    (32, True): np.dtype(">u4"),
}


def rgbx_to_bgrx(frame: np.ndarray) -> np.ndarray:
    """RGBX (as some capture backends give) to the internal BGRX order."""
    return np.ascontiguousarray(frame[..., [2, 1, 0, 3]])


def _byte_permutation(pf: PixelFormat) -> list[int] | None:
    """For 32-bpp formats with 8-bit channels on byte boundaries: which BGRX byte goes where."""
    if not (pf.true_colour and pf.bits_per_pixel == 32):
        return None
    if not (pf.red_max == pf.green_max == pf.blue_max == 255):
        return None
    shifts = (pf.blue_shift, pf.green_shift, pf.red_shift)
    if any(s % 8 for s in shifts) or len(set(shifts)) != 3:
        return None
    perm = [3, 3, 3, 3]  # unused byte: copy X (the client ignores it)
    for source, shift in enumerate(shifts):  # 0 = B, 1 = G, 2 = R in BGRX
        byte = shift // 8
        position = 3 - byte if pf.big_endian else byte
        perm[position] = source
    return perm


def pixel_values(frame: np.ndarray, pf: PixelFormat) -> np.ndarray:
    """The pixel values (H x W, uint32) of `frame` in format `pf` (true colour)."""
    b = frame[..., 0].astype(np.uint32)
    g = frame[..., 1].astype(np.uint32)
    r = frame[..., 2].astype(np.uint32)
    values = ((r * pf.red_max + 127) // 255) << pf.red_shift
    values |= ((g * pf.green_max + 127) // 255) << pf.green_shift
    values |= ((b * pf.blue_max + 127) // 255) << pf.blue_shift
    return values


def convert(frame: np.ndarray, pf: PixelFormat) -> np.ndarray:
    """`frame` (H x W x 4 BGRX) as H x W x bytesPerPixel uint8 in the client's format."""
    perm = _byte_permutation(pf)
    if perm is not None:
        if perm == [0, 1, 2, 3]:
            return frame
        return frame[..., perm]
    values = pixel_values(frame, pf)
    dtype = _DTYPES[(pf.bits_per_pixel, pf.big_endian)]
    out = values.astype(dtype)
    h, w = frame.shape[:2]
    return out.view(np.uint8).reshape(h, w, pf.bytes_per_pixel)


def tpixels(frame: np.ndarray, pf: PixelFormat) -> np.ndarray:
    """Tight's pixel representation: 3-byte R, G, B when `pf.is_tpixel`, else full PIXELs."""
    if pf.is_tpixel:
        return frame[..., [2, 1, 0]]
    return convert(frame, pf)


def keys(pixels: np.ndarray) -> np.ndarray:
    """H x W x n uint8 (n <= 4) -> H x W uint32 that compare equal iff the pixels do."""
    h, w, n = pixels.shape
    if n == 4:
        return np.ascontiguousarray(pixels).view(np.uint32).reshape(h, w)
    padded = np.zeros((h, w, 4), np.uint8)
    padded[..., :n] = pixels
    return padded.view(np.uint32).reshape(h, w)
