"""Who the customer is (issue 12, section 3), as the technician sees it: the queue and the
session's tab name the customer's computer with its operating system's own name and version
(/etc/os-release's PRETTY_NAME, e.g. "Debian GNU/Linux 12 (bookworm)"), not the kernel string.
Real server, real agent, the console in Chromium."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

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
