"""The lossless-refresh bookkeeping (agent/screen/refresh.py), without a display."""

from __future__ import annotations

import numpy as np

from relaydesk.agent.screen.refresh import LossyRegion, photo_tiles


def region() -> LossyRegion:
    r = LossyRegion(tile=64, delay=0.3)
    r.reset((4, 5))  # 320 x 256 pixels
    return r


def test_a_jpeg_rectangle_is_due_once_still_for_the_delay() -> None:
    r = region()
    assert r.next_due() is None
    r.mark([(70, 10, 60, 60)], now=10.0)  # tiles (0, 1), (0, 2), (1, 1), (1, 2)
    assert r.next_due() == 10.3
    assert not r.due(10.29).any()
    due = r.due(10.3)
    assert sorted(zip(*np.nonzero(due), strict=True)) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    r.refreshed(due)
    assert r.next_due() is None and not r.due(99.0).any()


def test_a_tile_that_keeps_changing_waits() -> None:
    r = region()
    r.mark([(0, 0, 128, 64)], now=1.0)
    grid = np.zeros((4, 5), bool)
    grid[0, 0] = True
    r.changed(grid, now=1.25)
    due = r.due(1.35)
    assert not due[0, 0] and due[0, 1]
    assert r.next_due() == 1.3


def test_a_change_where_nothing_was_lossy_makes_nothing_due() -> None:
    r = region()
    r.changed(np.ones((4, 5), bool), now=5.0)
    assert r.next_due() is None


def test_a_copy_spreads_lossy_pixels_over_the_band() -> None:
    r = region()
    r.mark([(0, 0, 64, 64)], now=1.0)  # tile (0, 0)
    r.copied(slice(0, 4), slice(0, 2), now=2.0)  # a scroll over columns 0..1, rows 0..3
    due = r.due(2.31)
    assert due[:, 0].all() and not due[:, 1:].any()


def test_reset_forgets_everything() -> None:
    r = region()
    r.mark([(0, 0, 320, 256)], now=0.0)
    r.reset((4, 5))
    assert r.next_due() is None


def test_photo_tiles_are_those_with_many_colours() -> None:
    rng = np.random.default_rng(2)
    frame = np.zeros((64, 192, 4), np.uint8)
    frame[:, 64:128, :3] = np.arange(64, dtype=np.uint8)[None, :, None] * 3  # a ramp: 64 colours
    frame[:, 128:, :3] = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)  # a photo: thousands
    frame[:, :, 3] = rng.integers(0, 256, (64, 192), dtype=np.uint8)  # the X byte is no colour
    photos = photo_tiles(frame, np.ones((1, 3), bool), 64)
    assert photos.tolist() == [[False, False, True]]
    assert not photo_tiles(frame, np.zeros((1, 3), bool), 64).any()  # only the asked tiles
