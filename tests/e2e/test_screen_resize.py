"""The customer changes the screen resolution while the technician views (TOOL-1): headless
Chromium, the real server, relay and agent, an Xvfb display of its own (resized by RandR).

The agent announces the new size (ExtendedDesktopSize); the console's view takes it and shows the
resized display pixel for pixel, without reconnecting.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import shoot
from tests.fixtures.common import require_executable
from tests.fixtures.screen import Desktop, canvas, canvas_pixels, wait_for
from tests.fixtures.screen_session import assert_view_shows, viewing_exactly
from tests.fixtures.xvfb import start_xvfb, stop_xvfb, x_screenshot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Smaller screen please 6"


def test_view_follows_a_resolution_change(
    relaydesk_server: Any, page: Page, artifacts_dir: Path, tmp_path: Path
) -> None:
    xrandr = require_executable("xrandr", "apt-get install x11-xserver-utils")
    xvfb = start_xvfb(artifacts_dir / "xvfb.log")
    device = Desktop(xvfb.display, xvfb.env, tmp_path / "typed.txt", tmp_path / "xev.log")
    xterm = subprocess.Popen(
        ["xterm", "-geometry", "80x20+10+10", "-bg", "white", "-fg", "black"],
        env=xvfb.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with viewing_exactly(
            page, relaydesk_server, device, artifacts_dir, ADMIN_PASSWORD
        ) as screen:
            expect(canvas(page)).to_have_attribute("width", "1280")
            # Xvfb resizes its framebuffer (xrandr complains about its one output, and does it).
            subprocess.run([xrandr, "--fb", "1024x700"], env=xvfb.env, check=False)
            wait_for(lambda: x_screenshot(xvfb.display).shape[:2] == (700, 1024), 20, "1024x700")
            expect(canvas(page)).to_have_attribute("width", "1024", timeout=20_000)
            expect(canvas(page)).to_have_attribute("height", "700")
            expect(screen.viewer).to_have_attribute("data-status", "connected")

            # The new picture follows the new size, and the X server may repaint after the
            # resize: a quiet half second on a loaded machine does not prove it has all come.
            def shows_the_display() -> bool:
                seen = canvas_pixels(page)
                truth = x_screenshot(xvfb.display)[: seen.shape[0], : seen.shape[1]]
                return seen.shape == truth.shape and bool(np.array_equal(seen, truth))

            wait_for(shows_the_display, 30, "the resized display on the canvas")
            shoot(page, artifacts_dir, "01-resized")
            assert_view_shows(page, x_screenshot(xvfb.display), artifacts_dir, "resized")
    finally:
        xterm.kill()
        xterm.wait()
        stop_xvfb(xvfb)
