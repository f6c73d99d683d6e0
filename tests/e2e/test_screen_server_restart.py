"""The screen view outlives a server crash (TOOL-1, REL-3): headless Chromium, the real server,
relay and agent, an Xvfb display with an xterm and xev.

The technician views the customer's screen; the server is killed (no chance to clean up) and
started again on the same data. The view says it lost the connection, then comes back by itself
on a new tunnel, still within the customer's consent, and shows what the X display shows now,
pixel for pixel: a window that appeared while the server was down included.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import shoot
from tests.fixtures.screen import (
    WAIT_MS,
    Desktop,
    desktop,  # noqa: F401 - the fixture
    end_session,
    settle,
)
from tests.fixtures.screen_session import assert_view_shows, viewing_exactly
from tests.fixtures.xvfb import x_screenshot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Restart proof lighthouse 7"


def test_screen_view_comes_back_after_a_server_crash(
    relaydesk_server: Any,
    page: Page,
    desktop: Desktop,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
) -> None:
    note = None
    with viewing_exactly(page, relaydesk_server, desktop, artifacts_dir, ADMIN_PASSWORD) as screen:
        try:
            viewer = screen.viewer
            shoot(page, artifacts_dir, "01-viewing")

            relaydesk_server.kill()
            expect(viewer).not_to_have_attribute("data-status", "connected", timeout=WAIT_MS)
            shoot(page, artifacts_dir, "02-server-down")
            # Something happens on the customer's screen meanwhile.
            note = subprocess.Popen(
                ["xmessage", "-geometry", "+420+380", "while the server was down"],
                env=desktop.env,
            )

            relaydesk_server.start()
            expect(viewer).to_have_attribute("data-status", "connected", timeout=60_000)
            expect(screen.panel).to_have_attribute("data-screen-phase", "view")
            settle(page)
            shoot(page, artifacts_dir, "03-viewing-again")
            assert_view_shows(page, x_screenshot(desktop.display), artifacts_dir, "after-restart")

            end_session(page, screen.base, screen.session_id, screen.agent)
        finally:
            if note is not None:
                note.kill()
                note.wait()
