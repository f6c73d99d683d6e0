"""The support client's window on the customer's desktop (issue 12, section 2): the real agent on
Xvfb shows who is helping and the session's state; the customer answers the technician's
requests, stops sharing, chats and ends the session with the mouse and keyboard, and the
technician's console in Chromium shows each of it; the sharing indicator is on the screen while
it is shared, and gone after. Consent answered on the portal page shows in the window too."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from relaydesk.agent.desktop.indicator import CONTROL_COLOUR, VIEW_COLOUR
from tests.fixtures.agents import AGENT
from tests.fixtures.browser import admin_signs_in, by_id, shoot
from tests.fixtures.common import eventually
from tests.fixtures.customer_window import (
    ALLOW,
    CHAT_ENTRY,
    CHAT_LOG,
    DENY,
    END,
    HELPER,
    QUESTION,
    STATE,
    STOP,
    TAKE_BACK,
    customer_window,
)
from tests.fixtures.xvfb import x_screenshot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Window on the desk 42"
WAIT_MS = 30_000
REPLY = "Merci ! 你好，我看到了 😀 ✅"


def csrf(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "relaydesk_csrf")


def api_post(page: Page, base: str, path: str, body: Any = None) -> Any:
    response = page.request.post(f"{base}{path}", data=body, headers={"x-csrf-token": csrf(page)})
    assert response.ok, response.text()
    return response.json() if response.status != 204 else None


def edge_colour(display: str) -> tuple[int, int, int]:
    """The colour at the middle of the screen's left edge."""
    pixels = x_screenshot(display)
    red, green, blue = (int(v) for v in pixels[pixels.shape[0] // 2, 1])
    return red, green, blue


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def phase(panel: Any, value: str) -> None:
    expect(panel).to_have_attribute("data-screen-phase", value, timeout=WAIT_MS)


def test_customer_answers_and_chats_in_the_window_on_his_desktop(
    relaydesk_server: Any, page: Page, xvfb_display: Any, artifacts_dir: Path
) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = api_post(page, base, "/api/v1/session-keys", {"validity_minutes": 15})["key"]
    # The customer enters the key on the portal page first (as the portal's flow has it).
    entered = httpx.post(f"{base}/api/v1/portal/keys", json={"key": key})
    assert entered.is_success, entered.text
    customer = httpx.Client(
        base_url=base, headers={"x-customer-token": entered.json()["customer_token"]}
    )
    log = (artifacts_dir / "agent.log").open("w")
    agent = subprocess.Popen(
        [AGENT, "--server", base, "--key", key, "--ui", "window"],
        env={**xvfb_display.env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with customer_window(xvfb_display.display, artifacts_dir) as window:
            eventually(
                lambda: "Waiting in the queue" in window.text(STATE), 30, "the queue in the window"
            )
            window.screenshot("1-waiting")

            # The technician takes the session: the window names him.
            page.goto(f"{base}/console/queues")
            item = by_id(page, "queue-item").first
            expect(item).to_be_visible(timeout=WAIT_MS)
            session_id = item.get_attribute("data-session-id")
            item.click()
            by_id(page, "session-accept").click()
            workspace = page.locator(
                f'[data-testid="session-workspace"][data-session-id="{session_id}"]'
            )
            expect(by_id(workspace, "workspace-status")).to_have_text("Connected", timeout=WAIT_MS)
            eventually(lambda: "joined the session" in window.text(STATE), 30, "joined")
            helper = window.text(HELPER)
            assert helper.splitlines()[0], helper
            assert helper.splitlines()[0] in window.text(STATE)
            assert not window.shown(ALLOW)

            # He asks to see the screen; the customer allows in the window.
            panel = by_id(workspace, "screen-panel")
            by_id(panel, "screen-request-view").click()
            eventually(lambda: window.shown(QUESTION), 30, "the consent question")
            assert "asks to see your screen" in window.text(QUESTION)
            window.screenshot("2-asked-to-view")
            window.click(ALLOW)
            phase(panel, "view")
            eventually(lambda: "is viewing your screen" in window.text(STATE), 30, "viewing")
            eventually(lambda: window.indicator_windows() == 5, 30, "the sharing indicator")
            assert edge_colour(window.display) == rgb(VIEW_COLOUR)
            assert not window.enabled(TAKE_BACK)
            window.screenshot("3-viewed")
            shoot(page, artifacts_dir, "console-viewing")

            # He asks for control; the customer denies in the window: view only stays.
            by_id(panel, "screen-request-control").click()
            eventually(
                lambda: window.shown(QUESTION) and "control your computer" in window.text(QUESTION),
                30,
                "the control question",
            )
            window.click(DENY)
            eventually(lambda: not window.shown(QUESTION), 30, "the question answered")
            phase(panel, "view")

            # He asks again; this time the customer answers on the portal page (its API): the
            # window shows the same state and lets him take control back.
            by_id(panel, "screen-request-control").click()
            eventually(lambda: window.shown(QUESTION), 30, "the second control question")
            answered = customer.post("/api/v1/portal/session/screen/answer", json={"allow": True})
            assert answered.is_success, answered.text
            phase(panel, "control")
            eventually(lambda: "controls your screen" in window.text(STATE), 30, "control")
            eventually(lambda: not window.shown(QUESTION), 30, "no question left")
            eventually(
                lambda: edge_colour(window.display) == rgb(CONTROL_COLOUR), 30, "the red frame"
            )
            window.screenshot("4-controlled")
            window.click(TAKE_BACK)
            phase(panel, "view")
            eventually(lambda: "is viewing your screen" in window.text(STATE), 30, "view again")

            # Stop sharing: the console shows nothing shared, the indicator is gone.
            window.click(STOP)
            phase(panel, "idle")
            eventually(lambda: window.indicator_windows() == 0, 30, "the indicator gone")
            assert edge_colour(window.display) not in (rgb(VIEW_COLOUR), rgb(CONTROL_COLOUR))
            window.screenshot("5-stopped")

            # Chat both ways.
            window.type(CHAT_ENTRY, "Bonjour, the printer is offline")
            chat = by_id(workspace, "session-chat")
            expect(chat).to_contain_text("Bonjour, the printer is offline", timeout=WAIT_MS)
            by_id(chat, "chat-input").fill(REPLY)
            by_id(chat, "chat-send").click()
            eventually(lambda: REPLY in window.text(CHAT_LOG), 30, "the reply in the window")
            assert "You: Bonjour, the printer is offline" in window.text(CHAT_LOG)
            window.screenshot("6-chat")
            shoot(page, artifacts_dir, "console-chat")

            # The customer ends the session from the window.
            window.click(END)
            expect(by_id(workspace, "workspace-status")).to_contain_text("Ended", timeout=WAIT_MS)
            eventually(lambda: "has ended" in window.text(STATE), 30, "ended in the window")
            window.screenshot("7-ended")
            assert agent.wait(30) == 0, (artifacts_dir / "agent.log").read_text()
            assert window.indicator_windows() == 0
    finally:
        customer.close()
        if agent.poll() is None:
            agent.kill()
            agent.wait(10)
        log.close()
