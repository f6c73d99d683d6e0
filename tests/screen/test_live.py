"""The RFB server against a real Xvfb with real X clients, driven by standard and test clients.

Starts its own Xvfb (-displayfd), xterm and xev on it, and `relaydesk-agent --rfb-listen` as a
subprocess. vncdotool (a standard client nobody here wrote) captures in Raw and ZRLE, types and
clicks; tests/fixtures/rfbclient.py (reference decoders) checks Tight lossless and the rest.
Skips without Xvfb/xterm/xev, fails instead under CI=true.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from relaydesk.agent.screen import rfb
from relaydesk.agent.screen.encodings.h264 import available as h264_available
from tests.fixtures.common import REPO_ROOT, free_port, require_executable, session_artifacts
from tests.fixtures.rfbclient import RGBX, TIGHT, ZRLE, AuthFailed, RfbClient
from tests.fixtures.xvfb import XvfbDisplay, start_xvfb, stop_xvfb, x_screenshot

PASSWORD = "s3cret-pw"
XTERM_GEOMETRY = (0, 0)  # xterm at the top left
XEV_AT = (700, 300)  # xev window: 300x200 at (700, 300)


def stable_screenshot(display: str) -> np.ndarray:
    for _ in range(50):
        a = x_screenshot(display)
        time.sleep(0.1)
        b = x_screenshot(display)
        if np.array_equal(a, b):
            return b
    raise AssertionError("the X screen never settled")


@pytest.fixture(scope="module")
def xvfb() -> Iterator[XvfbDisplay]:
    log = session_artifacts() / "screen-xvfb.log"
    display = start_xvfb(log)
    yield display
    stop_xvfb(display)


@pytest.fixture(scope="module")
def typed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("typed") / "typed.txt"


@pytest.fixture(scope="module")
def x_clients(xvfb: XvfbDisplay, typed_file: Path) -> Iterator[dict[str, subprocess.Popen]]:
    xterm = require_executable("xterm", "apt-get install xterm")
    xev = require_executable("xev", "apt-get install x11-utils")
    require_executable("xmessage", "apt-get install x11-utils")
    env = {**xvfb.env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    events_log = typed_file.parent / "xev.log"
    procs = {
        "xterm": subprocess.Popen(
            [
                xterm,
                "-u8",
                "-geometry",
                "80x12+0+0",
                "-bg",
                "white",
                "-fg",
                "black",
                "-e",
                "sh",
                "-c",
                f"stty -echo; cat > {typed_file}",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        "xev": subprocess.Popen(
            [
                xev,
                "-geometry",
                f"300x200+{XEV_AT[0]}+{XEV_AT[1]}",
                "-event",
                "button",
                "-event",
                "keyboard",
            ],
            env=env,
            stdout=events_log.open("w"),
            stderr=subprocess.DEVNULL,
        ),
    }
    procs["xev"].log_path = events_log  # type: ignore[attr-defined]
    time.sleep(1.5)
    for name, proc in procs.items():
        assert proc.poll() is None, f"{name} exited"
    yield procs
    for proc in procs.values():
        proc.terminate()
        proc.wait(5)


def start_agent(display: str, port: int, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "relaydesk.agent.main",
            "--rfb-listen",
            f"127.0.0.1:{port}",
            "--display",
            display,
            *extra,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "listening" in line:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"the agent did not start listening: {proc.stdout.read()}")


@pytest.fixture(scope="module")
def agent(xvfb: XvfbDisplay, x_clients: dict, tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    password_file = tmp_path_factory.mktemp("pw") / "password"
    password_file.write_text(PASSWORD + "\n")
    proc = start_agent(xvfb.display, port, "--password-file", str(password_file))
    yield port
    proc.terminate()
    proc.wait(10)


def vncdotool(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    vncdo = Path(sys.executable).parent / "vncdo"
    return subprocess.run([str(vncdo), *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("encoding", ["raw", "zrle"])
def test_vncdotool_capture_equals_x_screenshot(xvfb, agent, encoding, tmp_path) -> None:
    want = stable_screenshot(xvfb.display)
    out = tmp_path / f"{encoding}.png"
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).parent / "vncdotool_capture.py"),
            f"127.0.0.1::{agent}",
            PASSWORD,
            encoding,
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    got = np.asarray(Image.open(out).convert("RGB"))
    assert got.shape == want.shape
    assert np.array_equal(got, x_screenshot(xvfb.display)), "decoded framebuffer != X screen"
    assert (want != 0).any(), "the screen shows the X clients"


@pytest.mark.parametrize(
    "encodings", [[TIGHT, -256 + 1], [ZRLE], [0]], ids=["tight", "zrle", "raw"]
)
def test_reference_client_lossless_equals_x_screenshot(xvfb, agent, encodings) -> None:
    want = stable_screenshot(xvfb.display)
    client = RfbClient("127.0.0.1", agent, PASSWORD).connect()
    try:
        client.set_pixel_format(RGBX)
        client.set_encodings([*encodings, rfb.ENC_LAST_RECT])
        client.request(incremental=False)
        rects = client.read_update()
        assert {r[4] for r in rects} == {encodings[0]}
        assert np.array_equal(client.rgb(), x_screenshot(xvfb.display))
    finally:
        client.close()
    assert want.shape[:2] == client.rgb().shape[:2]


def test_tight_jpeg_within_bound_and_incremental_updates(xvfb, agent) -> None:
    client = RfbClient("127.0.0.1", agent, PASSWORD).connect()
    try:
        client.set_pixel_format(RGBX)
        client.set_encodings(
            [
                TIGHT,
                rfb.ENC_JPEG_QUALITY_0 + 8,
                rfb.ENC_CURSOR,
                rfb.ENC_EXTENDED_DESKTOP_SIZE,
                rfb.ENC_QEMU_EXT_KEY,
            ]
        )
        client.request(incremental=False)
        seen = client.read_update() + client.read_update()
        kinds = {r[4] for r in seen}
        assert rfb.ENC_EXTENDED_DESKTOP_SIZE in kinds and TIGHT in kinds
        want = x_screenshot(xvfb.display).astype(int)
        error = np.abs(client.rgb().astype(int) - want).mean()
        assert error < 2.0, error
        # An incremental request waits for a change; a new window produces one.
        client.request(incremental=True)
        proc = subprocess.Popen(["xmessage", "-geometry", "+300+500", "incremental"], env=xvfb.env)
        try:
            rects = client.read_update()
            assert rects and all(r[1] + r[3] > 500 for r in rects if r[4] == TIGHT)
        finally:
            proc.kill()
            proc.wait()
    finally:
        client.close()


def test_drawing_in_several_places_at_once_reaches_the_viewer_exactly(xvfb, agent) -> None:
    """The agent grabs only the box the X server reports as damaged: every place drawn in,
    also between two grabs, must reach the viewer, pixel for pixel."""
    from Xlib import X
    from Xlib import display as xdisplay

    client = RfbClient("127.0.0.1", agent, PASSWORD).connect()
    d = xdisplay.Display(xvfb.display)
    try:
        client.set_pixel_format(RGBX)
        client.set_encodings([TIGHT, rfb.ENC_COMPRESS_LEVEL_0 + 1])  # Tight, lossless
        client.request(incremental=False)
        client.read_update()
        root = d.screen().root
        width, height = root.get_geometry().width, root.get_geometry().height
        # Far apart, away from the other X clients: three corners and the top middle.
        spots = [(width - 60, 10), (10, height - 50), (width - 60, height - 50), (width // 2, 200)]
        windows = []
        for x, y in spots:
            window = root.create_window(x, y, 48, 40, 0, X.CopyFromParent, override_redirect=1)
            window.map()
            windows.append((window, window.create_gc()))
        colormap = d.screen().default_colormap
        for round_ in range(6):
            colours = [(40 * round_ + 30 * i) % 256 for i in range(len(spots))]
            for (window, gc), shade in zip(windows, colours, strict=True):
                pixel = colormap.alloc_color(shade * 257, (255 - shade) * 257, 90 * 257).pixel
                gc.change(foreground=pixel)
                window.fill_rectangle(gc, 0, 0, 48, 40)
                d.flush()
            d.sync()
            want = stable_screenshot(xvfb.display)
            for _ in range(30):  # updates until the viewer has every spot (or give up)
                if all(
                    np.array_equal(
                        client.rgb()[y : y + 40, x : x + 48], want[y : y + 40, x : x + 48]
                    )
                    for x, y in spots
                ):
                    break
                client.request(incremental=True)
                client.read_update(timeout=5)
            assert np.array_equal(client.rgb(), want), f"round {round_}: the viewer differs"
    finally:
        d.close()
        client.close()


GRADIENT_AT = (300, 420, 320, 160)  # x, y, w, h: a colour ramp (a toolbar, a drawing)
PHOTO_AT = (704, 640, 256, 128)  # a photo-like picture, on tiles of its own


def _region(rgb: np.ndarray, at: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = at
    return rgb[y : y + h, x : x + w]


def test_jpeg_areas_sharpen_to_exact_pixels_once_the_screen_is_still(xvfb, agent) -> None:
    """Low JPEG quality blurs a colour ramp and a photo; with no change on the screen the next
    request brings the ramp's exact pixels (lossless Tight), the photo stays JPEG (its exact
    pixels would cost many times the JPEG), and then nothing more is sent."""
    script = str(Path(__file__).parent / "xpicture.py")
    windows = [
        subprocess.Popen(
            [sys.executable, script, *(str(v) for v in GRADIENT_AT), "gradient"], env=xvfb.env
        ),
        subprocess.Popen([sys.executable, script, *(str(v) for v in PHOTO_AT)], env=xvfb.env),
    ]
    client = RfbClient("127.0.0.1", agent, PASSWORD).connect()
    try:

        def colours(at: tuple[int, int, int, int]) -> int:
            shown = _region(x_screenshot(xvfb.display), at).reshape(-1, 3)
            return len(np.unique(shown, axis=0))

        deadline = time.monotonic() + 10
        while colours(GRADIENT_AT) < 100 or colours(PHOTO_AT) < 1000:  # until both are drawn
            assert time.monotonic() < deadline, "the test windows never appeared"
            time.sleep(0.1)
        want = stable_screenshot(xvfb.display)
        client.set_pixel_format(RGBX)
        client.set_encodings(
            [rfb.ENC_COPYRECT, TIGHT, rfb.ENC_JPEG_QUALITY_0 + 1, rfb.ENC_LAST_RECT]
        )
        client.request(incremental=False)
        client.read_update()
        assert client.fb.jpeg_rects, "the windows should have gone out as JPEG"
        for at in (GRADIENT_AT, PHOTO_AT):
            assert not np.array_equal(_region(client.rgb(), at), _region(want, at))
        jpeg_count = len(client.fb.jpeg_rects)
        client.request(incremental=True)
        refresh = client.read_update(timeout=10)
        assert refresh and {r[4] for r in refresh} == {TIGHT}
        assert len(client.fb.jpeg_rects) == jpeg_count  # the refresh itself is lossless
        assert np.array_equal(_region(client.rgb(), GRADIENT_AT), _region(want, GRADIENT_AT))
        assert not np.array_equal(_region(client.rgb(), PHOTO_AT), _region(want, PHOTO_AT))
        assert np.array_equal(x_screenshot(xvfb.display), want)  # the screen did not change
        client.request(incremental=True)
        with pytest.raises(TimeoutError):
            client.read_update(timeout=1.0)  # nothing more to send
    finally:
        client.close()
        for window in windows:
            window.kill()
            window.wait()


def luma_psnr(got_rgb: np.ndarray, want_rgb: np.ndarray) -> float:
    weights = np.array([0.299, 0.587, 0.114])
    diff = got_rgb.astype(np.float64) @ weights - want_rgb.astype(np.float64) @ weights
    mse = float((diff**2).mean())
    return 99.0 if mse == 0 else 10 * float(np.log10(255**2 / mse))


@pytest.mark.skipif(not h264_available(), reason="PyAV with libx264 is not installed")
def test_open_h264_in_video_mode_within_bound(xvfb, agent) -> None:
    """The console's "video optimised" list (CopyRect, H.264, Tight, quality 5): the agent
    answers with one H.264 picture of the whole screen, decoded by FFmpeg; a change comes as a
    small P-frame in the same decoder context. Bound: luma PSNR >= 30 dB (tests/screen/
    test_h264.py); the display's size is even, so no lossless strip."""
    client = RfbClient("127.0.0.1", agent, PASSWORD).connect()
    try:
        client.set_pixel_format(RGBX)
        video_mode = [
            rfb.ENC_COPYRECT,
            rfb.ENC_OPEN_H264,
            TIGHT,
            rfb.ENC_JPEG_QUALITY_0 + 5,
            rfb.ENC_COMPRESS_LEVEL_0 + 1,
            rfb.ENC_LAST_RECT,
        ]
        client.set_encodings(video_mode)
        client.request(incremental=False)
        rects = client.read_update()
        width, height = client.fb.width, client.fb.height
        assert [r[:5] for r in rects] == [(0, 0, width, height, rfb.ENC_OPEN_H264)]
        assert client.fb.h264_rects[-1][4] == 1  # first picture: reset the context
        want = stable_screenshot(xvfb.display)
        assert luma_psnr(client.rgb(), want) >= 30.0
        keyframe_bytes = client.reader.pos
        client.request(incremental=True)
        proc = subprocess.Popen(["xmessage", "-geometry", "+300+500", "h264"], env=xvfb.env)
        try:
            rects = client.read_update()
            assert [r[4] for r in rects] == [rfb.ENC_OPEN_H264]
            assert client.fb.h264_rects[-1][4] == 0  # same context, no reset
            delta_bytes = client.reader.pos - keyframe_bytes
            assert delta_bytes < keyframe_bytes, (delta_bytes, keyframe_bytes)
            # Until the window is fully drawn updates may follow; then the picture matches.
            want = stable_screenshot(xvfb.display)
            for _ in range(10):
                if luma_psnr(client.rgb(), want) >= 30.0:
                    break
                client.request(incremental=True)
                client.read_update(timeout=2)
            assert luma_psnr(client.rgb(), want) >= 30.0
            # Video mode off: Tight, lossless; the window goes away meanwhile.
            client.set_encodings([TIGHT, rfb.ENC_LAST_RECT])
            proc.kill()
            proc.wait()
            catch_up(client, lambda want: np.array_equal(client.rgb(), want), xvfb.display)
            # Video mode on again: H.264 continues its context and must not bring back the
            # window that went away while another encoding was in use.
            client.set_encodings(video_mode)
            proc = subprocess.Popen(["xmessage", "-geometry", "+800+100", "again"], env=xvfb.env)
            catch_up(client, lambda want: luma_psnr(client.rgb(), want) >= 30.0, xvfb.display)
            assert client.fb.h264_rects[-1][4] == 0
            want = stable_screenshot(xvfb.display)
            where = (slice(480, 620), slice(280, 520))  # where the first window was
            assert luma_psnr(client.rgb()[where], want[where]) >= 30.0
        finally:
            proc.kill()
            proc.wait()
    finally:
        client.close()


