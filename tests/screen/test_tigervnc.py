"""Interoperability with TigerVNC's viewer (Debian's tigervnc-viewer), a client nobody here wrote.

Two Xvfb displays: the source (1280x800) shows an xterm following a file (`tail -f`) with
coloured text and a window with a many-coloured picture (tests/screen/xpicture.py); the agent
serves it with `relaydesk-agent --rfb-listen --password-file`. The viewer runs on a larger
second display, authenticates with a TigerVNC password file, and its window (no window manager:
exactly the remote desktop's size, no decorations) is read back with GetImage and compared with
the source display's screenshot:
  - Raw, ZRLE and Tight without JPEG: pixel for pixel, first the full picture, then after the
    xterm scrolls (the viewer announces CopyRect: scrolled lines go as CopyRect, the rest
    incrementally in the encoding under test);
  - Tight JPEG (quality level 8): mean absolute error per channel under 2 over the screen and
    under 6 over the picture window.
The agent's log tells which encoding it chose for the viewer ("viewer encoding: ...").
Skips without tigervnc-viewer/xdotool/xterm (fails instead under CI=true).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from relaydesk.agent.screen.rfb import vnc_auth_response
from tests.fixtures.common import (
    REPO_ROOT,
    die_with_parent,
    free_port,
    require_executable,
    session_artifacts,
)
from tests.fixtures.xvfb import XvfbDisplay, start_xvfb, stop_xvfb, x_screenshot

PASSWORD = "tiger-pw"
PICTURE = (760, 60, 480, 320)  # x, y, width, height on the source display
WAIT = 30.0
# The fixed key TigerVNC (like every VNC since 3.3) obfuscates stored passwords with.
VNC_PASSWD_KEY = bytes([23, 82, 107, 6, 35, 78, 88, 7])


def tigervnc_password_file(path: Path, password: str) -> None:
    """What `vncpasswd` writes: the password (8 bytes, NUL padded) DES-encrypted with the fixed
    key, in VNC's bit order, which is how VNC authentication encrypts its challenge too."""
    path.write_bytes(vnc_auth_response(VNC_PASSWD_KEY, password.encode()[:8].ljust(8, b"\0")))


