"""Installers in the console (issue 13, UNA-2/UNA-4), in Chromium against a real `relaydesk demo`
and the real agent: the administrator opens Administration → Installers, is told that a cap of 0
is not a cap, generates an installer for a company and a Jump group with a cap and an expiry,
sees the install command, the silent command, the script and the token once (with copy
buttons); a real agent run with that token enrols and the list says '1 of 2'; he revokes it and
the list says so."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.agents import AGENT
from tests.fixtures.browser import admin_signs_in, by_id, shoot
from tests.fixtures.common import eventually

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Harbour violet kettle 61"


def test_the_administrator_creates_an_installer_sees_its_command_and_revokes_it(
    relaydesk_server: Any, page: Page, artifacts_dir: Path, tmp_path: Path
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    page.goto(f"{base}/admin/device-groups")
    by_id(page, "group-new").click()
    by_id(page, "group-name").fill("Acme laptops")
    by_id(page, "group-save").click()
    expect(by_id(page, "group-row")).to_contain_text("Acme laptops")
    by_id(page, "admin-nav-installers").click()
    expect(page.get_by_role("heading", name="Installers")).to_be_visible()
    expect(by_id(page, "installers-empty")).to_be_visible()

    by_id(page, "installer-new").click()
    by_id(page, "installer-company").fill("Acme Corp")
    by_id(page, "installer-group").select_option(label="Acme laptops")
    by_id(page, "installer-max").fill("0")
    by_id(page, "installer-save").click()
    expect(by_id(page, "installer-form")).to_contain_text(
        "The maximum number of installations must be at least 1."
    )
    shoot(page, artifacts_dir, "01-cap-of-zero-refused")

    by_id(page, "installer-max").fill("2")
    by_id(page, "installer-expiry").fill("2030-01-31T18:00")
    by_id(page, "installer-save").click()
    issued = by_id(page, "installer-issued")
    expect(issued).to_contain_text("Installer for Acme Corp")
    expect(issued).to_contain_text("they are not shown again")
    token = by_id(issued, "installer-token").inner_text().strip()
    assert token.startswith("rdi_")
    expect(by_id(issued, "installer-command")).to_have_text(
        f"curl -fsSL {base}/portal/install.sh | sh -s -- --installer {token}"
    )
    expect(by_id(issued, "installer-silent-command")).to_have_text(
        f"curl -fsSL {base}/portal/install.sh | sh -s -- --installer {token} --quiet"
    )
    expect(by_id(issued, "installer-download")).to_have_text(f"{base}/portal/install.sh")
    expect(by_id(issued, "installer-command-copy")).to_be_visible()
    row = by_id(page, "installer-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Acme laptops")
    expect(by_id(row, "installer-used")).to_have_text("0 of 2")
    expect(row).to_contain_text(re.compile(r"2030"))
    expect(by_id(row, "installer-state")).to_have_text("Active")
    shoot(page, artifacts_dir, "02-installer-created")

    agent = subprocess.Popen(
        [AGENT, "--server", base, "--installer", token, "--state-dir", str(tmp_path / "state")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        eventually(lambda: (tmp_path / "state" / "device").exists(), 30, "the agent to enrol")
    finally:
        agent.terminate()
        agent.communicate(timeout=30)
    page.reload()
    expect(by_id(page, "installer-issued")).to_have_count(0)  # shown once
    expect(by_id(by_id(page, "installer-row"), "installer-used")).to_have_text("1 of 2")

    by_id(page, "installer-revoke").click()
    by_id(page, "installer-revoke-confirm").click()
    expect(by_id(page, "installer-state")).to_have_text("Revoked")
    expect(by_id(page, "installer-revoke")).to_have_count(0)
    shoot(page, artifacts_dir, "03-installer-revoked")
    assert token not in relaydesk_server.log_path.read_text()
