"""X clients that make the screen benchmark's workloads (run on the benchmark's Xvfb display).

python bench/screen/workloads.py video   # a 640x360 window repainted at 30 fps
python bench/screen/workloads.py text    # lines of text at a reading pace, for xterm
"""

from __future__ import annotations

import sys
import time

import numpy as np

STRIP_ROWS = 64


def video_frame(
    t: float, width: int, height: int, rng: np.random.Generator, grain: bool = True
) -> np.ndarray:
    """The video workload's picture at time t (H x W x 4 BGRX): smooth moving gradients (like
    filmed scenes) plus fresh random grain of +-12 levels in every frame."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 127 + 100 * np.sin(xs / 37 + t * 2.1)
    g = 127 + 100 * np.sin(ys / 23 - t * 1.7)
    b = 127 + 100 * np.sin((xs + ys) / 51 + t * 1.3)
    noise = rng.integers(-12, 12, (height, width), dtype=np.int16)
    pixels = np.stack([b, g, r, np.zeros_like(r)], -1).astype(np.int16)
    if grain:
        pixels += noise[..., None]
    return np.clip(pixels, 0, 255).astype(np.uint8)


def video(width: int = 640, height: int = 360, fps: float = 30.0) -> None:
    from Xlib import X, display

    d = display.Display()
    screen = d.screen()
    window = screen.root.create_window(
        100,
        600,
        width,
        height,
        0,
        screen.root_depth,
        X.InputOutput,
        X.CopyFromParent,
        background_pixel=screen.black_pixel,
    )
    window.set_wm_name("relaydesk-bench-video")
    window.map()
    gc = window.create_gc()
    d.sync()
    rng = np.random.default_rng(7)
    frame = 0
    period = 1 / fps
    next_at = time.monotonic()
    while True:
        data = video_frame(frame / fps, width, height, rng)
        for top in range(0, height, STRIP_ROWS):  # X requests have a size limit
            strip = data[top : top + STRIP_ROWS]
            window.put_image(gc, 0, top, width, strip.shape[0], X.ZPixmap, 24, 0, strip.tobytes())
        d.flush()
        frame += 1
        next_at += period
        time.sleep(max(0.0, next_at - time.monotonic()))


def text(lines_per_second: float = 40.0) -> None:
    words = "the quick brown fox jumps over the lazy dog while the help desk watches"
    words_list = words.split()  # noqa: SIM905
    n = 0
    while True:
        line = " ".join(words_list[(n + i) % len(words_list)] for i in range(14))
        print(f"{n:07d} {line}", flush=True)
        n += 1
        time.sleep(1 / lines_per_second)


if __name__ == "__main__":
    {"video": video, "text": text}[sys.argv[1]]()
