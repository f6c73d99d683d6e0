"""A technician's console is open in Chromium; the administrator deactivates him from his own
browser; the technician's console is closed by the server at once and his page shows the
sign-in form (issue 11, defect 15), against a real `relaydesk demo`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.browser import admin_signs_in, by_id, first_sign_in, open_page, shoot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Orchard compass ribbon 58"
TECH_PASSWORD = "Harbour lantern meadow 71"


def add_technician(base: str, admin_email: str) -> None:
    """Tom, with a role to work in the console, through the REST API as the administrator."""
    with httpx.Client(base_url=base, timeout=30) as admin:
        signed = admin.post(
            "/api/v1/auth/login", json={"email": admin_email, "password": ADMIN_PASSWORD}
        )
        assert signed.json()["stage"] == "complete", signed.text
        admin.headers["x-csrf-token"] = admin.cookies["relaydesk_csrf"]
        role = admin.post(
            "/api/v1/roles", json={"name": "Helpdesk", "permissions": ["generate_session_keys"]}
        )
        assert role.status_code == 201, role.text
        created = admin.post(
            "/api/v1/users",
            json={"email": "tom@example.com", "name": "Tom Tech", "password": "First-Pass-42"},
        )
        assert created.status_code == 201, created.text
        assigned = admin.post(
            f"/api/v1/users/{created.json()['user']['id']}/role-assignments",
            json={"role_id": role.json()["id"], "scope": "all"},
        )
        assert assigned.status_code == 201, assigned.text


def test_a_deactivated_technicians_console_shows_him_signed_out(
    relaydesk_server: Any,
    page: Page,
    browser: Browser,
    request: pytest.FixtureRequest,
    artifacts_dir: Path,
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    add_technician(base, relaydesk_server.admin_email)

    with open_page(browser, request, artifacts_dir / "technician", width=1280, height=800) as tom:
        first_sign_in(tom, base, "tom@example.com", "First-Pass-42", TECH_PASSWORD)
        expect(by_id(tom, "console-connection")).to_have_attribute("data-state", "open")
        shoot(tom, artifacts_dir, "01-technician-console-open")

        page.goto(f"{base}/admin/users")
        row = by_id(page, "user-row").filter(has_text="tom@example.com")
        by_id(row, "user-edit").click()
        by_id(page, "user-deactivate").click()
        expect(by_id(page, "user-reactivate")).to_be_visible()
        shoot(page, artifacts_dir, "02-administrator-deactivated-him")

        # Nothing to click on Tom's side: the server closed his console, which found him signed out.
        expect(tom).to_have_url(re.compile(r"/login"))
        expect(by_id(tom, "signin-email")).to_be_visible()
        shoot(tom, artifacts_dir, "03-technician-signed-out")