def catch_up(client: RfbClient, matches: Callable[[np.ndarray], bool], display: str) -> None:
    """Ask for updates until the client's picture matches the settled X screen (20 s)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        want = stable_screenshot(display)
        if matches(want):
            return
        client.request(incremental=True)
        with contextlib.suppress(TimeoutError):
            client.read_update(timeout=2)
    raise AssertionError("the client's picture never caught up with the screen")


def wait_for_text(path: Path, text: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        content = path.read_text(encoding="utf-8") if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.1)
    return content


def test_typing_reaches_xterm(agent, typed_file) -> None:
    # The pointer over the xterm gives it the keyboard focus (no window manager).
    text = "Hello, World! 123 é ü €"
    result = vncdotool(
        "-s",
        f"127.0.0.1::{agent}",
        "-p",
        PASSWORD,
        "move",
        "100",
        "60",
        "type",
        text,
        "key",
        "enter",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    content = wait_for_text(typed_file, text + "\n")
    assert text + "\n" in content, repr(content)


def test_typing_follows_the_customers_keyboard_layout_changes(xvfb, agent, typed_file) -> None:
    """The customer switches from a US to a German, then a French layout while the technician
    types: every character still lands as typed (keysyms on the keys they are on now)."""
    setxkbmap = require_executable("setxkbmap", "apt-get install x11-xkb-utils")
    client = RfbClient("127.0.0.1", agent, PASSWORD).connect()

    def type_and_read(text: str) -> None:
        client.type_text(text)
        content = wait_for_text(typed_file, text)
        assert text in content, repr(content[-80:])

    try:
        client.pointer(0, 100, 60)  # over the xterm: keyboard focus
        type_and_read("us zy@q-\n")
        for layout, text in (("de", "de zy@q-\n"), ("fr", "fr azqm1&-\n")):
            subprocess.run([setxkbmap, layout], env=xvfb.env, check=True)
            type_and_read(text)
    finally:
        subprocess.run([setxkbmap, "us"], env=xvfb.env, check=True)
        client.close()


def test_typing_is_right_whatever_caps_lock_says(xvfb, agent, typed_file, x_clients) -> None:
    """Caps Lock is on at the device (the customer left it on): what the technician types still
    lands as typed, capitals, small letters, a letter the keymap lacks, and with Shift held; a
    shortcut (Ctrl-Shift-T) keeps its Shift."""
    xdotool = require_executable("xdotool", "apt-get install xdotool")
    client = RfbClient("127.0.0.1", agent, PASSWORD).connect()
    try:
        client.pointer(0, 100, 60)  # over the xterm: keyboard focus
        subprocess.run([xdotool, "key", "Caps_Lock"], env=xvfb.env, check=True)
        client.type_text("caps on: abc ABC é É 1! ")
        client.key(True, 0xFFE1)  # Shift held by the technician
        client.type_text("XY")
        client.key(False, 0xFFE1)
        client.type_text("\n")
        text = "caps on: abc ABC é É 1! XY\n"
        content = wait_for_text(typed_file, text)
        assert text in content, repr(content[-80:])

        client.pointer(0, XEV_AT[0] + 100, XEV_AT[1] + 100)  # over xev, which logs keys
        before = xev_log(x_clients).count("KeyPress")
        client.key(True, 0xFFE1)  # Shift-Right (selecting), then Ctrl-Shift-T
        client.tap(0xFF53)
        client.key(True, 0xFFE3)
        client.tap(0x54)
        for keysym in (0xFFE1, 0xFFE3):
            client.key(False, keysym)
        deadline = time.monotonic() + 10
        while xev_log(x_clients).count("KeyPress") < before + 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        presses = [e for e in xev_log(x_clients).split("\n\n") if e.startswith("KeyPress")]

        def state_of(pattern: str) -> int:
            event = [e for e in presses if re.search(pattern, e)][-1]
            return int(re.findall(r"state (0x[0-9a-f]+)", event)[0], 16)

        assert state_of(r"keysym 0xff53, Right\)") & 0x1  # Shift held for the Right
        assert state_of(r"keysym 0x(54|74), [Tt]\)") & 0x5 == 0x5  # Shift and Control for T
    finally:
        subprocess.run([xdotool, "key", "Caps_Lock"], env=xvfb.env, check=True)
        client.close()


KEYPAD = {"1": 0xFFB1, "2": 0xFFB2, "0": 0xFFB0, ".": 0xFFAE, "+": 0xFFAB}


def test_keypad_digits_whatever_num_lock_says(xvfb, agent, typed_file) -> None:
    """The technician types digits on his numeric keypad (noVNC sends KP_ keysyms): they arrive
    as digits with the device's Num Lock off and on, not as Home, End and arrows."""
    xdotool = require_executable("xdotool", "apt-get install xdotool")
    client = RfbClient("127.0.0.1", agent, PASSWORD).connect()

    def type_keypad(text: str) -> None:
        for char in text:
            client.tap(KEYPAD[char])
        client.tap(0xFF0D)  # Return

    try:
        client.pointer(0, 100, 60)  # over the xterm: keyboard focus
        type_keypad("12.0+")
        subprocess.run([xdotool, "key", "Num_Lock"], env=xvfb.env, check=True)
        type_keypad("21.0+")
        text = "12.0+\n21.0+\n"
        content = wait_for_text(typed_file, text)
        assert text in content, repr(content[-80:])
    finally:
        subprocess.run([xdotool, "key", "Num_Lock"], env=xvfb.env, check=True)
        client.close()


