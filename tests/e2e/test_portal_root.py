"""The portal in the browser once a server holds several organisations (issue 11, 19c): the root
(`/`) names none of them and offers only the key form, and a key typed there starts the
customer's session; each organisation's portal opens at its own unguessable address."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import admin_signs_in, by_id, new_session_key
from tests.fixtures.server import PORTAL_ADDRESS

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Root portal window 42"


def test_the_root_offers_the_key_form_only(relaydesk_server: Any, page: Page) -> None:
    made = relaydesk_server.create_organisation(
        "Globex Hidden", "admin@globex.test", "Globex Admin"
    )
    assert made.returncode == 0, made.stderr
    (globex_slug,) = PORTAL_ADDRESS.findall(made.stdout)

    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = new_session_key(page, base)

    customer = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        portal = customer.new_page()
        portal.goto(f"{base}/?portal={globex_slug}")
        expect(by_id(portal, "portal-organisation")).to_have_text("Globex Hidden")

        portal.goto(f"{base}/")
        expect(by_id(portal, "session-key-input")).to_be_visible()
        expect(by_id(portal, "portal-organisation")).to_have_count(0)
        assert "Globex" not in portal.content()
        by_id(portal, "session-key-input").fill(key)
        by_id(portal, "session-key-submit").click()
        expect(by_id(portal, "portal-session")).to_have_attribute(
            "data-status", "waiting_for_agent"
        )
        expect(by_id(portal, "portal-organisation")).to_have_count(0)
    finally:
        customer.close()
