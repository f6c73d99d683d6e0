"""Device groups as the administrator and a scoped technician use them (GOV-3, issue 11 defect
18), in Chromium against a real `relaydesk demo`: an issue type names the group its customers'
computers join; a technician whose role reaches only Berlin is offered only Berlin when he
generates a key, is told to pick it when he leaves the group out, and the key he makes carries
it (checked in the database)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.browser import admin_signs_in, api, by_id, first_sign_in, open_page, shoot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Harbour violet kettle 61"
TOM_PASSWORD = "Granite meadow cello 27"


def test_issue_types_and_keys_name_a_device_group(
    relaydesk_server: Any,
    page: Page,
    browser: Browser,
    request: pytest.FixtureRequest,
    artifacts_dir: Path,
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    berlin = api(page, "POST", "/api/v1/device-groups", {"name": "Berlin"})["id"]
    api(page, "POST", "/api/v1/device-groups", {"name": "Paris"})
    api(page, "POST", "/api/v1/teams", {"name": "Printers"})
    roles = page.request.get(f"{base}/api/v1/roles").json()
    operator = next(r["id"] for r in roles if r["name"] == "Help desk operator")
    tom = api(page, "POST", "/api/v1/users", {"email": "tom@demo.test", "name": "Tom Berlin"})
    api(
        page,
        "POST",
        f"/api/v1/users/{tom['user']['id']}/role-assignments",
        {"role_id": operator, "scope": "groups", "device_group_ids": [berlin]},
    )

    # The administrator's issue type puts its customers' computers in Berlin.
    page.goto(f"{base}/admin/issue-types")
    by_id(page, "issue-type-new").click()
    by_id(page, "issue-type-name").fill("Berlin printers")
    by_id(page, "issue-type-team").select_option(label="Printers")
    by_id(page, "issue-type-device-group-select").select_option(label="Berlin")
    by_id(page, "issue-type-save").click()
    row = by_id(page, "issue-type-row").filter(has_text="Berlin printers")
    expect(by_id(row, "issue-type-device-group")).to_have_text("Berlin")
    shoot(page, artifacts_dir, "01-issue-type-with-group")

    # Tom's key: only his group is offered; leaving it out is explained.
    with open_page(browser, request, artifacts_dir / "tom", width=1280, height=800) as tom_page:
        first_sign_in(tom_page, base, "tom@demo.test", tom["initial_password"], TOM_PASSWORD)
        by_id(tom_page, "generate-key").click()
        dialog = by_id(tom_page, "session-key-dialog")
        choice = by_id(dialog, "key-device-group")
        expect(choice.locator("option")).to_have_text(["No group", "Berlin"])
        by_id(dialog, "key-generate").click()
        expect(dialog).to_contain_text("Pick the device group of the customer's computer")
        choice.select_option(label="Berlin")
        by_id(dialog, "key-generate").click()
        expect(by_id(dialog, "session-key-issued")).to_be_visible()
        shoot(tom_page, artifacts_dir, "02-key-for-berlin")

    with sqlite3.connect(relaydesk_server.data_dir / "relaydesk.sqlite3") as db:
        keys = db.execute(
            "SELECT k.device_group_id FROM session_keys k JOIN users u ON u.id = k.created_by_id "
            "WHERE u.email = 'tom@demo.test'"
        ).fetchall()
        issue_types = db.execute(
            "SELECT device_group_id FROM issue_types WHERE name = 'Berlin printers'"
        ).fetchall()
    assert keys == [(berlin,)]
    assert issue_types == [(berlin,)]
