"""Benchmark: relaydesk's RFB server against x11vnc on the same 1920x1080 Xvfb display, with the
same client and encoding settings, on three workloads: scrolling text in an xterm, a 640x360
video-like window at 30 fps, and an idle screen.

Measured per server and workload: frames per second delivered to a client that always keeps an
update request outstanding, bytes per second, the server's CPU (share of one core), and, on the
idle screen with an xterm echoing keys, the key-press-to-screen latency (p50, p95). Every figure
is also given as a ratio to x11vnc's, measured in the same run.

Needs Debian's xvfb, xterm and x11vnc.  Run: .venv/bin/python bench/screen/compare.py
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fixtures.rfbclient import RGBX, TIGHT, RfbClient, SocketReader  # noqa: E402

BIN = Path(sys.executable).parent
PASSWORD = "benchpw"
JPEG_QUALITY_6, COMPRESS_2 = -26, -254
COPYRECT, OPEN_H264 = 1, 50
# What real viewers send (noVNC and TigerVNC both announce CopyRect): CopyRect, Tight, JPEG
# quality level 6, compression level 2.
CLIENT_ENCODINGS = [COPYRECT, TIGHT, JPEG_QUALITY_6, COMPRESS_2]
KEY_A = 0x61


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def xvfb() -> Iterator[dict[str, str]]:
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as reader:
        display = ":" + reader.readline().strip()
    try:
        yield {**os.environ, "DISPLAY": display}
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def started(
    command: list[str], env: dict[str, str], port: int | None = None
) -> Iterator[psutil.Process]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        if port is not None:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.1)
        yield psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def servers(env: dict[str, str], folder: Path) -> dict[str, tuple[list[str], int]]:
    password_file = folder / "password"
    password_file.write_text(PASSWORD + "\n")
    ours, theirs = free_port(), free_port()
    return {
        "relaydesk": (
            [
                str(BIN / "relaydesk-agent"),
                "--rfb-listen",
                f"127.0.0.1:{ours}",
                "--display",
                env["DISPLAY"],
                "--password-file",
                str(password_file),
            ],
            ours,
        ),
        "x11vnc": (
            [
                "x11vnc",
                "-display",
                env["DISPLAY"],
                "-rfbport",
                str(theirs),
                "-localhost",
                "-passwd",
                PASSWORD,
                "-forever",
                "-shared",
                "-quiet",
                "-nopw",
            ],
            theirs,
        ),
    }


class PollingReader(SocketReader):
    """The test client's reader, with a buffer it can tell apart from the socket, so the
    benchmark can wait for an update with a deadline (an idle screen sends nothing)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.pos = 0

    def take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        self.pos += n
        return data

    def ready(self, timeout: float) -> bool:
        return bool(self.buffer) or bool(select.select([self.sock], [], [], timeout)[0])


def client(
    port: int, password: str | None = PASSWORD, encodings: list[int] | None = None
) -> RfbClient:
    rfb = RfbClient("127.0.0.1", port, password=password, timeout=30).connect()
    rfb.sock.settimeout(None)
    rfb.reader = PollingReader(rfb.sock)
    rfb.set_pixel_format(RGBX)
    rfb.fb.h264_to_framebuffer = False  # decode every H.264 picture, skip RGB conversion
    rfb.set_encodings(CLIENT_ENCODINGS if encodings is None else encodings)
    rfb.request(incremental=False)
    rfb.read_update()
    return rfb


