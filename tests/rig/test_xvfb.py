"""The Xvfb fixture gives a display that real X clients put windows on."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

from tests.fixtures.xvfb import XvfbDisplay


def window_tree(display: XvfbDisplay) -> str:
    return subprocess.run(
        ["xwininfo", "-root", "-tree"],
        env=display.env,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout


def wait_for_window(display: XvfbDisplay, name: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    tree = ""
    while time.monotonic() < deadline:
        tree = window_tree(display)
        if f'"{name}"' in tree:
            return tree
        time.sleep(0.1)
    raise AssertionError(f"no window named {name!r} on {display.display}:\n{tree}")


def test_screen_is_1280x800_at_24_bits(xvfb_display: XvfbDisplay) -> None:
    info = subprocess.run(
        ["xdpyinfo"], env=xvfb_display.env, capture_output=True, text=True, timeout=10
    )
    assert info.returncode == 0, info.stderr
    assert "dimensions:    1280x800 pixels" in info.stdout
    assert "depth of root window:    24 planes" in info.stdout


def test_an_xmessage_window_appears_in_the_window_tree(xvfb_display: XvfbDisplay) -> None:
    title = "relaydesk rig probe"
    window = subprocess.Popen(
        ["xmessage", "-title", title, "Hello from the rig"],
        env=xvfb_display.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        tree = wait_for_window(xvfb_display, title)
        assert '("xmessage" "Xmessage")' in tree
    finally:
        window.terminate()
        window.wait(5)
    assert f'"{title}"' not in window_tree(xvfb_display)


@pytest.mark.skipif(shutil.which("python3") is None, reason="no python3")
def test_a_tk_window_appears_too(xvfb_display: XvfbDisplay) -> None:
    probe = subprocess.run([sys.executable, "-c", "import tkinter"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("this Python has no tkinter")
    script = (
        "import tkinter\n"
        "root = tkinter.Tk()\n"
        "root.title('relaydesk tk probe')\n"
        "tkinter.Label(root, text='hello').pack()\n"
        "root.after(15000, root.destroy)\n"
        "root.mainloop()\n"
    )
    window = subprocess.Popen([sys.executable, "-c", script], env=xvfb_display.env)
    try:
        wait_for_window(xvfb_display, "relaydesk tk probe")
    finally:
        window.terminate()
        window.wait(5)