def xev_log(x_clients) -> str:
    return x_clients["xev"].log_path.read_text()


def test_click_wheel_and_drag_reach_the_window(agent, x_clients) -> None:
    x, y = XEV_AT[0] + 150, XEV_AT[1] + 100
    before = xev_log(x_clients).count("ButtonPress")
    result = vncdotool(
        "-s",
        f"127.0.0.1::{agent}",
        "-p",
        PASSWORD,
        "move",
        str(x),
        str(y),
        "click",
        "1",
        "click",
        "4",
        "mousedown",
        "1",
        "drag",
        str(x + 40),
        str(y + 30),
        "mouseup",
        "1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and xev_log(x_clients).count("ButtonPress") < before + 3:
        time.sleep(0.1)
    log = xev_log(x_clients)
    presses = log.count("ButtonPress") - before
    assert presses >= 3, log[-2000:]
    assert "button 4" in log and "button 1" in log
    # The drag ends where it was dragged to, with the button up: the release, the last event
    # before vncdotool hangs up, is not lost with the connection.
    end = f"root:({x + 40},{y + 30})"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and end not in xev_log(x_clients):
        time.sleep(0.1)
    log = xev_log(x_clients)
    assert log.rfind("ButtonRelease") > log.rfind("ButtonPress"), log[-1500:]
    assert end in log[log.rfind("ButtonRelease") :], log[-1500:]


def test_wrong_password_is_refused(agent) -> None:
    with pytest.raises(AuthFailed):
        RfbClient("127.0.0.1", agent, "wrong").connect()
    result = vncdotool("-s", f"127.0.0.1::{agent}", "-p", "wrong", "-t", "20", "move", "1", "1")
    assert result.returncode != 0


def test_non_loopback_without_password_refuses_to_start(xvfb) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "relaydesk.agent.main",
            "--rfb-listen",
            f"0.0.0.0:{free_port()}",
            "--display",
            xvfb.display,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO_ROOT,
    )
    assert result.returncode != 0
    assert "without a password" in result.stderr


