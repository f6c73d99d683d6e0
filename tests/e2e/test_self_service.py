"""Self-service installation from the public portal (issue 13 item 3, UNA-3), in Chromium against
a real `relaydesk demo` and the real agent: a customer on the portal opens "Install for
unattended access", is told when his installer code is unknown and when he gives no name, then
gets a single-use install command with the right code; the real agent process enrols with the
token from that command (`relaydesk-agent --installer TOKEN --state-dir`, not the system install:
that one is tested under systemd in tests/system/) and the device carries the name he gave. The
same token does not enrol a second computer. A technician's sign-in with a wrong password is
refused on the page; with the right one he gives the company himself."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from relaydesk.server.db.engine import make_engine, make_sessionmaker
from relaydesk.server.db.models import Device
from tests.fixtures.agents import AGENT
from tests.fixtures.browser import admin_signs_in, api_post, by_id, shoot
from tests.fixtures.common import eventually
from tests.fixtures.databases import run_async

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Harbour violet kettle 62"


def devices_named(server: Any) -> list[tuple[str, str, str]]:
    async def read() -> list[tuple[str, str, str]]:
        engine = make_engine(f"sqlite+aiosqlite:///{server.data_dir / 'relaydesk.sqlite3'}")
        try:
            async with make_sessionmaker(engine)() as db:
                rows = await db.execute(
                    select(Device.hostname, Device.nickname, Device.company).where(
                        Device.kind == "unattended"
                    )
                )
                return [tuple(r) for r in rows.all()]  # type: ignore[misc]
        finally:
            await engine.dispose()

    return run_async(read())


def enrol(base: str, token: str, state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [AGENT, "--server", base, "--installer", token, "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_customer_installs_with_an_installer_code_and_the_real_agent_enrols(
    relaydesk_server: Any, page: Page, artifacts_dir: Path, tmp_path: Path
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    installer = api_post(page, base, "/api/v1/installers", {"company": "Bistro Lyon"})
    code = installer["token"]
    page.context.clear_cookies()  # the customer's browser: nobody signed in

    page.goto(f"{base}/")
    section = by_id(page, "self-service")
    expect(section).to_contain_text("Install for unattended access")
    by_id(section, "self-service-open").click()
    by_id(section, "self-service-code").fill("rdi_not-the-right-code")
    by_id(section, "self-service-device-name").fill("Reception PC")
    by_id(section, "self-service-submit").click()
    expect(by_id(section, "self-service-message")).to_have_text(
        "This installer token is not known. Ask your administrator for the current install command."
    )
    by_id(section, "self-service-code").fill(code)
    by_id(section, "self-service-device-name").fill("   ")
    by_id(section, "self-service-submit").click()
    expect(section).to_contain_text("Give this computer a name.")
    shoot(page, artifacts_dir, "01-no-name")

    by_id(section, "self-service-device-name").fill("Reception PC")
    by_id(section, "self-service-submit").click()
    issued = by_id(section, "self-service-issued")
    expect(issued).to_contain_text('Ready: "Reception PC" for Bistro Lyon.')
    command = by_id(issued, "self-service-command").inner_text().strip()
    found = re.fullmatch(r"curl -fsSL \S+ \| sh -s -- --installer (rdi_[A-Za-z0-9_-]+)", command)
    assert found, command
    token = found.group(1)
    assert token != code
    download = by_id(issued, "self-service-download").get_attribute("href") or ""
    assert download.startswith(base) and token not in download
    shoot(page, artifacts_dir, "02-command")

    agent = enrol(base, token, tmp_path / "state")
    try:
        eventually(lambda: (tmp_path / "state" / "device").exists(), 60, "the agent to enrol")
        named = eventually(lambda: devices_named(relaydesk_server), 30, "the device")
    finally:
        agent.terminate()
        agent.communicate(timeout=30)
    assert [(n, c) for _, n, c in named] == [("Reception PC", "Bistro Lyon")]

    # The single-use token does not enrol a second computer.
    second = enrol(base, token, tmp_path / "other")
    output, _ = second.communicate(timeout=60)
    assert second.returncode == 2, output
    assert "maximum number of installations" in output
    assert token not in relaydesk_server.log_path.read_text()


def test_a_technician_signs_in_on_the_portal_and_gives_the_company(
    relaydesk_server: Any, page: Page, artifacts_dir: Path
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    page.context.clear_cookies()
    page.goto(f"{base}/")
    section = by_id(page, "self-service")
    by_id(section, "self-service-open").click()
    by_id(section, "self-service-way-technician").check()
    by_id(section, "self-service-email").fill(relaydesk_server.admin_email)
    by_id(section, "self-service-password").fill("not the password")
    by_id(section, "self-service-company").fill("Garage Weber")
    by_id(section, "self-service-device-name").fill("Workshop PC")
    by_id(section, "self-service-submit").click()
    expect(by_id(section, "self-service-message")).to_have_text(
        "The e-mail address or password is wrong."
    )
    by_id(section, "self-service-password").fill(ADMIN_PASSWORD)
    by_id(section, "self-service-company").fill("")
    by_id(section, "self-service-submit").click()
    expect(section).to_contain_text("Give the customer's company.")
    by_id(section, "self-service-company").fill("Garage Weber")
    by_id(section, "self-service-submit").click()
    expect(by_id(section, "self-service-issued")).to_contain_text(
        'Ready: "Workshop PC" for Garage Weber.'
    )
    expect(by_id(section, "self-service-command")).to_contain_text("--installer rdi_")
    shoot(page, artifacts_dir, "01-technician")
