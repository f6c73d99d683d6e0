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

from tests.e2e.screen_session import assert_view_shows
from tests.e2e.test_screen_flow import (
    WAIT_MS,
    Agent,
    Desktop,
    customer_of,
    desktop,  # noqa: F401 - the fixture
    end_session,
    new_key,
    settle,
    wait_for,
)
from tests.e2e.test_session_tabs import accept_connected
from tests.fixtures.browser import admin_signs_in, by_id, shoot
from tests.fixtures.common import require_executable
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
    page.set_viewport_size({"width": 1600, "height": 1200})
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = new_key(page, base)
    customer = customer_of(base, key)
    agent = Agent(base, key, later, artifacts_dir / "agent.log")
    server = None
    try:
        page.goto(f"{base}/console/queues")
        session_id, workspace = accept_connected(page)
        panel = by_id(workspace, "screen-panel")
        by_id(panel, "screen-request-view").click()
        expect(panel).to_have_attribute("data-screen-phase", "waiting")
        answered = customer.post("/api/v1/portal/session/screen/answer", json={"allow": True})
        assert answered.is_success, answered.text
        viewer = by_id(panel, "screen-viewer")
        failure = by_id(viewer, "screen-failure")
        expect(failure).to_contain_text(
            f"This computer has no screen to share now: the X display :{number} cannot be opened",
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
        if by_id(viewer, "screen-scale").get_attribute("aria-pressed") == "true":
            by_id(viewer, "screen-scale").click()
        by_id(viewer, "screen-colour-mode").select_option("all")
        settle(page)
        shoot(page, artifacts_dir, "02-screen-there")
        assert_view_shows(page, x_screenshot(later.display), artifacts_dir, "new-display")

        end_session(page, base, session_id, agent)
    finally:
        agent.close()
        customer.close()
        if server is not None:
            server.terminate()
            server.wait(10)