@dataclass
class Rig:
    source: XvfbDisplay
    viewer_display: XvfbDisplay
    port: int
    agent_log: Path
    scroll_file: Path
    viewer_password: Path


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_until(check: Callable[[], bool], timeout: float = WAIT, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    viewer = require_executable("xtigervncviewer", "apt-get install tigervnc-viewer")
    del viewer
    require_executable("xdotool", "apt-get install xdotool")
    xterm = require_executable("xterm", "apt-get install xterm")
    tmp = tmp_path_factory.mktemp("tigervnc")
    artifacts = session_artifacts()
    source = start_xvfb(artifacts / "tigervnc-source-xvfb.log")
    viewer_display = start_xvfb(artifacts / "tigervnc-viewer-xvfb.log", "1600x1000x24")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        scroll_file = tmp / "scroll.txt"
        colours = "".join(f"\x1b[3{i % 8}m colour {i} \x1b[0m" for i in range(8))
        scroll_file.write_text("".join(f"line {n:03d} {colours}\n" for n in range(20)))
        env = {**source.env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        procs.append(
            _start(
                [xterm, "-geometry", "90x30+0+0", "-bg", "white", "-fg", "black"]
                + ["-e", "tail", "-n", "+1", "-f", str(scroll_file)],
                env,
                tmp / "xterm.log",
            )
        )
        procs.append(
            _start(
                [sys.executable, str(Path(__file__).parent / "xpicture.py")]
                + [str(v) for v in PICTURE],
                env,
                tmp / "xpicture.log",
            )
        )
        password_file = tmp / "password"
        password_file.write_text(PASSWORD + "\n")
        port = free_port()
        agent_log = artifacts / "tigervnc-agent.log"
        agent_log.unlink(missing_ok=True)
        procs.append(
            _start(
                [sys.executable, "-m", "relaydesk.agent.main", "--rfb-listen"]
                + [f"127.0.0.1:{port}", "--display", source.display]
                + ["--password-file", str(password_file)],
                {**os.environ},
                agent_log,
            )
        )
        wait_until(lambda: "listening" in agent_log.read_text(), what="the agent to listen")
        viewer_password = tmp / "viewer.passwd"
        tigervnc_password_file(viewer_password, PASSWORD)
        stable_source(source)
        yield Rig(source, viewer_display, port, agent_log, scroll_file, viewer_password)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        stop_xvfb(viewer_display)
        stop_xvfb(source)


def stable_source(display: XvfbDisplay) -> np.ndarray:
    for _ in range(100):
        a = x_screenshot(display.display)
        time.sleep(0.2)
        b = x_screenshot(display.display)
        if np.array_equal(a, b) and (b != 0).any():
            return b
    raise AssertionError("the source display never settled")


def viewer_window(display: XvfbDisplay) -> int | None:
    found = subprocess.run(
        ["xdotool", "search", "--name", " - TigerVNC$"],
        env=display.env,
        capture_output=True,
        text=True,
        timeout=10,
    )
    ids = found.stdout.split()
    return int(ids[0]) if ids else None


def window_rgb(display: XvfbDisplay, window_id: int) -> np.ndarray:
    """The viewer window's pixels (GetImage on the window: its position does not matter)."""
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display.display)
    try:
        window = d.create_resource_object("window", window_id)
        g = window.get_geometry()
        image = window.get_image(0, 0, g.width, g.height, X.ZPixmap, 0xFFFFFFFF)
        bgrx = np.frombuffer(image.data, np.uint8).reshape(g.height, g.width, 4)
        return bgrx[..., [2, 1, 0]].copy()
    finally:
        d.close()


@pytest.fixture
def run_viewer(rig: Rig) -> Iterator[Callable[..., tuple[int, subprocess.Popen[bytes]]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def run(*options: str) -> tuple[int, subprocess.Popen[bytes]]:
        log = session_artifacts() / "tigervnc-viewer.log"
        proc = _start(
            ["xtigervncviewer", "-passwd", str(rig.viewer_password), "-ViewOnly"]
            + ["-AutoSelect=0", "-FullColor=1", "-RemoteResize=0", "-AlertOnFatalError=0"]
            + ["-ReconnectOnError=0", *options, f"127.0.0.1::{rig.port}"],
            rig.viewer_display.env,
            log,
        )
        procs.append(proc)
        window: list[int] = []

        def has_window() -> bool:
            assert proc.poll() is None, f"the viewer exited: {log.read_text(errors='replace')}"
            found = viewer_window(rig.viewer_display)
            if found is not None:
                window.append(found)
            return bool(window)

        wait_until(has_window, what="the viewer's window")
        return window[0], proc

    yield run
    for proc in procs:
        _stop(proc)
    # The next viewer must not find this one's window.
    wait_until(lambda: viewer_window(rig.viewer_display) is None, what="the viewer to close")


def agent_said(rig: Rig, line: str) -> None:
    wait_until(lambda: line in rig.agent_log.read_text(), what=f"the agent to log {line!r}")


def viewer_matches(rig: Rig, window_id: int) -> np.ndarray:
    """Wait until the viewer's window equals the (settled) source display; return it."""
    want: list[np.ndarray] = []

    def same() -> bool:
        want[:] = [stable_source(rig.source)]
        got = window_rgb(rig.viewer_display, window_id)
        return got.shape == want[0].shape and np.array_equal(got, want[0])

    try:
        wait_until(same, what="the viewer to show the source display pixel for pixel")
    except AssertionError:
        got = window_rgb(rig.viewer_display, window_id)
        if got.shape == want[0].shape:
            differ = (got != want[0]).any(-1)
            ys, xs = np.nonzero(differ)
            raise AssertionError(
                f"{differ.sum()} pixels differ, within x {xs.min()}..{xs.max()}, "
                f"y {ys.min()}..{ys.max()}"
            ) from None
        raise AssertionError(f"window {got.shape} != screen {want[0].shape}") from None
    return want[0]


LOSSLESS = {
    "raw": (["-PreferredEncoding=Raw"], "viewer encoding: Raw, CopyRect"),
    "zrle": (["-PreferredEncoding=ZRLE"], "viewer encoding: ZRLE, CopyRect"),
    "tight": (["-PreferredEncoding=Tight", "-NoJPEG"], "viewer encoding: Tight lossless, CopyRect"),
}


@pytest.mark.parametrize("encoding", sorted(LOSSLESS))
def test_tigervnc_lossless_equals_the_screen_pixel_for_pixel(
    rig: Rig, run_viewer: Callable[..., tuple[int, subprocess.Popen[bytes]]], encoding: str
) -> None:
    options, announced = LOSSLESS[encoding]
    marker = rig.agent_log.read_text().count(announced)
    window, viewer = run_viewer(*options, "-CompressLevel", "2")
    wait_until(
        lambda: rig.agent_log.read_text().count(announced) > marker,
        what=f"the agent to log {announced!r}",
    )
    screen = viewer_matches(rig, window)
    assert (screen[PICTURE[1] : PICTURE[1] + 10, PICTURE[0] : PICTURE[0] + 10] != 0).any()
    # The xterm scrolls by 25 lines: CopyRect plus incremental updates, still exact.
    with rig.scroll_file.open("a") as out:
        for n in range(25):
            out.write(f"{encoding} scrolled {n:02d} \x1b[1;34mblue\x1b[0m \x1b[41mred\x1b[0m\n")
    after = viewer_matches(rig, window)
    assert not np.array_equal(after, screen), "the xterm scrolled"
    # The agent's line for this viewer when it leaves counts the CopyRects it sent.
    before = rig.agent_log.read_text().count("disconnected")
    _stop(viewer)
    wait_until(
        lambda: rig.agent_log.read_text().count("disconnected") > before,
        what="the agent to see the viewer leave",
    )
    last = [line for line in rig.agent_log.read_text().splitlines() if "disconnected" in line]
    copyrects = re.search(r"(\d+) CopyRect", last[-1])
    assert copyrects and int(copyrects.group(1)) > 0, last[-1]


def test_tigervnc_tight_jpeg_within_bound(
    rig: Rig, run_viewer: Callable[..., tuple[int, subprocess.Popen[bytes]]]
) -> None:
    announced = "viewer encoding: Tight JPEG quality 8, CopyRect"
    marker = rig.agent_log.read_text().count(announced)
    window, _ = run_viewer("-PreferredEncoding=Tight", "-NoJPEG=0", "-QualityLevel", "8")
    wait_until(
        lambda: rig.agent_log.read_text().count(announced) > marker,
        what=f"the agent to log {announced!r}",
    )
    x, y, w, h = PICTURE
    errors: list[tuple[float, float]] = []

    def close_enough() -> bool:
        want = stable_source(rig.source).astype(int)
        got = window_rgb(rig.viewer_display, window).astype(int)
        if got.shape != want.shape:
            return False
        diff = np.abs(got - want)
        errors[:] = [(float(diff.mean()), float(diff[y : y + h, x : x + w].mean()))]
        return errors[0][0] < 2.0 and errors[0][1] < 6.0

    try:
        wait_until(close_enough, what="the viewer's picture within the JPEG bound")
    except AssertionError:
        raise AssertionError(f"mean errors (screen, picture): {errors}") from None
    assert errors[0][1] > 0, "the picture went as JPEG (lossy), not lossless"