# --- in-process: the handle (view only, revoke, stop) -------------------------------------


class ServerThread:
    """serve_rfb behind an RfbListener on its own event loop thread."""

    def __init__(self, display: str, view_only: bool, monitor: int | None = None) -> None:
        from relaydesk.agent.screen.listener import RfbListener

        self.loop = asyncio.new_event_loop()
        self.listener = RfbListener(
            "127.0.0.1", 0, display, password=None, name="t", view_only=view_only, monitor=monitor
        )
        self.loop.run_until_complete(self.listener.start())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.listener.port

    def handle(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.listener.handles:
                return next(iter(self.listener.handles))
            time.sleep(0.05)
        raise AssertionError("no session")

    def call(self, fn, *args) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.listener.close)
        time.sleep(0.3)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_view_only_then_control_then_revoked_then_stopped(xvfb, x_clients) -> None:
    server = ServerThread(xvfb.display, view_only=True)
    try:
        client = RfbClient("127.0.0.1", server.port).connect()
        x, y = XEV_AT[0] + 100, XEV_AT[1] + 50
        handle = server.handle()

        def clicks() -> int:
            return xev_log(x_clients).count("ButtonPress")

        start = clicks()
        client.pointer(0, x, y)
        client.pointer(1, x, y)
        client.pointer(0, x, y)
        time.sleep(1.0)
        assert clicks() == start, "view only: nothing arrives"

        server.call(handle.set_input_allowed, True)
        time.sleep(0.2)
        client.pointer(1, x, y)
        client.pointer(0, x, y)
        deadline = time.monotonic() + 5
        while clicks() == start and time.monotonic() < deadline:
            time.sleep(0.05)
        assert clicks() == start + 1, "control: the click arrives"

        server.call(handle.set_input_allowed, False)
        time.sleep(0.2)
        revoked_at = clicks()
        client.pointer(1, x, y)
        client.pointer(0, x, y)
        time.sleep(1.0)
        assert clicks() == revoked_at, "revoked: nothing arrives"

        started = time.monotonic()
        server.call(handle.stop, "consent revoked")
        client.sock.settimeout(5)
        with pytest.raises((ConnectionError, OSError)):
            while True:
                client.read_message()
        assert time.monotonic() - started < 2
        assert handle.close_reason == "consent revoked"
        client.close()
    finally:
        server.close()


