"""Changed-tile detection, rectangle merging and scroll detection (no X needed)."""

from __future__ import annotations

import numpy as np

from relaydesk.agent.screen.capture import (
    changed_tiles,
    detect_vertical_scroll,
    shrink_to_changes,
    tiles_to_rects,
)


def text_frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = np.zeros((h, w, 4), np.uint8)
    frame[rng.random((h, w)) < 0.2] = (255, 255, 255, 0)
    return frame


def test_changed_tiles_and_rects() -> None:
    a = text_frame(200, 300)
    b = a.copy()
    b[70, 10] = (1, 2, 3, 0)  # tile (1, 0)
    b[199, 299] = (9, 9, 9, 0)  # last partial tile (3, 4)
    b[130:140, 64:200] = 5  # tiles (2, 1..3)
    grid = changed_tiles(a, b)
    assert grid.shape == (4, 5)
    assert set(zip(*np.nonzero(grid), strict=True)) == {(1, 0), (2, 1), (2, 2), (2, 3), (3, 4)}
    rects = tiles_to_rects(grid, 300, 200)
    assert sorted(rects) == [(0, 64, 64, 64), (64, 128, 192, 64), (256, 192, 44, 8)]
    assert changed_tiles(None, b).all()
    assert not changed_tiles(a, a.copy()).any()


def test_tiles_to_rects_merges_vertically() -> None:
    grid = np.zeros((5, 5), bool)
    grid[1:4, 1:3] = True
    assert tiles_to_rects(grid, 320, 320) == [(64, 64, 128, 192)]


def test_detect_vertical_scroll() -> None:
    old = text_frame(400, 500, 1)
    new = np.zeros_like(old)
    new[: 400 - 37] = old[37:]  # scrolled up by 37 rows, new rows at the bottom
    new[400 - 37 :] = text_frame(37, 500, 2)
    found = detect_vertical_scroll(old, new, (0, 0, 500, 400))
    assert found == (37, 0, 363)
    dy, first, rows = found
    assert np.array_equal(new[first : first + rows], old[first + dy : first + dy + rows])
    assert detect_vertical_scroll(old, text_frame(400, 500, 3), (0, 0, 500, 400)) is None
    assert detect_vertical_scroll(old, old.copy(), (0, 0, 500, 400)) is None


def test_detect_vertical_scroll_reuses_the_last_fingerprints() -> None:
    frames = [text_frame(300, 400, 5)]
    for step in range(1, 4):  # scrolls by 13 rows a frame, like a terminal
        nxt = np.zeros_like(frames[-1])
        nxt[:-13] = frames[-1][13:]
        nxt[-13:] = text_frame(13, 400, 10 + step)
        frames.append(nxt)
    cache: dict[str, object] = {}
    region = (0, 0, 400, 300)
    for old, new in zip(frames, frames[1:], strict=False):
        assert detect_vertical_scroll(old, new, region, cache=cache) == (13, 0, 287)
        assert cache["frame"] is new
    # A different frame object (or region) than the cached one: computed afresh, not reused.
    stale = frames[1].copy()
    assert detect_vertical_scroll(stale, frames[2], region, cache=cache) == (13, 0, 287)
    assert detect_vertical_scroll(frames[2], frames[3], (0, 0, 400, 250), cache=cache) == (
        13,
        0,
        237,
    )


def test_shrink_to_changes() -> None:
    old = text_frame(200, 300, 4)
    new = old.copy()
    new[70:75, 101:140] = (1, 2, 3, 0)
    new[90, 130] = (9, 9, 9, 0)
    assert shrink_to_changes(old, new, (64, 64, 128, 64)) == (101, 70, 39, 21)
    assert shrink_to_changes(old, new, (0, 0, 64, 64)) is None
    new[199, 299] = (7, 7, 7, 0)
    assert shrink_to_changes(old, new, (256, 192, 44, 8)) == (299, 199, 1, 1)
