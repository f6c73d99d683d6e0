"""The administrator's lists of device groups, teams and roles, and his own password, as he
uses them in Chromium against a real `relaydesk demo`: each form's name and description go in,
the row shows them, an edit changes them, a name already taken is explained next to the name
field; a password changed on the account page is the one that signs him in next time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import admin_signs_in, by_id, shoot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Orchard compass ribbon 58"
NEW_PASSWORD = "Lighthouse pebble sonnet 93"


def fill_name_and_description(page: Page, testid: str, name: str, description: str) -> None:
    by_id(page, f"{testid}-name").fill(name)
    by_id(page, f"{testid}-description").fill(description)


def test_administrator_keeps_groups_teams_and_roles(
    relaydesk_server: Any, page: Page, artifacts_dir: Path
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)

    # Device groups: create, edit, and a duplicate name refused with the reason at the field.
    page.goto(f"{base}/admin/device-groups")
    by_id(page, "group-new").click()
    fill_name_and_description(page, "group", "Front desk PCs", "Reception and lobby")
    by_id(page, "group-save").click()
    row = by_id(page, "group-row").filter(has_text="Front desk PCs")
    expect(row).to_contain_text("Reception and lobby")
    by_id(row, "group-edit").click()
    expect(by_id(page, "group-name")).to_have_value("Front desk PCs")
    expect(by_id(page, "group-description")).to_have_value("Reception and lobby")
    fill_name_and_description(page, "group", "Front desk laptops", "Reception only")
    by_id(page, "group-save").click()
    expect(by_id(page, "group-row").filter(has_text="Front desk laptops")).to_contain_text(
        "Reception only"
    )
    by_id(page, "group-new").click()
    fill_name_and_description(page, "group", "Front desk laptops", "again")
    by_id(page, "group-save").click()
    expect(by_id(page, "group-form").locator(".field-error")).to_be_visible()
    shoot(page, artifacts_dir, "01-device-groups")

    # Teams: name and description shown in the list.
    page.goto(f"{base}/admin/teams")
    by_id(page, "team-new").click()
    fill_name_and_description(page, "team", "Printers", "Everything that prints")
    by_id(page, "team-save").click()
    expect(by_id(page, "team-row").filter(has_text="Printers")).to_contain_text(
        "Everything that prints"
    )
    shoot(page, artifacts_dir, "02-teams")

    # Roles: a custom role with a permission; its edit form brings the name and description back.
    page.goto(f"{base}/admin/roles")
    by_id(page, "role-new").click()
    fill_name_and_description(page, "role", "Night shift", "Views screens after hours")
    by_id(page, "permission-view_screen").click()
    by_id(page, "role-save").click()
    row = by_id(page, "role-row").filter(has_text="Night shift")
    expect(row).to_be_visible()
    by_id(row, "role-edit").click()
    expect(by_id(page, "role-name")).to_have_value("Night shift")
    expect(by_id(page, "role-description")).to_have_value("Views screens after hours")
    shoot(page, artifacts_dir, "03-roles")

    # His own password, from the account page: the current one is asked for, then the new one
    # works at the next sign-in.
    by_id(page, "nav-account").click()
    by_id(page, "password-current").fill(ADMIN_PASSWORD)
    by_id(page, "password-new").fill(NEW_PASSWORD)
    by_id(page, "password-confirm").fill(NEW_PASSWORD)
    by_id(page, "account-password-submit").click()
    expect(by_id(page, "password-changed")).to_be_visible()
    by_id(page, "sign-out").click()
    expect(by_id(page, "signin-form")).to_be_visible()
    by_id(page, "signin-email").fill(relaydesk_server.admin_email)
    by_id(page, "signin-password").fill(NEW_PASSWORD)
    by_id(page, "signin-submit").click()
    expect(by_id(page, "sign-out")).to_be_visible()
