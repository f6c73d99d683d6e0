"""ZRLE encoding (16): 64x64 tiles, each raw, solid, packed palette, plain RLE or palette RLE,
whichever is smallest, all through one zlib stream per connection. Vectorised with numpy."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from relaydesk.agent.screen.encodings.pixels import convert, keys
from relaydesk.agent.screen.rfb import ENC_ZRLE, PixelFormat, rect_header

TILE = 64


def cpixels(frame: np.ndarray, pf: PixelFormat) -> np.ndarray:
    """H x W x bytesPerCPixel: the client's PIXELs, cut to 3 bytes where ZRLE says so."""
    pixels = convert(frame, pf)
    cut = pf.cpixel_slice
    if cut is not None:
        pixels = pixels[..., cut]
    return pixels


def _run_length_bytes(lengths: np.ndarray) -> np.ndarray:
    """Number of length bytes for runs of these lengths: floor((L-1)/255) + 1."""
    return (lengths - 1) // 255 + 1


def _rle(heads: np.ndarray, lengths: np.ndarray, head_size: int, short_runs_bare: bool) -> bytes:
    """Runs: head bytes (n x head_size) then the length bytes (255... then (L-1) % 255).

    With short_runs_bare (palette RLE) a run of one is the head alone."""
    n = len(lengths)
    has_len = np.ones(n, bool) if not short_runs_bare else lengths > 1
    len_bytes = np.where(has_len, _run_length_bytes(lengths), 0)
    sizes = head_size + len_bytes
    ends = np.cumsum(sizes)
    starts = ends - sizes
    out = np.full(int(ends[-1]) if n else 0, 255, np.uint8)
    for i in range(head_size):
        out[starts + i] = heads[:, i]
    final = starts + head_size + len_bytes - 1
    out[final[has_len]] = ((lengths[has_len] - 1) % 255).astype(np.uint8)
    return out.tobytes()


def encode_tile(tile: np.ndarray) -> bytes:
    """One tile (h x w x bytesPerCPixel uint8) as its subencoding byte + data."""
    h, w, size = tile.shape
    flat_pixels = tile.reshape(-1, size)
    flat = keys(tile).reshape(-1)
    if (flat == flat[0]).all():
        return b"\x01" + flat_pixels[0].tobytes()
    raw_size = w * h * size
    # Runs (across row ends, as ZRLE allows)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [len(flat)])))
    plain_size = len(starts) * size + int(_run_length_bytes(lengths).sum())

    palette = None
    if len(starts) < 2 * len(flat):  # always; compute the palette only when it can help
        sample_unique = np.unique(flat[starts[:256]])
        if len(sample_unique) <= 127:
            values, index = np.unique(flat, return_inverse=True)
            if len(values) <= 127:
                palette = (values, index.reshape(-1))

    best = ("raw", raw_size)
    if plain_size < best[1]:
        best = ("plain", plain_size)
    if palette is not None:
        values, index = palette
        n = len(values)
        pal_bytes = n * size
        long_runs = lengths > 1
        prle_size = pal_bytes + len(starts) + int(_run_length_bytes(lengths[long_runs]).sum())
        if prle_size < best[1]:
            best = ("prle", prle_size)
        if n <= 16:
            bits = 1 if n == 2 else 2 if n <= 4 else 4
            row_bytes = (w * bits + 7) // 8
            packed_size = pal_bytes + row_bytes * h
            if packed_size <= best[1]:
                best = ("packed", packed_size)

    kind = best[0]
    if kind == "raw":
        return b"\x00" + np.ascontiguousarray(tile).tobytes()
    if kind == "plain":
        heads = flat_pixels[starts]
        return b"\x80" + _rle(heads, lengths, size, short_runs_bare=False)
    assert palette is not None
    values, index = palette
    n = len(values)
    pal = np.ascontiguousarray(values, np.uint32).view(np.uint8).reshape(n, 4)[:, :size]
    pal_data = np.ascontiguousarray(pal).tobytes()
    if kind == "prle":
        run_index = index[starts].astype(np.uint8)
        heads = np.where(lengths > 1, run_index | 0x80, run_index).astype(np.uint8)[:, None]
        return bytes([128 + n]) + pal_data + _rle(heads, lengths, 1, short_runs_bare=True)
    # packed palette
    idx = index.reshape(h, w).astype(np.uint8)
    if n == 2:
        packed = np.packbits(idx, axis=1)
    else:
        per_byte = 4 if n <= 4 else 2
        bits = 8 // per_byte
        padded_w = -(-w // per_byte) * per_byte
        padded = np.zeros((h, padded_w), np.uint8)
        padded[:, :w] = idx
        groups = padded.reshape(h, padded_w // per_byte, per_byte)
        packed = np.zeros((h, padded_w // per_byte), np.uint8)
        for i in range(per_byte):
            packed |= groups[:, :, i] << (8 - bits * (i + 1))
    return bytes([n]) + pal_data + packed.tobytes()


class ZrleEncoder:
    """One per connection: the zlib stream is shared by every ZRLE rectangle, in order."""

    def __init__(self, level: int = 1) -> None:
        self._level = level
        self._z = zlib.compressobj(level)

    def encode(
        self, frame: np.ndarray, x: int, y: int, w: int, h: int, pf: PixelFormat
    ) -> list[bytes]:
        pixels = cpixels(frame[y : y + h, x : x + w], pf)
        chunks: list[bytes] = []
        for ty in range(0, h, TILE):
            for tx in range(0, w, TILE):
                chunks.append(encode_tile(pixels[ty : ty + TILE, tx : tx + TILE]))
        data = self._z.compress(b"".join(chunks)) + self._z.flush(zlib.Z_SYNC_FLUSH)
        return [rect_header(x, y, w, h, ENC_ZRLE) + struct.pack(">I", len(data)) + data]
