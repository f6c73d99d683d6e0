"""Outstanding session keys as a technician and an administrator see and revoke them (ATT-1,
issue 12 section 5), in Chromium against a real `relaydesk demo` and the real agent: the key
dialog lists the technician's unused, unexpired keys (not another technician's), Revoke takes
one away (audited), and the customer typing it on the portal, or the agent started with it, is
told that the technician revoked it; the administrator sees the organisation's keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.agents import finish, start_agent
from tests.fixtures.browser import admin_signs_in, api, by_id, first_sign_in, open_page, shoot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Harbour violet kettle 61"
TOM_PASSWORD = "Granite meadow cello 27"
REVOKED = "This session key was revoked by the technician"


def test_outstanding_keys_are_listed_revoked_and_refused(
    relaydesk_server: Any,
    page: Page,
    browser: Browser,
    request: pytest.FixtureRequest,
    artifacts_dir: Path,
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    operator = next(
        r["id"] for r in api(page, "GET", "/api/v1/roles") if r["name"] == "Help desk operator"
    )
    tom = api(page, "POST", "/api/v1/users", {"email": "tom@demo.test", "name": "Tom Operator"})
    api(
        page,
        "POST",
        f"/api/v1/users/{tom['user']['id']}/role-assignments",
        {"role_id": operator, "scope": "all"},
    )
    admins_key = api(page, "POST", "/api/v1/session-keys", {"validity_minutes": 60})

    with open_page(browser, request, artifacts_dir / "tom", width=1280, height=900) as tom_page:
        first_sign_in(tom_page, base, "tom@demo.test", tom["initial_password"], TOM_PASSWORD)
        by_id(tom_page, "generate-key").click()
        dialog = by_id(tom_page, "session-key-dialog")
        expect(by_id(dialog, "outstanding-keys-none")).to_be_visible()
        by_id(dialog, "key-generate").click()
        key = by_id(dialog, "session-key-value").inner_text().strip()
        # His key only (not the administrator's), with who made it and when it expires.
        rows = by_id(dialog, "outstanding-key")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Tom Operator")
        expect(by_id(rows.first, "outstanding-key-expires")).to_have_text(
            re.compile(r"\d{2}:\d{2}")
        )
        shoot(tom_page, artifacts_dir, "01-technician-outstanding-key")

        by_id(rows.first, "outstanding-key-revoke").click()
        expect(rows).to_have_count(0)
        expect(by_id(dialog, "outstanding-keys-none")).to_be_visible()
        shoot(tom_page, artifacts_dir, "02-technician-key-revoked")

    # The customer types the revoked key on the portal; the agent is started with it.
    with open_page(browser, request, artifacts_dir / "customer", width=1280, height=800) as portal:
        portal.goto(f"{base}/")
        by_id(portal, "session-key-input").fill(key)
        by_id(portal, "session-key-submit").click()
        expect(by_id(portal, "session-key-message")).to_contain_text(REVOKED)
        expect(by_id(portal, "portal-session")).to_have_count(0)
        shoot(portal, artifacts_dir, "03-portal-refuses-revoked-key")
    code, output = finish(start_agent(base, key))
    assert code == 2, output
    assert REVOKED in output

    # The administrator sees the organisation's outstanding keys: his (Tom's is revoked).
    page.goto(f"{base}/console/queues")
    by_id(page, "generate-key").click()
    rows = by_id(by_id(page, "session-key-dialog"), "outstanding-key")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Demo Administrator")
    shoot(page, artifacts_dir, "04-administrator-outstanding-keys")
    audit = api(page, "GET", "/api/v1/audit?action=session_key.revoked")["items"]
    assert [e["actor_label"] for e in audit] == ["tom@demo.test"]
    assert admins_key["key"] != key
