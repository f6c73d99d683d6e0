"""Hold ends screen sharing and its consent (issue 12): a technician in control puts the session on
hold; the customer's portal page no longer says he controls the screen, the console's view
closes, and after resuming the screen is off: view and control are asked for again, and what the
technician types before the customer allows control again never reaches the device. Real server,
real agent on Xvfb, the console and the customer's portal page in Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import admin_signs_in, api_answer, by_id, new_session_key, shoot
from tests.fixtures.screen import (
    WAIT_MS,
    Agent,
    Desktop,
    customer_allows,
    desktop,  # noqa: F401 - desktop and portal are fixtures
    open_session_tab,
    portal,  # noqa: F401 - desktop and portal are fixtures
    type_into_xterm,
    wait_for,
)

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Hold lantern harbour 42"


def test_hold_ends_sharing_and_consent_and_resuming_asks_again(
    relaydesk_server: Any,
    page: Page,
    portal: Page,  # noqa: F811 - the fixture imported above
    desktop: Desktop,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
) -> None:
    page.set_viewport_size({"width": 2000, "height": 1500})
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = new_session_key(page, base)
    portal.goto(f"{base}/")
    by_id(portal, "session-key-input").fill(key)
    by_id(portal, "session-key-submit").click()
    agent = Agent(base, key, desktop, artifacts_dir / "agent.log")
    try:
        workspace = open_session_tab(page, base)
        session_id = workspace.get_attribute("data-session-id")
        panel = by_id(workspace, "screen-panel")
        expect(by_id(portal, "portal-session")).to_have_attribute("data-status", "active")

        # Full control, allowed by the customer on the portal page.
        by_id(panel, "screen-request-control").click()
        customer_allows(portal, "control", artifacts_dir, "01-portal-asked-for-control")
        viewer = by_id(panel, "screen-viewer")
        expect(viewer).to_have_attribute("data-control", "yes", timeout=WAIT_MS)
        expect(by_id(portal, "screen-sharing")).to_contain_text("controls your screen")
        shoot(portal, artifacts_dir, "02-portal-controlled")

        # Hold: sharing and its consent end; both sides see it.
        by_id(workspace, "session-hold").click()
        expect(by_id(portal, "screen-sharing")).to_have_count(0, timeout=WAIT_MS)
        expect(by_id(portal, "portal-session")).not_to_contain_text("controls your screen")
        expect(by_id(page, "screen-viewer")).to_have_count(0, timeout=WAIT_MS)
        shoot(portal, artifacts_dir, "03-portal-on-hold")
        shoot(page, artifacts_dir, "04-console-on-hold")

        # Resume: the screen is off; nothing is shared until asked and allowed again.
        resumed = api_answer(page, base, f"/api/v1/sessions/{session_id}/accept")
        assert resumed.ok, resumed.text()
        assert resumed.json()["session"]["screen_state"] == "off", resumed.text()
        workspace = by_id(page, "session-workspace")
        expect(workspace).to_have_attribute("data-session-id", str(session_id), timeout=WAIT_MS)
        panel = by_id(workspace, "screen-panel")
        screen_tab = workspace.locator('[data-testid="tool-tab"][data-tool="screen"]')
        if screen_tab.count():
            screen_tab.click()
        expect(by_id(panel, "screen-request-view")).to_be_visible(timeout=WAIT_MS)
        expect(by_id(panel, "screen-viewer")).to_have_count(0)
        expect(by_id(portal, "screen-sharing")).to_have_count(0)

        # View only, allowed again: the technician's typing is dropped by the agent...
        by_id(panel, "screen-request-view").click()
        customer_allows(portal, "view", artifacts_dir, "05-portal-asked-again")
        viewer = by_id(panel, "screen-viewer")
        expect(viewer).to_have_attribute("data-status", "connected", timeout=WAIT_MS)
        expect(viewer).to_have_attribute("data-control", "no")
        type_into_xterm(page, "dropped")
        # ...and only what he types once control is allowed anew reaches the device.
        by_id(panel, "screen-request-control").click()
        customer_allows(portal, "control", artifacts_dir, "06-portal-asked-for-control-again")
        expect(viewer).to_have_attribute("data-control", "yes", timeout=WAIT_MS)
        type_into_xterm(page, "counted")
        wait_for(lambda: "\n" in desktop.typed_text(), 20, "typed text under control")
        assert desktop.typed_text() == "counted\n"
        shoot(page, artifacts_dir, "07-console-control-asked-again")
    finally:
        agent.close()
