"""Lossless refresh: where the viewer shows a JPEG approximation, send the exact pixels once that
part of the screen has stayed still for a moment (text sharpens after a scroll or a video ends).

Tracked per 64-pixel tile, like the change detection: a tile becomes lossy when a JPEG rectangle
covers any of it, stays lossy while it keeps changing, and is due for a lossless copy when it
has not changed for REFRESH_DELAY seconds. Photographic tiles (more than PHOTO_COLOURS distinct
colours) stay JPEG: there JPEG's error hides in the detail, and the exact pixels would cost many
times the JPEG's bytes, undoing the bandwidth the viewer chose; antialiased text, gradients and
drawings have far fewer colours and compress well losslessly. Pure numpy, no I/O.
"""

from __future__ import annotations

import numpy as np

REFRESH_DELAY = 0.3  # seconds a lossy tile must stay unchanged before it is sent again exactly
PHOTO_COLOURS = 256  # a tile with more distinct colours is a photo: it stays JPEG


def photo_tiles(frame: np.ndarray, grid: np.ndarray, tile: int) -> np.ndarray:
    """Of the tiles marked in `grid`, those of `frame` (BGRX) with more than PHOTO_COLOURS
    colours."""
    photos = np.zeros_like(grid)
    for row, col in zip(*np.nonzero(grid), strict=True):
        pixels = frame[row * tile : (row + 1) * tile, col * tile : (col + 1) * tile]
        keys = np.ascontiguousarray(pixels).view(np.uint32).reshape(-1) & np.uint32(0xFFFFFF)
        photos[row, col] = len(np.unique(keys)) > PHOTO_COLOURS
    return photos


class LossyRegion:
    def __init__(self, tile: int, delay: float = REFRESH_DELAY) -> None:
        self.tile = tile
        self.delay = delay
        self.lossy = np.zeros((0, 0), bool)
        self.changed_at = np.zeros((0, 0), float)

    def reset(self, grid_shape: tuple[int, int]) -> None:
        """A new picture replaces everything (full update, resize, other encoding)."""
        self.lossy = np.zeros(grid_shape, bool)
        self.changed_at = np.zeros(grid_shape, float)

    def changed(self, grid: np.ndarray, now: float) -> None:
        """Tiles that changed in this update: their lossy state waits for the screen to settle."""
        if grid.shape == self.lossy.shape:
            self.changed_at[grid] = now

    def mark(self, rects: list[tuple[int, int, int, int]], now: float) -> None:
        """Rectangles (x, y, w, h) just sent lossy."""
        t = self.tile
        for x, y, w, h in rects:
            rows = slice(y // t, -(-(y + h) // t))
            cols = slice(x // t, -(-(x + w) // t))
            self.lossy[rows, cols] = True
            self.changed_at[rows, cols] = now

    def copied(self, rows: slice, cols: slice, now: float) -> None:
        """A CopyRect moved pixels inside this band of tiles: a lossy source may land on any
        tile of it, so the whole band is lossy where any of it was."""
        band = self.lossy[rows, cols]
        if band.size and band.any():
            self.lossy[rows, cols] |= band.any(axis=0)
            self.changed_at[rows, cols] = now

    def due(self, now: float) -> np.ndarray:
        """Tiles to send losslessly now."""
        return self.lossy & (now - self.changed_at >= self.delay)

    def refreshed(self, grid: np.ndarray) -> None:
        self.lossy[grid] = False

    def next_due(self) -> float | None:
        """When the earliest lossy tile becomes due (monotonic seconds), None if none is lossy."""
        if not self.lossy.any():
            return None
        return float(self.changed_at[self.lossy].min()) + self.delay
