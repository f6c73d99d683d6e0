"""A small X client for the screen tests: a window showing a fixed many-coloured picture
(smooth gradients with grain, like a photo, and a band of saturated boxes), then idle.

python tests/screen/xpicture.py X Y WIDTH HEIGHT [gradient]   (DISPLAY from the environment)

"gradient" draws a smooth horizontal colour ramp instead (a toolbar, a drawing: more colours
than a palette takes, far fewer than a photo).
"""

from __future__ import annotations

import sys
import time

import numpy as np

STRIP_ROWS = 64


def picture(width: int, height: int) -> np.ndarray:
    """H x W x 4 BGRX."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(11)
    r = 127 + 100 * np.sin(xs / 37)
    g = 127 + 100 * np.sin(ys / 23)
    b = 127 + 100 * np.sin((xs + ys) / 51)
    grain = rng.integers(-10, 10, (height, width), dtype=np.int16)
    pixels = np.stack([b, g, r, np.zeros_like(r)], -1).astype(np.int16) + grain[..., None]
    data = np.clip(pixels, 0, 255).astype(np.uint8)
    band = height * 3 // 4
    for i, x in enumerate(range(0, width, 24)):
        colour = rng.integers(0, 256, 3)
        data[band : band + 20 + i % 3 * 5, x : x + 17, :3] = colour
    return data


def gradient(width: int, height: int) -> np.ndarray:
    """H x W x 4 BGRX: the colour depends on x only, a new shade every pixel."""
    xs = np.arange(width)
    row = np.stack([xs * 7 % 256, 255 - xs * 3 % 256, xs * 5 % 200, 0 * xs], -1)
    return np.ascontiguousarray(np.broadcast_to(row, (height, width, 4)), dtype=np.uint8)


def main() -> None:
    from Xlib import X, display

    x, y, width, height = (int(v) for v in sys.argv[1:5])
    draw = gradient if sys.argv[5:6] == ["gradient"] else picture
    d = display.Display()
    screen = d.screen()
    window = screen.root.create_window(
        x,
        y,
        width,
        height,
        0,
        screen.root_depth,
        X.InputOutput,
        X.CopyFromParent,
        background_pixel=screen.black_pixel,
        event_mask=X.ExposureMask,
    )
    window.set_wm_name("relaydesk-test-picture")
    window.map()
    gc = window.create_gc()
    data = draw(width, height)

    def paint() -> None:
        for top in range(0, height, STRIP_ROWS):  # X requests have a size limit
            strip = data[top : top + STRIP_ROWS]
            window.put_image(gc, 0, top, width, strip.shape[0], X.ZPixmap, 24, 0, strip.tobytes())
        d.flush()

    paint()
    while True:
        event = d.next_event()  # repaint on Expose; otherwise idle
        if event.type == X.Expose:
            paint()
        time.sleep(0)


if __name__ == "__main__":
    main()
