"""The foundation as a person uses it, in headless Chromium against a real `relaydesk demo`.

The administrator signs in with the one-time password, chooses a password, sets up TOTP, creates a
technician with the "Help desk operator" role and makes a second factor mandatory; the technician
then signs in, chooses a password, is made to enrol TOTP, sees the console under his name and
role, and switches to French, which stays after a reload. Screenshots of each main page go to
the test's artifacts directory.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import by_id, shoot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Harbour lantern copper 42"
TECH_NAME = "Theo Martin"
TECH_EMAIL = "theo.martin@example.com"
TECH_PASSWORD = "Quiet meadow violin 7"
HELP_DESK_ROLE = "Help desk operator"
HELP_DESK_ROLE_FR = "Opérateur du support"  # the built-in role in French (web/src/i18n/fr.ts)
SVG_DATA_URL = re.compile(r"^data:image/svg\+xml;base64,")


def fresh_code(secret: str, after: float = 0.0) -> str:
    """A TOTP code from a time step later than the moment `after` (the server refuses a step it
    has seen) that stays valid for a few more seconds."""
    totp = pyotp.TOTP(secret)
    while True:
        now = time.time()
        step_left = totp.interval - now % totp.interval
        if step_left < 3 or after and int(now // totp.interval) <= int(after // totp.interval):
            time.sleep(step_left + 0.5)
        else:
            return totp.now()


def sign_in(page: Page, base_url: str, email: str, password: str, path: str = "/console") -> None:
    page.goto(f"{base_url}{path}")
    expect(by_id(page, "signin-form")).to_be_visible()
    by_id(page, "signin-email").fill(email)
    by_id(page, "signin-password").fill(password)
    by_id(page, "signin-submit").click()


def choose_password(page: Page, new_password: str) -> None:
    expect(by_id(page, "password-change-form")).to_be_visible()
    # The one-time password just typed is reused: only the new one is asked for.
    expect(by_id(page, "password-current")).to_have_count(0)
    by_id(page, "password-new").fill(new_password)
    by_id(page, "password-confirm").fill(new_password)
    by_id(page, "password-change-submit").click()


def enrol_totp(page: Page) -> tuple[str, float]:
    """Reads the secret off the enrolment form, types the current code; returns the secret and
    when the code was typed."""
    expect(by_id(page, "totp-secret")).to_be_visible()
    expect(by_id(page, "totp-qr")).to_have_attribute("src", SVG_DATA_URL)
    secret = by_id(page, "totp-secret").inner_text().strip()
    by_id(page, "totp-code").fill(fresh_code(secret))
    typed_at = time.time()
    by_id(page, "totp-confirm").click()
    return secret, typed_at


def test_administrator_sets_up_a_technician_who_then_works_in_french(
    relaydesk_server: Any, page: Page, artifacts_dir: Path
) -> None:
    base = relaydesk_server.url

    # The public portal: no sign-in needed, honest about what is not there yet.
    page.goto(f"{base}/")
    expect(by_id(page, "session-key-form")).to_be_visible()
    by_id(page, "session-key-input").fill("123 456 789")
    by_id(page, "session-key-submit").click()
    expect(by_id(page, "session-key-message")).to_be_visible()
    shoot(page, artifacts_dir, "01-portal")

    # A signed-in page sends a stranger to the sign-in form.
    page.goto(f"{base}/admin/users")
    expect(by_id(page, "signin-form")).to_be_visible()
    assert "/login?next=" in page.url
    by_id(page, "signin-email").fill(relaydesk_server.admin_email)
    by_id(page, "signin-password").fill("not the password")
    by_id(page, "signin-submit").click()
    expect(by_id(page, "error-message")).to_contain_text("wrong")
    shoot(page, artifacts_dir, "02-login-error")

    # The one-time password works once, and must be replaced at once.
    by_id(page, "signin-password").fill(relaydesk_server.admin_password)
    by_id(page, "signin-submit").click()
    expect(by_id(page, "password-change-form")).to_be_visible()
    shoot(page, artifacts_dir, "03-password-change")
    choose_password(page, ADMIN_PASSWORD)

    # Back where he wanted to go: the users of the organisation.
    expect(by_id(page, "users-table")).to_be_visible()
    assert page.url.endswith("/admin/users")
    expect(by_id(page, "current-user-roles")).to_contain_text("Administrator")

    # TOTP from the account page.
    by_id(page, "nav-account").click()
    by_id(page, "totp-setup").click()
    admin_secret, admin_code_at = enrol_totp(page)
    expect(by_id(page, "totp-status-changed")).to_be_visible()
    expect(by_id(page, "totp-disable-form")).to_be_visible()
    shoot(page, artifacts_dir, "04-account")

    # A technician with the help desk role.
    by_id(page, "nav-admin").click()
    by_id(page, "admin-nav-users").click()
    by_id(page, "user-new").click()
    by_id(page, "user-name").fill(TECH_NAME)
    by_id(page, "user-email").fill(TECH_EMAIL)
    by_id(page, "user-title").fill("Support engineer")
    by_id(page, "user-company").fill("Demo Help Desk")
    by_id(page, "user-create-submit").click()
    initial_password = by_id(page, "initial-password").inner_text().strip()
    assert len(initial_password) >= 12
    editor = by_id(page, "user-editor")
    expect(editor).to_contain_text(TECH_NAME)
    by_id(page, "assignment-role").select_option(label=HELP_DESK_ROLE)
    by_id(page, "assignment-scope-all").check()
    by_id(page, "assign-role").click()
    expect(by_id(page, "role-assignment")).to_contain_text(HELP_DESK_ROLE)
    row = by_id(page, "user-row").filter(has_text=TECH_EMAIL)
    expect(row).to_contain_text(HELP_DESK_ROLE)
    shoot(page, artifacts_dir, "05-admin-users")

    # A second factor for everyone.
    by_id(page, "admin-nav-settings").click()
    by_id(page, "setting-mfa_required").check()
    by_id(page, "settings-save").click()
    expect(by_id(page, "settings-saved")).to_be_visible()
    expect(by_id(page, "setting-mfa_required")).to_be_checked()
    shoot(page, artifacts_dir, "06-admin-settings")

    by_id(page, "sign-out").click()
    expect(by_id(page, "signin-form")).to_be_visible()

    # The technician: his initial password, his own password, then the enrolment he cannot skip.
    sign_in(page, base, TECH_EMAIL, initial_password)
    choose_password(page, TECH_PASSWORD)
    expect(by_id(page, "signin-mfa_enrolment")).to_be_visible()
    shoot(page, artifacts_dir, "07-technician-enrolment")
    enrol_totp(page)

    expect(by_id(page, "current-user-name")).to_have_text(TECH_NAME)
    expect(by_id(page, "current-user-roles")).to_have_text(HELP_DESK_ROLE)
    expect(by_id(page, "nav-admin")).to_have_count(0)
    expect(page.get_by_role("heading", name="Queues")).to_be_visible()
    for section in ("queues", "sessions", "jump-clients", "ad-hoc", "reports"):
        expect(by_id(page, f"console-nav-{section}")).to_be_visible()
    shoot(page, artifacts_dir, "08-technician-console")

    # French, for him, on the server: it survives a reload.
    by_id(page, "language-switcher").select_option("fr")
    expect(page.get_by_role("heading", name="Files d’attente")).to_be_visible()
    expect(by_id(page, "sign-out")).to_have_text("Se déconnecter")
    expect(by_id(page, "current-user-roles")).to_have_text(HELP_DESK_ROLE_FR)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    shoot(page, artifacts_dir, "09-technician-console-fr")
    page.reload()
    expect(page.get_by_role("heading", name="Files d’attente")).to_be_visible()
    expect(by_id(page, "nav-account")).to_have_text("Compte")
    expect(by_id(page, "current-user-roles")).to_have_text(HELP_DESK_ROLE_FR)
    by_id(page, "nav-account").click()
    expect(page.get_by_role("heading", name="Votre compte")).to_be_visible()
    shoot(page, artifacts_dir, "10-technician-account-fr")

    # An operator is not an administrator: the admin pages say so.
    page.goto(f"{base}/admin/users")
    expect(by_id(page, "not-allowed")).to_be_visible()
    by_id(page, "sign-out").click()
    # Signed out once the sign-in form is back (going on at once would abort his sign-out).
    expect(by_id(page, "signin-form")).to_be_visible()

    # The administrator now signs in with his password and a code from his authenticator. This
    # browser was last used in French, so the sign-in pages still are; his own pages are English.
    sign_in(page, base, relaydesk_server.admin_email, ADMIN_PASSWORD, path="/admin/settings")
    expect(by_id(page, "mfa-form")).to_be_visible()
    by_id(page, "mfa-code").fill("000000")
    by_id(page, "mfa-submit").click()
    expect(by_id(page, "error-message")).to_contain_text("Ce code ne correspond pas")
    shoot(page, artifacts_dir, "11-admin-mfa")
    by_id(page, "mfa-code").fill(fresh_code(admin_secret, after=admin_code_at))
    by_id(page, "mfa-submit").click()
    expect(by_id(page, "setting-mfa_required")).to_be_checked()
    expect(page.get_by_role("heading", name="Organisation settings")).to_be_visible()
    assert page.url.endswith("/admin/settings")


def test_audit_log_shows_the_sign_ins(
    relaydesk_server: Any, page: Page, artifacts_dir: Path
) -> None:
    base = relaydesk_server.url
    email = relaydesk_server.admin_email
    sign_in(page, base, email, "a wrong password", path="/admin/audit")
    expect(by_id(page, "error-message")).to_be_visible()
    by_id(page, "signin-password").fill(relaydesk_server.admin_password)
    by_id(page, "signin-submit").click()
    choose_password(page, ADMIN_PASSWORD)

    expect(by_id(page, "audit-table")).to_be_visible()
    assert page.url.endswith("/admin/audit")
    actions = by_id(page, "audit-action-cell")
    # Each action as a sentence, its code as the tooltip (exports keep the codes).
    expect(actions.filter(has_text=re.compile("^Sign-in failed$"))).to_have_count(1)
    expect(actions.filter(has_text=re.compile("^Signed in$"))).to_have_count(1)
    expect(actions.filter(has_text=re.compile("^Signed in$"))).to_have_attribute(
        "title", "auth.signed_in"
    )
    shoot(page, artifacts_dir, "audit-log")

    by_id(page, "audit-action").fill("auth.signed_in")
    by_id(page, "audit-apply").click()
    expect(by_id(page, "audit-row")).to_have_count(1)
    expect(by_id(page, "audit-row")).to_contain_text(email)
    expect(by_id(page, "audit-export-csv")).to_have_attribute(
        "href", "/api/v1/audit/export?format=csv&action=auth.signed_in"
    )

    with page.expect_download() as download_info:
        by_id(page, "audit-export-json").click()
    download = download_info.value
    exported = Path(download.path()).read_text(encoding="utf-8")
    assert "auth.signed_in" in exported
    assert "auth.signin_failed" not in exported
