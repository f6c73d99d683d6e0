"""Turning an attended session into an installed Jump client (issue 13 item 4, UNA-1, TOOL-9),
end to end: the technician in Chromium clicks "Install Jump client" in the live session's
workspace, is refused with a wrong password, signs in again, gives nickname, company, Jump group
and jump password; the customer sees the question in the support client's Tk window on Xvfb and
denies (the console says so), then, asked again, allows; the real agent installs its own
executable with agent/system_install.py's install() and the single-use token the server sent it,
the console says it is installed and the attended session ends (the temporary agent exits).

What is installed where: the agent runs as this test's user on the desktop, so it installs under
a scratch root folder (RELAYDESK_AGENT_INSTALL_ROOT: nothing is started, no elevation needed);
the installed copy is then started by hand from that folder with the state folder install()
made, and comes back as the enrolled device with its own key. The service under a real systemd
is tests/system/'s (part A); combining it with a desktop on Xvfb would need a graphical session
inside the container."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from relaydesk.server.db.engine import make_engine, make_sessionmaker
from relaydesk.server.db.models import AuditEntry, Device
from tests.fixtures.agents import AGENT
from tests.fixtures.browser import admin_signs_in, api, api_post, by_id, open_page, shoot
from tests.fixtures.common import eventually
from tests.fixtures.customer_window import ALLOW, DENY, QUESTION, STATE, customer_window
from tests.fixtures.workspace import accept_first_waiting

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Permanent harbour 73"
WAIT_MS = 60_000


def read_database(server: Any) -> tuple[list[Device], list[str]]:
    from tests.fixtures.databases import run_async

    async def read() -> tuple[list[Device], list[str]]:
        engine = make_engine(f"sqlite+aiosqlite:///{server.data_dir / 'relaydesk.sqlite3'}")
        try:
            async with make_sessionmaker(engine)() as db:
                devices = list(
                    (await db.execute(select(Device).where(Device.kind == "unattended"))).scalars()
                )
                actions = (
                    await db.execute(
                        select(AuditEntry.action)
                        .where(AuditEntry.action.like("jump_client.%"))
                        .order_by(AuditEntry.seq)
                    )
                ).scalars()
                return devices, list(actions)
        finally:
            await engine.dispose()

    return run_async(read())


def ask_for_installation(page: Page, workspace: Any, password: str) -> Any:
    by_id(workspace, "jump-client-open").click()
    dialog = by_id(page, "jump-client-dialog")
    by_id(dialog, "jump-client-password").fill(password)
    by_id(dialog, "jump-client-nickname").fill("Maria's laptop")
    by_id(dialog, "jump-client-company").fill("Bistro Lyon")
    by_id(dialog, "jump-client-group").select_option(label="Lyon")
    by_id(dialog, "jump-client-jump-password").fill("open sesame 42")
    by_id(dialog, "jump-client-submit").click()
    return dialog


def test_the_customer_allows_and_the_support_client_becomes_an_installed_jump_client(
    relaydesk_server: Any, page: Page, xvfb_display: Any, artifacts_dir: Path, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    group = api_post(page, base, "/api/v1/device-groups", {"name": "Lyon"})
    key = api_post(page, base, "/api/v1/session-keys", {"validity_minutes": 15})["key"]
    root = tmp_path / "root"
    log_path = artifacts_dir / "agent.log"
    with log_path.open("w") as log:
        agent = subprocess.Popen(
            [AGENT, "--server", base, "--key", key, "--ui", "window"],
            env={
                **xvfb_display.env,
                "LC_ALL": "C.UTF-8",
                "LANG": "C.UTF-8",
                "RELAYDESK_AGENT_INSTALL_ROOT": str(root),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    installed: subprocess.Popen[bytes] | None = None
    try:
        with customer_window(xvfb_display.display, artifacts_dir) as window:
            eventually(lambda: "Waiting in the queue" in window.text(STATE), 60, "the queue")
            workspace = accept_first_waiting(page, base, WAIT_MS)
            expect(by_id(workspace, "workspace-status")).to_have_text("Connected", timeout=WAIT_MS)

            # A wrong password is refused in the dialog.
            dialog = ask_for_installation(page, workspace, "not my password")
            expect(by_id(dialog, "jump-client-form")).to_contain_text("Your password is wrong.")
            shoot(page, artifacts_dir, "01-wrong-password")

            # Signed in again: the customer is asked in his window, and denies.
            by_id(dialog, "jump-client-password").fill(ADMIN_PASSWORD)
            by_id(dialog, "jump-client-submit").click()
            expect(by_id(dialog, "jump-client-state")).to_have_text(
                "Waiting for the customer to allow the installation in his window…"
            )
            eventually(lambda: window.shown(QUESTION), 30, "the installation question")
            question = window.text(QUESTION)
            assert "wants to install a permanent remote access client on this computer" in question
            window.screenshot("02-asked")
            window.click(DENY)
            expect(by_id(dialog, "jump-client-state")).to_have_text(
                "The customer denied the installation.", timeout=WAIT_MS
            )
            eventually(lambda: not window.shown(QUESTION), 30, "the question answered")
            shoot(page, artifacts_dir, "03-denied")
            by_id(dialog, "jump-client-close").click()
            assert not (root / "opt").exists()

            # Asked again, he allows: the support client installs itself.
            dialog = ask_for_installation(page, workspace, ADMIN_PASSWORD)
            eventually(lambda: window.shown(QUESTION), 30, "the second question")
            window.click(ALLOW)
            expect(by_id(dialog, "jump-client-state")).to_have_text(
                'Installed: "Maria\'s laptop" is now an installed device. This session has ended.',
                timeout=WAIT_MS,
            )
            shoot(page, artifacts_dir, "04-installed")
        expect(by_id(workspace, "session-ended")).to_be_visible(timeout=WAIT_MS)
        assert agent.wait(timeout=60) == 0, log_path.read_text()

        # What install() put under the root folder: the agent's own executable, its
        # configuration, its key (0600) and the enrolled device's id, the unit.
        executable = root / "opt/relaydesk-agent/relaydesk-agent"
        state = root / "var/lib/relaydesk-agent"
        assert executable.read_bytes() == Path(AGENT).read_bytes()
        assert os.access(executable, os.X_OK)
        assert stat.S_IMODE((state / "device.key").stat().st_mode) == 0o600
        assert stat.S_IMODE(state.stat().st_mode) == 0o700
        assert (root / "etc/systemd/system/relaydesk-agent.service").is_file()
        assert base in (root / "etc/relaydesk-agent/agent.conf").read_text()
        device_id = int((state / "device").read_text())

        devices, actions = read_database(relaydesk_server)
        assert [(d.id, d.nickname, d.company, d.device_group_id) for d in devices] == [
            (device_id, "Maria's laptop", "Bistro Lyon", group["id"])
        ]
        assert devices[0].jump_password_hash is not None
        assert PasswordHasher().verify(devices[0].jump_password_hash, "open sesame 42")
        assert actions == [
            "jump_client.requested",
            "jump_client.denied",
            "jump_client.requested",
            "jump_client.consented",
            "jump_client.installed",
        ]

        # The installed copy, started by hand, comes back as that device with its own key.
        installed_log = artifacts_dir / "installed-agent.log"
        with installed_log.open("w") as out:
            installed = subprocess.Popen(
                [str(executable), "--server", base, "--state-dir", str(state)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        eventually(
            lambda: (
                f"Connected as device {device_id}; online, no session." in installed_log.read_text()
            ),
            60,
            f"the installed agent online as device {device_id}",
        )

        # The console's device list (what its Devices page asks) shows it installed and online.
        def listed() -> list[Any]:
            rows = api(page, "GET", "/api/v1/devices?kind=unattended")["devices"]
            return [
                (r["id"], r["nickname"], r["company"], r["device_group_name"])
                for r in rows
                if r["online"]
            ]

        assert eventually(listed, 30, "the device online in the device list") == [
            (device_id, "Maria's laptop", "Bistro Lyon", "Lyon")
        ]
    finally:
        for process in (agent, installed):
            if process is not None and process.poll() is None:
                process.terminate()
                process.communicate(timeout=30)
    logs = relaydesk_server.log_path.read_text() + log_path.read_text()
    assert "open sesame" not in logs and "rdi_" not in logs


def test_with_no_window_the_customer_allows_on_his_portal_page(
    relaydesk_server: Any,
    page: Page,
    browser: Browser,
    request: pytest.FixtureRequest,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    """A support client with no window (--ui none): the question is on the customer's portal
    page, where he allows it; the client installs itself all the same."""
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    group = api_post(page, base, "/api/v1/device-groups", {"name": "Lyon"})
    key = api_post(page, base, "/api/v1/session-keys", {"validity_minutes": 15})["key"]
    root = tmp_path / "root"
    log_path = artifacts_dir / "agent.log"
    with open_page(browser, request, artifacts_dir / "customer", width=1280, height=800) as portal:
        portal.goto(f"{base}/")
        by_id(portal, "session-key-input").fill(key)
        by_id(portal, "session-key-submit").click()
        expect(by_id(portal, "portal-session")).to_be_visible()
        with log_path.open("w") as log:
            agent = subprocess.Popen(
                [AGENT, "--server", base, "--key", key, "--ui", "none"],
                env={**os.environ, "RELAYDESK_AGENT_INSTALL_ROOT": str(root)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            workspace = accept_first_waiting(page, base, WAIT_MS)
            expect(by_id(workspace, "workspace-status")).to_have_text("Connected", timeout=WAIT_MS)
            dialog = ask_for_installation(page, workspace, ADMIN_PASSWORD)
            expect(by_id(dialog, "jump-client-state")).to_have_text(
                "Waiting for the customer to allow the installation in his window…"
            )
            prompt = by_id(portal, "jump-client-prompt")
            expect(prompt).to_contain_text(
                "wants to install a permanent remote access client on this computer",
                timeout=WAIT_MS,
            )
            shoot(portal, artifacts_dir, "01-asked-on-the-portal")
            by_id(prompt, "jump-client-allow").click()
            expect(by_id(dialog, "jump-client-state")).to_have_text(
                'Installed: "Maria\'s laptop" is now an installed device. This session has ended.',
                timeout=WAIT_MS,
            )
            expect(prompt).to_have_count(0)
            assert agent.wait(timeout=60) == 0, log_path.read_text()
        finally:
            if agent.poll() is None:
                agent.terminate()
                agent.communicate(timeout=30)
    assert "answer on the support page in your browser" in log_path.read_text()
    device_id = int((root / "var/lib/relaydesk-agent/device").read_text())
    devices, actions = read_database(relaydesk_server)
    assert [(d.id, d.nickname, d.device_group_id) for d in devices] == [
        (device_id, "Maria's laptop", group["id"])
    ]
    assert actions == ["jump_client.requested", "jump_client.consented", "jump_client.installed"]
