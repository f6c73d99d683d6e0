"""Benchmark: bytes per frame against picture quality, Tight JPEG and Open H.264, on the screen
benchmark's video workload (bench/screen/workloads.py: a 640x360 picture of moving gradients
with fresh grain in every frame) placed on a 1920x1080 screen, through relaydesk's own encoders
and the tests' reference decoders (FFmpeg for H.264).

For each JPEG quality level: kilobytes per frame (H.264: per P-frame, the keyframe left out)
and the luma PSNR of the decoded moving area against the source frame (grain included) and
against the same frame without grain (the picture under the noise). Run:
    .venv/bin/python bench/screen/video_quality.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.screen.workloads import video_frame  # noqa: E402
from tests.fixtures.decoders import ClientFramebuffer  # noqa: E402
from tests.fixtures.rfbclient import RGBX  # noqa: E402

from relaydesk.agent.screen.encodings import H264Encoder, TightEncoder  # noqa: E402

FRAMES = 30
AREA = (100, 600, 640, 360)  # x, y, w, h of the moving picture, as in the workload


def luma_psnr(got: np.ndarray, want_bgrx: np.ndarray) -> float:
    weights = np.array([0.299, 0.587, 0.114])
    want = want_bgrx[..., [2, 1, 0]].astype(np.float64) @ weights
    mse = float(((got.astype(np.float64) @ weights - want) ** 2).mean())
    return 10 * float(np.log10(255**2 / mse))


def screens() -> list[tuple[np.ndarray, np.ndarray]]:
    """(screen with grain, screen without) per frame."""
    x, y, w, h = AREA
    out = []
    for i in range(FRAMES):
        grainy = np.full((1080, 1920, 4), 30, np.uint8)
        clean = grainy.copy()
        grainy[y : y + h, x : x + w] = video_frame(i / 30, w, h, np.random.default_rng(i))
        clean[y : y + h, x : x + w] = video_frame(i / 30, w, h, np.random.default_rng(i), False)
        out.append((grainy, clean))
    return out


def measure(kind: str, quality: int, frames: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    x, y, w, h = AREA
    tight, h264 = TightEncoder(), H264Encoder()
    tight.set_compression(2)
    fb = ClientFramebuffer(1920, 1080, RGBX)
    sizes, source, picture = [], [], []
    for index, (grainy, clean) in enumerate(frames):
        if kind == "tight":
            rects = tight.encode(grainy, *AREA, RGBX, quality)  # the changed box, as sent
        else:
            rect = h264.encode(grainy, quality, changed=[AREA] if index else None)
            assert rect is not None
            rects = [rect]
        data = b"\0\0" + len(rects).to_bytes(2, "big") + b"".join(rects)
        fb.apply_update(data)
        if kind == "h264" and index == 0:
            continue  # the keyframe: once per stream
        sizes.append(len(data))
        got = np.stack([(fb.fb >> s) & 0xFF for s in (0, 8, 16)], -1)[y : y + h, x : x + w]
        source.append(luma_psnr(got, grainy[y : y + h, x : x + w]))
        picture.append(luma_psnr(got, clean[y : y + h, x : x + w]))
    return {
        "kbytes_per_frame": round(float(np.mean(sizes)) / 1024, 1),
        "psnr_vs_source_db": round(float(np.mean(source)), 1),
        "psnr_vs_picture_without_grain_db": round(float(np.mean(picture)), 1),
    }


def main() -> None:
    frames = screens()
    report = {
        f"{kind} quality {q}": measure(kind, q, frames)
        for q in (3, 5, 6, 8)
        for kind in ("tight", "h264")
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
