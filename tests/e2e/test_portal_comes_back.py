"""A customer who closed the portal tab comes back to his live session without the key (issue 12,
section 2): the page keeps the session's secret in the browser's local storage, per portal, never
in the address, and forgets it when the session ends.

Real server, real agent, Chromium: the customer types the key, the agent joins, the technician
accepts and both chat; the customer closes the page and opens the portal again in a new page of
the same browser: his session is there (state, chat) without the key, and the address holds no
secret. After the technician ends the session, the portal shows the key form again and the
stored secret is gone. The portal's Linux tab says Linux, and what a Mac customer does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.agents import start_agent_logging
from tests.fixtures.browser import admin_signs_in, by_id, new_session_key, open_page, shoot
from tests.fixtures.common import eventually
from tests.fixtures.workspace import accept_first_waiting

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Closed tab harbour 42"
WAIT_MS = 30_000
STORED = "() => localStorage.getItem('relaydesk.portal.session')"


def say(page: Page, text: str) -> None:
    box = by_id(page, "chat-input")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def test_a_closed_portal_tab_comes_back_to_the_live_session_without_the_key(
    relaydesk_server: Any,
    page: Page,
    browser: Browser,
    request: pytest.FixtureRequest,
    artifacts_dir: Path,
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = new_session_key(page, base)

    with open_page(browser, request, artifacts_dir / "customer", width=1100, height=900) as first:
        context = first.context
        first.goto(f"{base}/")
        by_id(first, "session-key-input").fill(key)
        by_id(first, "session-key-submit").click()
        expect(by_id(first, "portal-session")).to_have_attribute("data-status", "waiting_for_agent")
        # The Linux tab says what it is for, and what a Mac customer does instead.
        expect(by_id(first, "portal-platform-posix")).to_have_text("Linux")
        expect(by_id(first, "portal-macos")).to_contain_text(
            f"relaydesk-agent --server {base} --key {key}"
        )
        shoot(first, artifacts_dir, "01-portal-linux-and-macos")

        agent = start_agent_logging(base, key, artifacts_dir / "agent.log")
        try:
            workspace = accept_first_waiting(page, base, WAIT_MS)
            expect(by_id(first, "portal-session")).to_have_attribute(
                "data-status", "active", timeout=WAIT_MS
            )
            say(page, "Hello, I am looking at it")
            expect(by_id(first, "chat-text")).to_have_text(["Hello, I am looking at it"])
            say(first, "Thanks — the printer is upstairs")
            expect(by_id(workspace, "chat-text")).to_have_text(
                ["Hello, I am looking at it", "Thanks — the printer is upstairs"]
            )
            secret = first.evaluate(STORED)
            assert secret

            # The customer closes the tab, then opens the portal again in the same browser.
            first.close()
            again = context.new_page()
            again.goto(f"{base}/")
            expect(by_id(again, "portal-session")).to_have_attribute(
                "data-status", "active", timeout=WAIT_MS
            )
            expect(by_id(again, "portal-status")).to_have_text(
                "You are in session with your technician."
            )
            expect(by_id(again, "chat-text")).to_have_text(
                ["Hello, I am looking at it", "Thanks — the printer is upstairs"]
            )
            expect(by_id(again, "session-key-input")).to_have_count(0)
            assert again.url == f"{base}/"
            shoot(again, artifacts_dir, "02-portal-opened-again")
            # Both sides still talk.
            say(again, "Back again")
            expect(by_id(workspace, "chat-text")).to_have_count(3, timeout=WAIT_MS)

            # The technician ends the session: the secret is forgotten, the portal offers the key
            # form again.
            by_id(page, "session-end").click()
            by_id(page, "session-end-confirm").click()
            expect(by_id(page, "session-ended")).to_be_visible()
            expect(by_id(again, "portal-ended")).to_be_visible(timeout=WAIT_MS)
            eventually(
                lambda: again.evaluate(STORED) is None, 15, "the ended session's secret forgotten"
            )
            assert agent.wait(30) == 0
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait(10)
        again.close()
        reopened = context.new_page()
        reopened.goto(f"{base}/")
        expect(by_id(reopened, "session-key-input")).to_be_visible()
        expect(by_id(reopened, "portal-session")).to_have_count(0)
        assert reopened.evaluate(STORED) is None
        shoot(reopened, artifacts_dir, "03-portal-after-the-end")
