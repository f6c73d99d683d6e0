"""The screen as the technician and the customer use it (TOOL-1, TOOL-2, GOV-2): headless
Chromium with two browser contexts (the technician's console, the customer's portal page), the
real server and relay, the real agent on an Xvfb display with real X clients.

The X display gets a photo-like background (so that colour modes make a visible difference in
bytes), an xterm that writes whatever reaches it to a file (typed text is read back) and xev, a
small window that logs the mouse and keyboard events it gets. The technician accepts the session,
opens its tab and asks for the screen there; the customer answers on the portal page. The test
checks that the canvas shows the X display (pixel for pixel in the lossless mode, within a bound
in a JPEG mode), that input reaches the device only under full control, that the customer's
revocation stops it, that the link meter shows frames, latency and bandwidth and the colour
modes' different costs, that Ctrl-Alt-Del arrives, and that stopping the share closes the viewer.
A technician whose role lacks full control can only view and ask to view. Screenshots of each
step go to the test's artifacts directory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.fixtures.browser import (
    admin_signs_in,
    api_answer,
    by_id,
    first_sign_in,
    new_session_key,
    shoot,
)
from tests.fixtures.screen import (  # noqa: F401 - desktop and portal are fixtures
    WAIT_MS,
    XEV_SPOT,
    Agent,
    Desktop,
    bytes_for_full_refresh,
    canvas,
    canvas_pixels,
    click_at,
    customer_allows,
    customer_of,
    desktop,
    end_session,
    open_session_tab,
    paint_background,
    portal,
    received_bytes,
    region,
    settle,
    share_screen,
    shown_received,
    type_into_xterm,
    wait_for,
)
from tests.fixtures.xvfb import x_screenshot

# test_screen_actual_size.py (being edited elsewhere) still imports these from here; the other
# screen tests import from tests.fixtures.screen and tests.fixtures.browser.
new_key = new_session_key
__all__ = ["paint_background", "settle", "share_screen", "new_key"]

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Screen share lantern 42"
VIEWER_PASSWORD = "Viewer only lantern 42"


# --- the tests ---------------------------------------------------------------------------------


def test_technician_views_and_controls_the_customers_screen(
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
    expect(by_id(portal, "portal-session")).to_have_attribute("data-status", "waiting_for_agent")
    agent = Agent(base, key, desktop, artifacts_dir / "agent.log")
    try:
        workspace = open_session_tab(page, base)
        session_id = workspace.get_attribute("data-session-id")
        panel = by_id(workspace, "screen-panel")
        expect(panel).to_have_attribute("data-screen-phase", "idle")
        expect(by_id(portal, "portal-session")).to_have_attribute("data-status", "active")

        # The technician asks for control in the session tab; the customer, on the portal page,
        # sees who asks and declines; the console shows the answer (pushed, not polled).
        by_id(panel, "screen-request-control").click()
        expect(panel).to_have_attribute("data-screen-phase", "waiting")
        expect(by_id(panel, "screen-waiting")).to_contain_text("control")
        prompt = by_id(portal, "screen-prompt")
        expect(prompt).to_have_attribute("data-mode", "control")
        technician = by_id(page, "current-user-name").inner_text().strip()
        expect(prompt).to_contain_text(f"{technician} asks to control your screen")
        by_id(prompt, "screen-deny").click()
        expect(prompt).to_have_count(0)
        expect(by_id(portal, "screen-sharing")).to_have_count(0)
        expect(panel).to_have_attribute("data-screen-phase", "idle")
        expect(by_id(panel, "screen-change")).to_contain_text("declined to share the screen")
        expect(by_id(panel, "screen-viewer")).to_have_count(0)
        shoot(page, artifacts_dir, "00-console-control-declined")

        # View only: asked in the session tab, allowed on the portal.
        by_id(panel, "screen-request-view").click()
        expect(panel).to_have_attribute("data-screen-phase", "waiting")
        expect(by_id(panel, "screen-waiting")).to_be_visible()
        shoot(page, artifacts_dir, "01-console-waiting-for-consent")
        customer_allows(portal, "view", artifacts_dir, "02-portal-asked-to-view")
        expect(panel).to_have_attribute("data-screen-phase", "view")
        expect(by_id(panel, "screen-change")).to_contain_text("allowed you to view")
        viewer = by_id(panel, "screen-viewer")
        expect(viewer).to_have_attribute("data-status", "connected", timeout=WAIT_MS)
        expect(viewer).to_have_attribute("data-control", "no")
        expect(by_id(viewer, "screen-input")).to_have_text(re.compile("View only"))
        expect(by_id(viewer, "screen-ctrl-alt-del")).to_be_disabled()

        # Actual size, lossless: the canvas is the X display, pixel for pixel.
        if by_id(viewer, "screen-scale").get_attribute("aria-pressed") == "true":
            by_id(viewer, "screen-scale").click()
        lossless_bytes = bytes_for_full_refresh(page, "all")
        # The live indicator names what arrives (JPEG is checked over a moving picture in
        # test_screen_video_mode: on a still screen the agent soon sends the exact pixels).
        expect(by_id(viewer, "screen-encoding")).to_have_text(
            "Encoding Tight (lossless)", timeout=WAIT_MS
        )
        seen = canvas_pixels(page)
        truth = region(x_screenshot(desktop.display), seen)
        Image.fromarray(seen).save(artifacts_dir / "canvas-lossless.png")
        Image.fromarray(truth).save(artifacts_dir / "x-display.png")
        assert np.array_equal(seen, truth)
        shoot(page, artifacts_dir, "03-console-view-only-lossless")

        # The colour modes: black & white costs a fraction of lossless for the same screen, JPEG
        # ("more colours") less than lossless and close to the truth; the link meter shows it.
        bw_bytes = bytes_for_full_refresh(page, "bw")
        assert bw_bytes * 4 < lossless_bytes, (bw_bytes, lossless_bytes)
        shoot(page, artifacts_dir, "04-console-black-and-white")
        more_bytes = bytes_for_full_refresh(page, "more")
        assert more_bytes < lossless_bytes, (more_bytes, lossless_bytes)
        lossy = canvas_pixels(page).astype(np.int16)
        assert lossy.shape == truth.shape
        Image.fromarray(lossy.astype(np.uint8)).save(artifacts_dir / "canvas-more-colours.png")
        error = np.abs(lossy - truth.astype(np.int16))
        assert error.mean() < 12, error.mean()
        # The xterm is flat black: all but a few pixels near its text cursor come out exact.
        terminal = error[0:300, 0:480].max(axis=2)
        assert (terminal > 2).mean() < 0.005, (terminal > 2).mean()
        expect(by_id(viewer, "screen-fps")).to_have_text(re.compile(r"^\d+ frames/s$"))
        expect(by_id(viewer, "screen-latency")).to_have_text(
            re.compile(r"^Latency \d+ ms$"), timeout=WAIT_MS
        )
        expect(by_id(viewer, "screen-bandwidth")).to_have_text(
            re.compile(r"^Bandwidth [\d.]+ [kMG]?bit/s$")
        )
        # What the meter shows is what arrived (it rounds to two or three digits).
        wait_for(
            lambda: abs(shown_received(page) - received_bytes(page)) <= received_bytes(page) * 0.06,
            20,
            "the link meter's received bytes",
        )
        shoot(page, artifacts_dir, "05-console-more-colours-link-meter")
        by_id(viewer, "screen-colour-mode").select_option("all")

        # View only: neither keys nor clicks reach the device (proved below: the first text and
        # click under control are the first the device gets).
        type_into_xterm(page, "seen only")
        click_at(page, XEV_SPOT)
        clicks_before = desktop.clicks()

        # Full control, asked from view and allowed by the customer: typing lands in the xterm,
        # a click in the test window, Ctrl-Alt-Del as one action.
        by_id(panel, "screen-request-control").click()
        expect(by_id(panel, "screen-waiting")).to_be_visible()
        customer_allows(portal, "control", artifacts_dir, "06-portal-asked-for-control")
        expect(panel).to_have_attribute("data-screen-phase", "control")
        expect(viewer).to_have_attribute("data-control", "yes")
        expect(by_id(viewer, "screen-input")).to_have_text(re.compile("reach the device"))
        type_into_xterm(page, "hello relaydesk")
        wait_for(lambda: "\n" in desktop.typed_text(), 20, "typed text in the xterm")
        assert desktop.typed_text() == "hello relaydesk\n"
        click_at(page, XEV_SPOT)
        wait_for(lambda: desktop.clicks() > clicks_before, 20, "a click in the test window")
        assert desktop.clicks() == clicks_before + 1
        cad = by_id(viewer, "screen-ctrl-alt-del")
        expect(cad).to_be_enabled()
        cad.click()  # the device's pointer is still over xev, which gets the keys
        wait_for(lambda: "(keysym 0xffff, Delete)" in desktop.xev_log(), 20, "Ctrl-Alt-Del")
        events = desktop.xev_log().split("\n\n")
        delete_press = next(e for e in events if e.startswith("KeyPress") and "Delete)" in e)
        state = int(re.findall(r"state (0x[0-9a-f]+)", delete_press)[0], 16)
        assert state & 0x4 and state & 0x8, hex(state)  # Control and Mod1 (Alt) held
        shoot(page, artifacts_dir, "07-console-control")
        shoot(portal, artifacts_dir, "08-portal-sharing-control")

        # The customer takes control back on the portal: the technician sees it at once, his
        # input no longer reaches the device.
        by_id(portal, "screen-revoke-control").click()
        expect(by_id(portal, "screen-sharing")).to_have_attribute("data-state", "view")
        expect(panel).to_have_attribute("data-screen-phase", "view")
        expect(by_id(panel, "screen-change")).to_contain_text("took back control")
        expect(viewer).to_have_attribute("data-control", "no")
        type_into_xterm(page, "after revoke")
        click_at(page, XEV_SPOT)
        clicks_before = desktop.clicks()
        shoot(page, artifacts_dir, "09-console-control-revoked")

        # Control once more: what arrives next is only what was typed under control again.
        by_id(panel, "screen-request-control").click()
        customer_allows(portal, "control", artifacts_dir, "10-portal-asked-again")
        expect(viewer).to_have_attribute("data-control", "yes")
        type_into_xterm(page, "back again")
        wait_for(lambda: desktop.typed_text().count("\n") >= 2, 20, "typed text once more")
        assert desktop.typed_text() == "hello relaydesk\nback again\n"
        click_at(page, XEV_SPOT)
        wait_for(lambda: desktop.clicks() > clicks_before, 20, "a click once more")
        assert desktop.clicks() == clicks_before + 1

        # The customer stops sharing: the viewer closes.
        by_id(portal, "screen-stop-sharing").click()
        expect(by_id(portal, "screen-sharing")).to_have_count(0)
        expect(panel).to_have_attribute("data-screen-phase", "idle")
        expect(by_id(panel, "screen-viewer")).to_have_count(0)
        expect(by_id(panel, "screen-change")).to_contain_text("stopped sharing")
        expect(by_id(panel, "screen-request-view")).to_be_visible()
        shoot(page, artifacts_dir, "11-console-sharing-stopped")
        shoot(portal, artifacts_dir, "12-portal-sharing-stopped")

        end_session(page, base, session_id, agent)
    finally:
        agent.close()


def test_technician_without_full_control_can_only_view(
    relaydesk_server: Any,
    page: Page,
    desktop: Desktop,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
) -> None:
    base = relaydesk_server.url
    with httpx.Client(base_url=base, timeout=30) as admin:
        # The administrator makes a role that views screens but lacks full control.
        first = admin.post(
            "/api/v1/auth/login",
            json={
                "email": relaydesk_server.admin_email,
                "password": relaydesk_server.admin_password,
            },
        )
        assert first.is_success, first.text
        admin.headers["x-csrf-token"] = admin.cookies["relaydesk_csrf"]
        changed = admin.post(
            "/api/v1/me/password",
            json={
                "current_password": relaydesk_server.admin_password,
                "new_password": ADMIN_PASSWORD,
            },
        )
        assert changed.is_success, changed.text
        role = admin.post(
            "/api/v1/roles",
            json={
                "name": "Screen watcher",
                "permissions": ["view_screen", "generate_session_keys"],
            },
        )
        assert role.status_code == 201, role.text
        made = admin.post(
            "/api/v1/users",
            json={
                "email": "watcher@example.com",
                "name": "Wendy Watcher",
                "password": "Handed out 42 once",
            },
        )
        assert made.status_code == 201, made.text
        user_id = made.json()["user"]["id"]
        assigned = admin.post(
            f"/api/v1/users/{user_id}/role-assignments", json={"role_id": role.json()["id"]}
        )
        assert assigned.is_success, assigned.text

    page.set_viewport_size({"width": 2000, "height": 1500})
    first_sign_in(page, base, "watcher@example.com", "Handed out 42 once", VIEWER_PASSWORD)
    key = new_session_key(page, base)
    customer = customer_of(base, key)
    agent = Agent(base, key, desktop, artifacts_dir / "agent.log")
    try:
        workspace = open_session_tab(page, base)
        session_id = workspace.get_attribute("data-session-id")
        panel = by_id(workspace, "screen-panel")
        expect(panel).to_have_attribute("data-screen-phase", "idle")
        expect(by_id(panel, "screen-request-view")).to_be_visible()
        expect(by_id(panel, "screen-request-control")).to_have_count(0)
        expect(by_id(panel, "screen-view-only-role")).to_contain_text(
            "does not include full control"
        )

        # The server refuses what the page does not offer.
        refused = api_answer(
            page, base, f"/api/v1/sessions/{session_id}/screen/request", {"mode": "control"}
        )
        assert refused.status == 403, refused.text()
        assert refused.json()["code"] == "permission_denied"
        assert "Full control" in refused.json()["detail"]

        by_id(panel, "screen-request-view").click()
        expect(panel).to_have_attribute("data-screen-phase", "waiting")
        answered = customer.post("/api/v1/portal/session/screen/answer", json={"allow": True})
        assert answered.is_success, answered.text
        expect(panel).to_have_attribute("data-screen-phase", "view")
        viewer = by_id(panel, "screen-viewer")
        expect(viewer).to_have_attribute("data-status", "connected", timeout=WAIT_MS)
        expect(viewer).to_have_attribute("data-control", "no")
        expect(by_id(viewer, "screen-ctrl-alt-del")).to_be_disabled()
        expect(by_id(panel, "screen-request-control")).to_have_count(0)
        wait_for(lambda: canvas_pixels(page).std() > 20, 20, "the screen on the canvas")
        shoot(page, artifacts_dir, "01-console-view-only-role")

        end_session(page, base, session_id, agent)
    finally:
        agent.close()
        customer.close()
