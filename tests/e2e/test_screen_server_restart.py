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

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.test_screen_flow import (
    WAIT_MS,
    Agent,
    Desktop,
    canvas_pixels,
    customer_of,
    desktop,  # noqa: F401 - the fixture
    end_session,
    new_key,
    settle,
    share_screen,
)
from tests.e2e.test_session_tabs import accept_connected
from tests.fixtures.browser import admin_signs_in, by_id, shoot
from tests.fixtures.xvfb import x_screenshot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Restart proof lighthouse 7"


def test_screen_view_comes_back_after_a_server_crash(
    relaydesk_server: Any,
    page: Page,
    desktop: Desktop,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
) -> None:
    page.set_viewport_size({"width": 2000, "height": 1500})
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = new_key(page, base)
    customer = customer_of(base, key)
    agent = Agent(base, key, desktop, artifacts_dir / "agent.log")
    note = None
    try:
        page.goto(f"{base}/console/queues")
        session_id, workspace = accept_connected(page)
        viewer = share_screen(by_id(workspace, "screen-panel"), customer)
        if by_id(viewer, "screen-scale").get_attribute("aria-pressed") == "true":
            by_id(viewer, "screen-scale").click()  # actual size: canvas pixels are X pixels
        by_id(viewer, "screen-colour-mode").select_option("all")
        shoot(page, artifacts_dir, "01-viewing")

        relaydesk_server.kill()
        expect(viewer).not_to_have_attribute("data-status", "connected", timeout=WAIT_MS)
        shoot(page, artifacts_dir, "02-server-down")
        # Something happens on the customer's screen meanwhile.
        note = subprocess.Popen(
            ["xmessage", "-geometry", "+420+380", "while the server was down"], env=desktop.env
        )

        relaydesk_server.start()
        expect(viewer).to_have_attribute("data-status", "connected", timeout=60_000)
        expect(by_id(workspace, "screen-panel")).to_have_attribute("data-screen-phase", "view")
        settle(page)
        truth = x_screenshot(desktop.display)
        seen = canvas_pixels(page)
        truth = truth[: seen.shape[0], : seen.shape[1]]
        Image.fromarray(seen).save(artifacts_dir / "canvas-after-restart.png")
        Image.fromarray(truth).save(artifacts_dir / "x-display.png")
        shoot(page, artifacts_dir, "03-viewing-again")
        assert seen.shape == truth.shape, (seen.shape, truth.shape)
        assert np.array_equal(seen, truth)

        end_session(page, base, session_id, agent)
    finally:
        if note is not None:
            note.kill()
            note.wait()
        agent.close()
        customer.close()