def test_continuous_updates_with_fences(xvfb, x_clients) -> None:
    server = ServerThread(xvfb.display, view_only=True)
    try:
        client = RfbClient("127.0.0.1", server.port).connect()
        client.set_pixel_format(RGBX)
        client.set_encodings([TIGHT, rfb.ENC_FENCE, rfb.ENC_CONTINUOUS_UPDATES])
        kind, _ = client.read_message()
        assert kind == "fence"
        kind, _ = client.read_message()
        assert kind == "end_of_cu"
        client.request(incremental=False)
        client.read_update()
        client.sock.sendall(
            b"\x96\x01"
            + (0).to_bytes(4, "big")
            + client.fb.width.to_bytes(2, "big")
            + client.fb.height.to_bytes(2, "big")
        )
        # Updates now come without requests when the screen changes.
        proc = subprocess.Popen(["xmessage", "-geometry", "+400+600", "continuous"], env=xvfb.env)
        try:
            client.read_update()
        finally:
            proc.kill()
            proc.wait()
        client.read_update()  # the window going away: no request sent in between
        assert np.array_equal(client.rgb(), stable_screenshot(xvfb.display))
        client.close()
    finally:
        server.close()


def test_scrolling_uses_copyrect_and_stays_exact(xvfb, agent, x_clients) -> None:
    client = RfbClient("127.0.0.1", agent, PASSWORD).connect()
    scroller = subprocess.Popen(
        [
            "xterm",
            "-geometry",
            "60x10+0+420",
            "-e",
            "sh",
            "-c",
            "for i in $(seq 1 40); do echo scrolling line $i; sleep 0.08; done; sleep 60",
        ],
        env=xvfb.env,
    )
    try:
        client.set_pixel_format(RGBX)
        client.set_encodings([rfb.ENC_COPYRECT, TIGHT])
        client.request(incremental=False)
        client.read_update()
        seen: list[int] = []
        while True:  # until the screen has been still for a second
            client.request(incremental=True)
            try:
                seen += [r[4] for r in client.read_update(timeout=1.0)]
            except TimeoutError:
                break
        assert np.array_equal(client.rgb(), stable_screenshot(xvfb.display))
        assert rfb.ENC_COPYRECT in seen, seen
    finally:
        scroller.kill()
        scroller.wait()
        client.close()


