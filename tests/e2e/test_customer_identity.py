"""Who the customer is (issue 12, section 3), as the technician sees it: the queue and the
session's tab name the customer's computer with its operating system's own name and version
(/etc/os-release's PRETTY_NAME, e.g. "Debian GNU/Linux 12 (bookworm)"), not the kernel string;
the customer by the name and reference the key dialog took (never the OS login); the portal issue
form's type and description; the customer's chat lines as his own on the portal and under his
name in the console. Real server, real agent, the console and the portal in Chromium."""

from __future__ import annotations

import getpass
import platform
import socket
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.agents import start_agent
from tests.fixtures.browser import admin_signs_in, by_id, shoot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Identity lantern harbour 42"
WAIT_MS = 20_000


def pretty_name() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "PRETTY_NAME":
            return value.strip().strip('"')
    pytest.fail("/etc/os-release has no PRETTY_NAME")


def test_queue_and_tab_show_the_operating_system_by_name_and_version(
    relaydesk_server: Any, page: Page, artifacts_dir: Path
) -> None:
    expected = pretty_name()
    kernel = platform.release()
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "relaydesk_csrf")
    issued = page.request.post(
        f"{base}/api/v1/session-keys",
        data={"validity_minutes": 15},
        headers={"x-csrf-token": csrf},
    )
    assert issued.ok, issued.text()
    agent = start_agent(base, issued.json()["key"])
    try:
        page.goto(f"{base}/console/queues")
        item = by_id(page, "queue-item").first
        expect(item).to_contain_text(expected, timeout=WAIT_MS)
        expect(item).not_to_contain_text(kernel)
        shoot(page, artifacts_dir, "01-queue")
        item.click()
        by_id(page, "session-accept").click()
        device = by_id(page, "workspace-device")
        expect(device).to_contain_text(expected, timeout=WAIT_MS)
        expect(device).not_to_contain_text(kernel)
        shoot(page, artifacts_dir, "02-session-tab")
    finally:
        agent.kill()
        agent.wait()


def csrf(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "relaydesk_csrf")


def test_the_key_dialogs_name_and_reference_name_the_customer_everywhere(
    relaydesk_server: Any, page: Page, browser: Browser, artifacts_dir: Path
) -> None:
    name, reference = "Zoë Ōtsuka", "T-4711"
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    page.goto(f"{base}/console/queues")
    by_id(page, "generate-key").click()
    dialog = by_id(page, "session-key-dialog")
    by_id(dialog, "key-customer-name").fill(name)
    by_id(dialog, "key-reference").fill(reference)
    shoot(page, artifacts_dir, "03-key-dialog-name-and-reference")
    by_id(dialog, "key-generate").click()
    key = by_id(dialog, "session-key-value").inner_text().strip()
    expect(by_id(dialog, "outstanding-key").first).to_contain_text(f"{name} · {reference}")
    page.keyboard.press("Escape")

    portal = browser.new_context(locale="en-GB").new_page()
    portal.goto(f"{base}/")
    by_id(portal, "session-key-input").fill(key)
    by_id(portal, "session-key-submit").click()
    agent = start_agent(base, key)
    try:
        item = by_id(page, "queue-item").first
        expect(item).to_contain_text(f"{name} · {reference}", timeout=WAIT_MS)
        expect(item).to_contain_text(pretty_name())
        login = getpass.getuser()
        if login not in socket.gethostname():
            expect(item).not_to_contain_text(login)
        shoot(page, artifacts_dir, "04-queue-name-and-reference")
        item.click()
        by_id(page, "session-accept").click()
        expect(by_id(page, "workspace-customer")).to_have_text(f"{name} · {reference}")
        tab = page.locator('[data-testid="session-tab"]').first
        expect(tab).to_contain_text(f"{name} · {reference}")
        expect(by_id(portal, "portal-session")).to_have_attribute(
            "data-status", "active", timeout=WAIT_MS
        )

        box = by_id(portal, "chat-input")
        box.fill("Bonjour, l'imprimante 🖨️")
        box.press("Enter")
        own = by_id(portal, "chat-message").last
        expect(own).to_have_attribute("data-sender", "customer", timeout=WAIT_MS)
        expect(own).to_have_class("chat-message chat-own")
        expect(own).to_contain_text(name)
        expect(own).not_to_contain_text(login)
        shoot(portal, artifacts_dir, "05-portal-own-chat")
        seen = by_id(by_id(page, "session-workspace"), "chat-message").last
        expect(seen).to_contain_text("Bonjour, l'imprimante 🖨️", timeout=WAIT_MS)
        expect(seen).to_have_class("chat-message chat-other")
        expect(seen).to_contain_text(name)
        shoot(page, artifacts_dir, "06-console-chat-and-header")
    finally:
        agent.kill()
        agent.wait()
        portal.context.close()


def test_the_portal_issue_forms_type_and_description_reach_the_technician(
    relaydesk_server: Any, page: Page, browser: Browser, artifacts_dir: Path
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    headers = {"x-csrf-token": csrf(page)}
    users = page.request.get(f"{base}/api/v1/users").json()
    team = page.request.post(
        f"{base}/api/v1/teams",
        data={"name": "Printers", "member_ids": [u["id"] for u in users]},
        headers=headers,
    )
    assert team.ok, team.text()
    kind = page.request.post(
        f"{base}/api/v1/issue-types",
        data={"name": "Printer trouble", "team_id": team.json()["id"]},
        headers=headers,
    )
    assert kind.ok, kind.text()

    portal = browser.new_context(locale="en-GB").new_page()
    portal.goto(f"{base}/")
    by_id(portal, "portal-issue-type").select_option(label="Printer trouble")
    by_id(portal, "portal-issue-name").fill("Jean Dupont")
    by_id(portal, "portal-issue-description").fill("Le papier est coincé")
    by_id(portal, "portal-issue-submit").click()
    key = by_id(portal, "portal-key").inner_text().strip()
    agent = start_agent(base, key)
    try:
        page.goto(f"{base}/console/queues")
        item = by_id(page, "queue-item").first
        expect(item).to_contain_text("Jean Dupont", timeout=WAIT_MS)
        expect(by_id(item, "queue-item-issue")).to_have_text(
            "Printer trouble · Le papier est coincé"
        )
        item.click()
        expect(by_id(page, "detail-issue")).to_have_text("Printer trouble · Le papier est coincé")
        shoot(page, artifacts_dir, "07-queue-issue")
        by_id(page, "session-accept").click()
        expect(by_id(page, "workspace-issue")).to_have_text(
            "Printer trouble · Le papier est coincé"
        )
        shoot(page, artifacts_dir, "08-workspace-issue")
    finally:
        agent.kill()
        agent.wait()
        portal.context.close()
