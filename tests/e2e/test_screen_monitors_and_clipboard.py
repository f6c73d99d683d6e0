"""Monitor choice and the clipboard in the console's screen view (TOOL-1): headless Chromium,
the real server, relay and agent, an Xvfb display split by RandR into two monitors.

The technician views the customer's screen: the monitor list names both monitors with their
sizes and marks the primary one; choosing the second shows exactly its half of the X display.
While he only views, the clipboard cannot be sent (the device would ignore it) and the panel
says why; once the customer has allowed control, text sent from the console is what an X
application pastes, and what an X application copies appears in the console.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from relaydesk.agent.screen.clipboard import X11Clipboard
from tests.fixtures.browser import by_id, shoot
from tests.fixtures.common import require_executable
from tests.fixtures.screen import (
    Desktop,
    canvas_pixels,
    desktop,  # noqa: F401 - the fixture
    end_session,
    grant_control,
    settle,
    wait_for,
)
from tests.fixtures.screen_session import assert_view_shows, viewing_exactly
from tests.fixtures.xvfb import x_screenshot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Two monitors clipboard 9"
HALF = 640  # the display is 1280 wide: two monitors side by side


@pytest.fixture
def two_monitors(desktop: Desktop) -> Iterator[Desktop]:  # noqa: F811 - the fixture
    xrandr = require_executable("xrandr", "apt-get install x11-xserver-utils")
    # The left monitor takes Xvfb's one output ("screen"), so that RandR does not also list
    # the output's own monitor over the whole display.
    monitors = (
        ("*left", f"{HALF}/169x800/211+0+0", "screen"),
        ("right", f"{HALF}/169x800/211+{HALF}+0", "none"),
    )
    for name, geometry, outputs in monitors:
        subprocess.run(
            [xrandr, "--setmonitor", name, geometry, outputs], env=desktop.env, check=True
        )
    try:
        yield desktop
    finally:
        for name, _, _ in monitors:
            subprocess.run([xrandr, "--delmonitor", name.lstrip("*")], env=desktop.env, check=False)


def changed(device: Desktop, right_half: np.ndarray) -> bool:
    return not np.array_equal(x_screenshot(device.display)[:, HALF:], right_half)


def test_monitor_choice_and_clipboard_both_ways(
    relaydesk_server: Any, page: Page, two_monitors: Desktop, artifacts_dir: Path
) -> None:
    seen_by_x: list[str] = []
    x_app = X11Clipboard(two_monitors.display, seen_by_x.append)  # stands in for an X application
    try:
        with viewing_exactly(
            page, relaydesk_server, two_monitors, artifacts_dir, ADMIN_PASSWORD
        ) as screen:
            viewer, panel, customer = screen.viewer, screen.panel, screen.customer
            # Both monitors listed with their sizes, the primary one marked; the second chosen.
            monitor = by_id(viewer, "screen-monitor")
            expect(monitor.locator("option")).to_have_text(
                ["All monitors", "Monitor 1 (primary), 640×800", "Monitor 2, 640×800"]
            )
            monitor.select_option(label="Monitor 2, 640×800")
            expect(monitor).not_to_have_value("all")
            settle(page)
            shoot(page, artifacts_dir, "01-second-monitor")
            truth = x_screenshot(two_monitors.display)[:, HALF:]
            assert_view_shows(page, truth, artifacts_dir, "monitor-2")
            assert canvas_pixels(page).shape == truth.shape  # the whole monitor, nothing more
            # A window opens on that monitor: the view follows it there.
            note = subprocess.Popen(
                ["xmessage", "-geometry", f"+{HALF + 150}+500", "on the second monitor"],
                env=two_monitors.env,
            )
            try:
                wait_for(lambda: changed(two_monitors, truth), 20, "the window on monitor 2")
                settle(page)
                truth = x_screenshot(two_monitors.display)[:, HALF:]
                assert_view_shows(page, truth, artifacts_dir, "monitor-2-window")
            finally:
                note.kill()
                note.wait()

            # Viewing only: the clipboard panel says sending needs control.
            by_id(viewer, "screen-clipboard-toggle").click()
            by_id(viewer, "screen-clipboard-outgoing").fill("not while viewing")
            expect(by_id(viewer, "screen-clipboard-send")).to_be_disabled()
            expect(by_id(viewer, "screen-clipboard-needs-control")).to_be_visible()
            shoot(page, artifacts_dir, "02-clipboard-view-only")

            # Full control: the console's text is what the X application pastes ...
            grant_control(panel, customer)
            expect(by_id(viewer, "screen-clipboard-needs-control")).to_have_count(0)
            sent = "from the console: café ✓"
            by_id(viewer, "screen-clipboard-outgoing").fill(sent)
            by_id(viewer, "screen-clipboard-send").click()
            wait_for(lambda: sent in seen_by_x, 15, "the text in the X clipboard")
            assert "not while viewing" not in seen_by_x

            # ... and what the X application copies shows in the console.
            copied = "from the device: 你好"
            time.sleep(0.2)  # the agent's own selection, just taken, must not win the race
            x_app.set_text(copied)
            expect(by_id(viewer, "screen-clipboard-remote")).to_have_value(copied, timeout=15_000)
            shoot(page, artifacts_dir, "03-clipboard-both-ways")

            end_session(page, screen.base, screen.session_id, screen.agent)
    finally:
        x_app.close()