def test_malformed_messages_close_the_connection_not_the_agent(agent) -> None:
    for garbage in [
        b"\x07" * 10,
        b"\x00\x00\x00\x00" + bytes(16),
        b"\x06\x00\x00\x00\x7f\xff\xff\xff",
    ]:
        client = RfbClient("127.0.0.1", agent, PASSWORD).connect()
        client.sock.sendall(garbage)
        client.sock.settimeout(10)
        with pytest.raises(ConnectionError):
            while True:
                client.read_message()
        client.close()
    # The agent still serves.
    client = RfbClient("127.0.0.1", agent, PASSWORD).connect()
    client.set_pixel_format(RGBX)
    client.request(incremental=False)
    assert client.read_update()
    client.close()


def test_monitors_listed_and_one_monitor_served(xvfb, x_clients) -> None:
    xrandr = require_executable("xrandr", "apt-get install x11-xserver-utils")
    for name, geometry in (("left", "640/169x800/211+0+0"), ("right", "640/169x800/211+640+0")):
        subprocess.run([xrandr, "--setmonitor", name, geometry, "none"], env=xvfb.env, check=True)
    try:
        whole = ServerThread(xvfb.display, view_only=True)
        try:
            client = RfbClient("127.0.0.1", whole.port).connect()
            client.set_encodings([TIGHT, rfb.ENC_EXTENDED_DESKTOP_SIZE])
            client.request(incremental=False)
            pseudo = client.read_update()
            assert pseudo[0][4] == rfb.ENC_EXTENDED_DESKTOP_SIZE
            body = client.fb.pseudo[-1][5]
            screens = {body[i * 16 + 4 : i * 16 + 12] for i in range(len(body) // 16)}
            assert bytes.fromhex("0280000002800320") in screens  # x=640 y=0 w=640 h=800
            client.close()
        finally:
            whole.close()
        right = ServerThread(xvfb.display, view_only=False, monitor=1)
        try:
            client = RfbClient("127.0.0.1", right.port).connect()
            assert (client.fb.width, client.fb.height) == (640, 800)
            client.set_pixel_format(RGBX)
            client.set_encodings([ZRLE])
            client.request(incremental=False)
            client.read_update()
            want = stable_screenshot(xvfb.display)[:, 640:1280]
            assert np.array_equal(client.rgb(), want)
            # Pointer coordinates are relative to the monitor: a click lands in xev at +700.
            before = xev_log(x_clients).count("ButtonPress")
            x, y = XEV_AT[0] - 640 + 50, XEV_AT[1] + 50
            client.pointer(1, x, y)
            client.pointer(0, x, y)
            deadline = time.monotonic() + 5
            while xev_log(x_clients).count("ButtonPress") == before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert xev_log(x_clients).count("ButtonPress") == before + 1
            client.close()
        finally:
            right.close()
    finally:
        for name in ("left", "right"):
            subprocess.run([xrandr, "--delmonitor", name], env=xvfb.env, check=False)


def test_clipboard_both_ways(xvfb, agent) -> None:
    from relaydesk.agent.screen.clipboard import X11Clipboard

    seen_by_x: list[str] = []
    x_app = X11Clipboard(xvfb.display, seen_by_x.append)  # stands in for an X application
    client = RfbClient("127.0.0.1", agent, PASSWORD).connect()
    try:
        client.set_encodings([TIGHT, rfb.ENC_EXTENDED_CLIPBOARD])
        kind, caps = client.read_message()  # the server's caps; answer with ours, as noVNC
        assert kind == "cut" and isinstance(caps, bytes)
        assert int.from_bytes(caps[:4], "big") & rfb.CLIP_ACTION_CAPS
        ours = rfb.CLIP_ACTION_CAPS | rfb.CLIP_ACTION_NOTIFY | rfb.CLIP_ACTION_REQUEST
        ours |= rfb.CLIP_ACTION_PROVIDE | rfb.CLIP_FORMAT_TEXT
        body = ours.to_bytes(4, "big") + (1 << 20).to_bytes(4, "big")
        client.sock.sendall(
            b"\x06\x00\x00\x00" + (-len(body)).to_bytes(4, "big", signed=True) + body
        )
        # Viewer -> device: classic ClientCutText (Latin-1)
        text = "copied in the viewer: café"
        data = text.encode("latin-1")
        client.sock.sendall(b"\x06\x00\x00\x00" + len(data).to_bytes(4, "big") + data)
        deadline = time.monotonic() + 5
        while text not in seen_by_x and time.monotonic() < deadline:
            time.sleep(0.05)
        assert text in seen_by_x
        # Device -> viewer: an X application copies; the viewer is notified (extended
        # clipboard), asks, and gets UTF-8.
        x_app.set_text("from the device: 你好")
        client.request(incremental=True)
        deadline = time.monotonic() + 5
        notified = False
        while time.monotonic() < deadline:
            kind, value = client.read_message()
            if kind != "cut":
                continue
            assert isinstance(value, bytes)
            flags = int.from_bytes(value[:4], "big")
            if flags & rfb.CLIP_ACTION_NOTIFY:
                notified = True
                request = (rfb.CLIP_ACTION_REQUEST | rfb.CLIP_FORMAT_TEXT).to_bytes(4, "big")
                client.sock.sendall(
                    b"\x06\x00\x00\x00" + (-4).to_bytes(4, "big", signed=True) + request
                )
            elif flags & rfb.CLIP_ACTION_PROVIDE:
                import zlib

                raw = zlib.decompress(value[4:])
                size = int.from_bytes(raw[:4], "big")
                assert raw[4 : 4 + size].rstrip(b"\0").decode() == "from the device: 你好"
                break
        else:
            raise AssertionError("no clipboard from the device")
        assert notified
    finally:
        client.close()
        x_app.close()