def stream(
    port: int, server: psutil.Process, seconds: float, encodings: list[int] | None = None
) -> dict[str, float]:
    rfb = client(port, encodings=encodings)
    cpu_before = sum(server.cpu_times()[:2])
    bytes_before, frames = rfb.reader.pos, 0
    reader = rfb.reader
    assert isinstance(reader, PollingReader)
    started_at = time.monotonic()
    pending = False
    while (left := seconds - (time.monotonic() - started_at)) > 0:
        if not pending:
            rfb.request(incremental=True)
            pending = True
        if not reader.ready(min(left, 0.5)):
            continue  # an idle screen: the request stays outstanding
        if rfb.read_update():
            frames += 1
        pending = False
    elapsed = time.monotonic() - started_at
    cpu = sum(server.cpu_times()[:2]) - cpu_before
    result = {
        "fps": frames / elapsed,
        "kbytes_per_s": (rfb.reader.pos - bytes_before) / elapsed / 1024,
        "cpu_share": cpu / elapsed,
    }
    rfb.close()
    return result


def key_latency(port: int, presses: int, password: str | None = PASSWORD) -> dict[str, float]:
    rfb = client(port, password)
    reader = rfb.reader
    assert isinstance(reader, PollingReader)
    samples = []
    rfb.pointer(0, 100, 100)  # over the xterm: without a window manager, focus follows it
    rfb.request(incremental=True)
    for _ in range(presses):
        while reader.ready(0.3):  # let the previous key's echo settle, keep one request open
            rfb.read_update()
            rfb.request(incremental=True)
        pressed = time.perf_counter()
        rfb.key(True, KEY_A)
        rfb.key(False, KEY_A)
        if not reader.ready(5.0):
            continue
        rfb.read_update()
        samples.append((time.perf_counter() - pressed) * 1000)
        rfb.request(incremental=True)
    rfb.close()
    samples.sort()
    return {
        "latency_p50_ms": statistics.median(samples),
        "latency_p95_ms": samples[max(0, int(0.95 * len(samples)) - 1)],
    }


