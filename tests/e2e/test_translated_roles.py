"""Built-in roles in the administrator's language (issue 12 section 5), in Chromium against a real
`relaydesk demo`: with French or German chosen, Administration → Roles and the header show the
built-in roles' names and descriptions translated, and no English leftovers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import admin_signs_in, by_id, shoot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Harbour violet kettle 61"
WORDS = {
    "fr": (
        "Administrateur",
        "Opérateur du support",
        "Peut voir les écrans et demander le contrôle.",
    ),
    "de": (
        "Administrator",
        "Helpdesk-Mitarbeiter",
        "Kann Bildschirme sehen und um Steuerung bitten.",
    ),
}


def test_built_in_roles_in_french_and_german(
    relaydesk_server: Any, page: Page, artifacts_dir: Path
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    for language, (administrator, operator, viewer_about) in WORDS.items():
        page.goto(f"{base}/admin/roles")
        by_id(page, "language-switcher").select_option(language)
        expect(page.locator("html")).to_have_attribute("lang", language)
        table = by_id(page, "roles-table")
        expect(table).to_contain_text(operator)
        expect(table).to_contain_text(viewer_about)
        expect(by_id(page, "current-user-roles")).to_have_text(administrator)
        for english in ("Help desk operator", "Can view screens", "no administration"):
            expect(table).not_to_contain_text(english)
        shoot(page, artifacts_dir, f"roles-{language}")
