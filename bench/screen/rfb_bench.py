"""Screen-sharing micro-benchmark: idle CPU, key-to-screen latency, video-region throughput.

    python bench/screen/rfb_bench.py [--width 1920 --height 1080] [--server HOST:PORT --pid PID]

Without --server it starts its own Xvfb and `relaydesk-agent --rfb-listen`; with --server it
measures any RFB server already serving a display (e.g. x11vnc; --pid for its CPU, --display
for the X clients it should start). The client is tests/screen/rfbclient.py (Tight, JPEG
quality 6 for the video workload, lossless for the others), one request at a time as noVNC
does without continuous updates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.fixtures.common import free_port  # noqa: E402
from tests.screen.rfbclient import RGBX, TIGHT, RfbClient  # noqa: E402

VIDEO_PRODUCER = r"""
import sys, time, numpy as np
from Xlib import display, X
d = display.Display(); s = d.screen(); root = s.root
w, h, fps = 640, 360, 30
win = root.create_window(100, 100, w, h, 0, s.root_depth, background_pixel=s.black_pixel)
win.map(); gc = win.create_gc(); d.sync()
rng = np.random.default_rng(1); yy, xx = np.mgrid[0:h, 0:w]
t0 = time.monotonic(); n = 0
while True:
    t = n / fps
    img = np.zeros((h, w, 4), np.uint8)
    img[..., 0] = (128 + 100 * np.sin(xx / 20 + t * 3)).astype(np.uint8)
    img[..., 1] = (128 + 100 * np.cos(yy / 15 + t * 2)).astype(np.uint8)
    img[..., 2] = ((xx + yy + n * 4) % 256).astype(np.uint8)
    for row in range(0, h, 60):
        win.put_image(gc, 0, row, w, 60, X.ZPixmap, 24, 0, img[row:row+60].tobytes())
    d.sync(); n += 1
    time.sleep(max(0, t0 + n / fps - time.monotonic()))
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_xvfb(width: int, height: int) -> tuple[subprocess.Popen, str]:
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        pass_fds=(w,),
        stderr=subprocess.DEVNULL,
    )
    os.close(w)
    number = b""
    while not number.endswith(b"\n"):
        number += os.read(r, 16)
    os.close(r)
    return proc, f":{int(number)}"


def idle_cpu(client: RfbClient, pid: int, seconds: float) -> float:
    client.request(incremental=True)  # a request stays pending: the server waits for damage
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def key_latency(client: RfbClient, count: int) -> list[float]:
    """Type into an xterm (focus by pointer) and time until the update showing it arrives."""
    client.pointer(0, 50, 50)
    samples = []
    for i in range(count):
        keysym = ord("a") + i % 26
        client.request(incremental=True)
        started = time.perf_counter()
        client.key(True, keysym)
        client.key(False, keysym)
        client.read_update()
        samples.append((time.perf_counter() - started) * 1000)
        time.sleep(0.05)
    return samples


def video(client: RfbClient, pid: int, display: str, seconds: float) -> dict[str, float]:
    producer = subprocess.Popen(
        [sys.executable, "-c", VIDEO_PRODUCER], env={**os.environ, "DISPLAY": display}
    )
    time.sleep(1.0)
    try:
        client.request(incremental=True)
        client.read_update()
        frames, start_bytes = 0, client.reader.pos
        start_cpu, start = cpu_seconds(pid), time.monotonic()
        while time.monotonic() - start < seconds:
            client.request(incremental=True)
            client.read_update()
            frames += 1
        elapsed = time.monotonic() - start
        return {
            "fps": frames / elapsed,
            "kbytes_per_s": (client.reader.pos - start_bytes) / elapsed / 1024,
            "cpu_percent": 100 * (cpu_seconds(pid) - start_cpu) / elapsed,
        }
    finally:
        producer.kill()
        producer.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--server", help="HOST:PORT of a running RFB server")
    parser.add_argument("--pid", type=int, help="its process id (CPU)")
    parser.add_argument("--display", help="its X display")
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--video-seconds", type=float, default=10)
    args = parser.parse_args()
    cleanup: list[subprocess.Popen] = []
    try:
        if args.server:
            host, port = args.server.rsplit(":", 1)
            display, pid = args.display, args.pid
        else:
            xvfb, display = start_xvfb(args.width, args.height)
            cleanup.append(xvfb)
            port, host = str(free_port()), "127.0.0.1"
            agent = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "relaydesk.agent.main",
                    "--rfb-listen",
                    f"{host}:{port}",
                    "--display",
                    display,
                ],
                stdout=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
            cleanup.append(agent)
            assert agent.stdout is not None
            while "listening" not in agent.stdout.readline():
                pass
            threading.Thread(target=agent.stdout.read, daemon=True).start()
            pid = agent.pid
        env = {**os.environ, "DISPLAY": display}
        cleanup.append(subprocess.Popen(["xterm", "-geometry", "80x24+0+0", "-e", "cat"], env=env))
        time.sleep(1.5)
        client = RfbClient(host, int(port)).connect()
        client.set_pixel_format(RGBX)
        client.set_encodings([TIGHT, -256 + 1])
        client.request(incremental=False)
        client.read_update()
        result: dict[str, object] = {"screen": f"{args.width}x{args.height}"}
        result["idle_cpu_percent"] = idle_cpu(client, pid, args.idle_seconds)
        client.close()
        client = RfbClient(host, int(port)).connect()
        client.set_pixel_format(RGBX)
        client.set_encodings([TIGHT, -256 + 1])
        client.request(incremental=False)
        client.read_update()
        lat = key_latency(client, args.keys)
        result["key_latency_ms"] = {
            "p50": statistics.median(lat),
            "p95": statistics.quantiles(lat, n=20)[-1],
        }
        client.set_encodings([TIGHT, -256 + 1, -32 + 6])
        result["video_tight_jpeg_q6"] = video(client, pid, display, args.video_seconds)
        client.close()
        print(json.dumps(result, indent=2))
    finally:
        for proc in reversed(cleanup):
            proc.terminate()
            proc.wait(5)


if __name__ == "__main__":
    main()