@contextmanager
def through_relay(env: dict[str, str], folder: Path) -> Iterator[int]:
    """The whole product in the path: server, relay tunnel, agent; yields a local TCP port that
    leads into the tunnel (where noVNC would be)."""
    import httpx
    from tests.integration.technician import Technician
    from tests.integration.tunnel_bridge import TunnelBridge

    port = free_port()
    server_env = {k: v for k, v in env.items() if not k.startswith("RELAYDESK_")}
    server_env["RELAYDESK_DATA_DIR"] = str(folder / "server")
    process = subprocess.Popen(
        [str(BIN / "relaydesk"), "demo", "--port", str(port)],
        env=server_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    agent: subprocess.Popen[bytes] | None = None
    try:
        server = _DemoServer(f"http://127.0.0.1:{port}", process)
        technician = Technician(server).sign_in_first_time()
        key = technician.new_key()
        token = httpx.post(f"{server.url}/api/v1/portal/keys", json={"key": key}).json()
        agent = subprocess.Popen(
            [str(BIN / "relaydesk-agent"), "--server", server.url, "--key", key],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        sid = technician.wait_for_waiting_session()["id"]
        technician.post(f"/api/v1/sessions/{sid}/accept")
        technician.post(f"/api/v1/sessions/{sid}/screen/request", json={"mode": "control"})
        httpx.post(
            f"{server.url}/api/v1/portal/session/screen/answer",
            json={"allow": True},
            headers={"x-customer-token": token["customer_token"]},
        )
        tunnel = technician.post(f"/api/v1/sessions/{sid}/screen/tunnel").json()
        bridge = TunnelBridge(
            server.url.replace("http://", "ws://") + tunnel["path"], tunnel["token"]
        )
        yield bridge.port
    finally:
        if agent is not None:
            agent.kill()
        process.terminate()
        process.wait(10)


class _DemoServer:
    def __init__(self, url: str, process: subprocess.Popen[str]) -> None:
        self.url = url
        self.admin_email = self.admin_password = ""
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("Administrator e-mail: "):
                self.admin_email = line.split(": ", 1)[1].strip()
            elif line.startswith("One-time password: "):
                self.admin_password = line.split(": ", 1)[1].strip()
            elif "Uvicorn running" in line:
                break
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--presses", type=int, default=30)
    parser.add_argument(
        "--workloads", default="text,video,idle", help="comma-separated subset to run"
    )
    args = parser.parse_args()
    for tool in ("Xvfb", "xterm", "x11vnc"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (Debian packages xvfb, xterm, x11vnc)")
    results: dict[str, dict[str, dict[str, float]]] = {}
    workload_script = str(Path(__file__).with_name("workloads.py"))
    with tempfile.TemporaryDirectory() as folder, xvfb() as env:
        commands = servers(env, Path(folder))
        workloads = {
            "text": [
                "xterm",
                "-geometry",
                "200x60+0+0",
                "-e",
                f"{sys.executable} {workload_script} text",
            ],
            "video": [sys.executable, workload_script, "video"],
            "idle": ["xterm", "-geometry", "80x24+0+0", "-e", "cat"],
        }
        # Client encoding lists per workload: the real viewers' list (CopyRect first) for all;
        # also without CopyRect on text (the earlier runs' setting: scrolling re-sends the
        # text) and, for relaydesk on video, Open H.264 first (the console's video mode).
        variants: dict[str, dict[str, list[int]]] = {
            "text": {"": CLIENT_ENCODINGS, " no CopyRect": [TIGHT, JPEG_QUALITY_6, COMPRESS_2]},
            "video": {"": CLIENT_ENCODINGS},
            "idle": {"": CLIENT_ENCODINGS},
        }
        h264 = [COPYRECT, OPEN_H264, TIGHT, JPEG_QUALITY_6, COMPRESS_2]
        # The console's "video optimised" list: H.264 first, quality level 5, compression 1.
        video_mode = [COPYRECT, OPEN_H264, TIGHT, JPEG_QUALITY_6 - 1, COMPRESS_2 - 1]
        chosen = args.workloads.split(",")
        for workload, x_client in workloads.items():
            if workload not in chosen:
                continue
            with started(x_client, env):
                time.sleep(1.5)
                for name, (command, port) in commands.items():
                    with started(command, env, port) as server:
                        time.sleep(0.5)
                        runs = dict(variants[workload])
                        if workload == "video" and name == "relaydesk":
                            runs[" H.264"] = h264
                            runs[" H.264 video mode"] = video_mode
                        for label, encodings in runs.items():
                            figures = stream(port, server, args.seconds, encodings)
                            if workload == "idle":
                                figures.update(key_latency(port, args.presses))
                            results.setdefault(workload, {})[name + label] = figures
        if "idle" in chosen:
            with (
                started(workloads["idle"], env),
                through_relay(env, Path(folder)) as relay_port,
            ):
                time.sleep(1.0)
                relayed = key_latency(relay_port, args.presses, password=None)
                results["idle"]["relaydesk via relay"] = {
                    "fps": 0.0,
                    "kbytes_per_s": 0.0,
                    "cpu_share": 0.0,
                    **relayed,
                }
    report: dict[str, object] = {"results": results, "ratios_relaydesk_to_x11vnc": {}}
    for workload, by_server in results.items():
        for name, ours in by_server.items():
            if name.startswith("x11vnc"):
                continue
            label = name.removeprefix("relaydesk via relay").removeprefix("relaydesk")
            reference = by_server.get("x11vnc" + label, by_server["x11vnc"])
            report["ratios_relaydesk_to_x11vnc"][f"{workload} ({name})"] = {  # type: ignore[index]
                key: round(ours[key] / reference[key], 2) if reference.get(key) else None
                for key in ours
            }
    video = results.get("video", {})
    for label in ("H.264", "H.264 video mode") if video else ():
        report[f"video_{label}_to_tight"] = {
            key: round(video[f"relaydesk {label}"][key] / video["relaydesk"][key], 3)
            for key in ("fps", "kbytes_per_s", "cpu_share")
        }
    print(json.dumps(report, indent=2, default=lambda v: round(v, 3)))


if __name__ == "__main__":
    main()
