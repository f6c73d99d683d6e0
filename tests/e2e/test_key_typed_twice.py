"""A key typed twice on the portal (issue 11, defect 9): before, the second person's page took
the customer's session over (the first page was cut off, the second could grant control).

The customer types the technician's key in Chromium; someone else types the same key in a
second browser and is refused with the specific message (in the page's language), his page
getting no secret. The first page keeps its socket and its session: the agent connects, and the
customer still answers the technician's request to view the screen from that page. In the
database the key keeps the first page's secret.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from relaydesk.server.auth.tokens import token_hash
from tests.fixtures.agents import start_agent_logging
from tests.fixtures.browser import admin_signs_in, api_post, by_id, open_page
from tests.fixtures.workspace import accept_first_waiting

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Second window harbour 42"
WAIT_MS = 30_000
TAKEN = "already open on another support page"


@pytest.fixture
def first(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path) -> Iterator[Page]:
    with open_page(browser, request, artifacts_dir / "first", width=1100, height=900) as page:
        yield page


@pytest.fixture
def second(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path) -> Iterator[Page]:
    with open_page(browser, request, artifacts_dir / "second", width=1100, height=900) as page:
        yield page


def type_key(page: Page, base: str, key: str) -> None:
    page.goto(f"{base}/")
    by_id(page, "session-key-input").fill(key)
    by_id(page, "session-key-submit").click()


def stored_secret(page: Page) -> str | None:
    stored = page.evaluate("() => localStorage.getItem('relaydesk.portal.session')")
    return str(json.loads(stored)["token"]) if stored else None


def test_a_key_opens_one_page_only(
    relaydesk_server: Any, page: Page, first: Page, second: Page, artifacts_dir: Path
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = api_post(page, base, "/api/v1/session-keys", {"validity_minutes": 15})["key"]

    type_key(first, base, key)
    expect(by_id(first, "portal-session")).to_have_attribute("data-status", "waiting_for_agent")
    expect(by_id(first, "portal-connection")).to_have_attribute("data-state", "open")
    secret = stored_secret(first)
    assert secret

    # The second person, with the same key: refused, in his language too.
    type_key(second, base, key)
    expect(by_id(second, "session-key-message")).to_contain_text(TAKEN)
    assert stored_secret(second) is None
    expect(by_id(second, "portal-session")).to_have_count(0)
    by_id(second, "language-switcher").select_option("fr")
    by_id(second, "session-key-submit").click()
    expect(by_id(second, "session-key-message")).to_contain_text(
        "déjà ouverte sur une autre page d’assistance"
    )
    refused = second.request.post(f"{base}/api/v1/portal/keys", data={"key": key})
    assert (refused.status, refused.json()["code"]) == (409, "session_key_taken")

    database = relaydesk_server.data_dir / "relaydesk.sqlite3"
    with closing(sqlite3.connect(database)) as db:
        (kept,) = db.execute(
            "SELECT customer_secret_hash FROM session_keys WHERE customer_secret_hash IS NOT NULL"
        ).fetchone()
    assert kept == token_hash(secret)

    # The first page goes on: the agent connects, the technician accepts and asks to view the
    # screen, and the customer answers from that page.
    agent = start_agent_logging(base, key, artifacts_dir / "agent.log")
    try:
        workspace = accept_first_waiting(page, base, WAIT_MS)
        expect(by_id(first, "portal-session")).to_have_attribute(
            "data-status", "active", timeout=WAIT_MS
        )
        by_id(by_id(workspace, "screen-panel"), "screen-request-view").click()
        prompt = by_id(first, "screen-prompt")
        expect(prompt).to_be_visible(timeout=WAIT_MS)
        by_id(prompt, "screen-allow").click()
        expect(by_id(first, "screen-sharing")).to_have_attribute("data-state", "view")
        expect(by_id(workspace, "screen-panel")).to_have_attribute(
            "data-screen-phase", "view", timeout=WAIT_MS
        )
        expect(by_id(first, "portal-connection")).to_have_attribute("data-state", "open")
        assert stored_secret(first) == secret
        # The second page still has nothing of the session.
        expect(by_id(second, "portal-session")).to_have_count(0)
    finally:
        agent.kill()
        agent.wait(10)
