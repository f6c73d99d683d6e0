"""A computer with no screen to share (TOOL-1): nobody is logged in on it, its X display does
not exist yet. Headless Chromium, the real server, relay and agent.

The customer allows viewing; the technician's view says why there is no picture (the agent
refuses the RFB connection with the reason) and keeps trying. The display then appears (the
customer logs in): the view connects by itself, the reason goes, and it shows that display.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import by_id, shoot
from tests.fixtures.common import require_executable
from tests.fixtures.screen import (
    WAIT_MS,
    Desktop,
    desktop,  # noqa: F401 - the fixture
    end_session,
    settle,
    wait_for,
)
from tests.fixtures.screen_session import accepted_session, assert_view_shows, show_exactly
from tests.fixtures.xvfb import x_screenshot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Nobody logged in yet 3"


def free_display_number() -> int:
    """A display number no X server uses (neither its socket nor its lock file exists)."""

    def taken(n: int) -> bool:
        return os.path.exists(f"/tmp/.X11-unix/X{n}") or os.path.exists(f"/tmp/.X{n}-lock")

    return next(n for n in range(150, 250) if not taken(n))


def test_view_says_why_there_is_no_screen_then_connects_when_there_is(
    relaydesk_server: Any,
    page: Page,
    desktop: Desktop,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
) -> None:
    xvfb = require_executable("Xvfb", "apt-get install xvfb")
    number = free_display_number()
    later = dataclasses.replace(
        desktop, display=f":{number}", env={**desktop.env, "DISPLAY": f":{number}"}
    )
    server = None
    try:
        with accepted_session(
            page, relaydesk_server, later, artifacts_dir, ADMIN_PASSWORD
        ) as screen:
            panel, viewer = screen.panel, screen.viewer
            by_id(panel, "screen-request-view").click()
            expect(panel).to_have_attribute("data-screen-phase", "waiting")
            answered = screen.customer.post(
                "/api/v1/portal/session/screen/answer", json={"allow": True}
            )
            assert answered.is_success, answered.text
            failure = by_id(viewer, "screen-failure")
            expect(failure).to_contain_text(
                f"This computer has no screen to share now: the X display :{number} cannot be"
                " opened",
                timeout=WAIT_MS,
            )
            expect(viewer).not_to_have_attribute("data-status", "connected")
            shoot(page, artifacts_dir, "01-no-screen")

            # The customer logs in: the display exists now.
            server = subprocess.Popen(
                [xvfb, f":{number}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_for(lambda: os.path.exists(f"/tmp/.X11-unix/X{number}"), 20, "the new display")
            expect(viewer).to_have_attribute("data-status", "connected", timeout=60_000)
            expect(failure).to_have_count(0)
            show_exactly(viewer)
            settle(page)
            shoot(page, artifacts_dir, "02-screen-there")
            assert_view_shows(page, x_screenshot(later.display), artifacts_dir, "new-display")

            end_session(page, screen.base, screen.session_id, screen.agent)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
