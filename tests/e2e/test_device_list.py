"""The Devices page (issue 13 item 5, UNA-5) as a technician uses it, in Chromium against the
real server: he searches, sees a real installed agent go offline and online again live when its
process stops and starts, refreshes its inventory, renames it, tags it, moves it to another
Jump group and deletes it, after which the agent uninstalls itself."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from websockets.asyncio.client import connect

from relaydesk.protocol import control, identity
from relaydesk.protocol.messages import PROTOCOL_VERSION, DeviceFacts, Hello, InstallerCredential
from tests.fixtures.agents import AGENT
from tests.fixtures.browser import admin_signs_in, api, by_id, shoot
from tests.fixtures.common import eventually
from tests.fixtures.databases import run_async

pytestmark = pytest.mark.e2e

PASSWORD = "Device-List-Password-42"
LIVE = 30_000  # ms: what a technician would wait for a change to show


async def _enrol(url: str, token: str, hostname: str, private_ip: str) -> None:
    """Another installed computer enrols once with the installer, then goes away (offline)."""
    key = identity.DeviceKey.generate()
    hello = Hello(
        type="hello",
        protocol=PROTOCOL_VERSION,
        agent_version="1.0.0",
        mode="unattended",
        public_key=key.public_key_b64,
        credential=InstallerCredential(kind="installer", token=token),
        device=DeviceFacts(hostname=hostname, os="Windows 11", private_ips=[private_ip]),
    )
    connection = control.AgentConnection(hello, key)
    connection.start()
    async with connect(url, ping_interval=None, open_timeout=60) as ws:
        while True:
            for frame in connection.data_to_send():
                await ws.send(frame)
            if any(isinstance(e, control.Established) for e in connection.receive(await ws.recv())):
                return


def _agent(url: str, token: str, state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [AGENT, "--server", url, "--installer", token, "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _row(page: Page, device_id: int) -> Any:
    return by_id(page, "devices-list").locator(
        f'[data-testid="device-row"][data-device-id="{device_id}"]'
    )


def test_a_technician_finds_watches_edits_moves_and_deletes_an_installed_device(
    page: Page, relaydesk_server: Any, artifacts_dir: Path, tmp_path: Path
) -> None:
    url = admin_signs_in(page, relaydesk_server, PASSWORD)
    lobby = api(page, "POST", "/api/v1/device-groups", {"name": "Lobby"})
    servers = api(page, "POST", "/api/v1/device-groups", {"name": "Servers"})
    issued = api(
        page,
        "POST",
        "/api/v1/installers",
        {"company": "Globex", "device_group_id": lobby["id"]},
    )
    ws_url = url.replace("http://", "ws://") + "/agent/ws"
    run_async(_enrol(ws_url, issued["token"], "ws-finance-01", "10.1.2.3"))
    run_async(_enrol(ws_url, issued["token"], "ws-finance-02", "10.1.2.4"))
    state = tmp_path / "state"
    agent = _agent(url, issued["token"], state)
    try:
        device_id = eventually(
            lambda: (state / "device").exists() and int((state / "device").read_text()),
            60,
            "the installed agent to enrol",
        )
        page.goto(f"{url}/console/jump-clients")
        expect(page.get_by_role("heading", name="Devices")).to_be_visible()
        expect(by_id(page, "devices-total")).to_have_text("1–3 of 3")
        row = _row(page, device_id)
        expect(row).to_have_attribute("data-online", "true", timeout=LIVE)
        expect(by_id(row, "device-row-name")).to_have_text(socket.gethostname())

        # One search box: a hostname, then an address.
        by_id(page, "devices-search").fill("finance")
        expect(by_id(page, "device-row")).to_have_count(2)
        expect(by_id(page, "devices-total")).to_have_text("1–2 of 2")
        by_id(page, "devices-search").fill("10.1.2.4")
        expect(by_id(by_id(page, "device-row"), "device-row-name")).to_have_text(["ws-finance-02"])
        by_id(page, "devices-search").fill("")
        by_id(page, "devices-filter-online").select_option("offline")
        expect(by_id(page, "device-row")).to_have_count(2)
        by_id(page, "devices-filter-online").select_option("")
        expect(by_id(page, "device-row")).to_have_count(3)
        shoot(page, artifacts_dir, "1-device-list")

        row.click()
        details = by_id(page, "device-details")
        expect(by_id(details, "device-state")).to_have_attribute("data-online", "true")
        expect(by_id(details, "device-company")).to_have_text("Globex")
        expect(by_id(details, "device-group")).to_have_text("Lobby")
        expect(by_id(details, "device-public-ip")).to_have_text("127.0.0.1")
        expect(by_id(details, "device-agent-version")).to_have_text(relaydesk_server.version)
        expect(by_id(details, "device-online-since")).not_to_have_text("—")

        by_id(details, "device-refresh").click()
        expect(by_id(details, "inventory-os")).not_to_have_text("—", timeout=LIVE)
        expect(by_id(details, "inventory-memory")).not_to_have_text("—")
        shoot(page, artifacts_dir, "2-details-with-inventory")

        # The agent stops: the dot goes grey by itself, and the details say when it was seen.
        agent.terminate()
        agent.wait(30)
        expect(row).to_have_attribute("data-online", "false", timeout=LIVE)
        expect(by_id(details, "device-state")).to_have_attribute("data-online", "false")
        expect(by_id(details, "device-last-seen")).not_to_have_text("—")
        shoot(page, artifacts_dir, "3-offline")
        agent = _agent(url, issued["token"], state)
        expect(row).to_have_attribute("data-online", "true", timeout=LIVE)
        expect(by_id(details, "device-state")).to_have_attribute("data-online", "true")

        by_id(details, "device-nickname").fill("Reception PC")
        by_id(details, "device-comments").fill("Behind the front desk.")
        by_id(details, "device-tags").fill("lobby, touch")
        by_id(details, "device-save").click()
        expect(by_id(details, "device-saved")).to_be_visible()
        expect(by_id(details, "device-title")).to_have_text("Reception PC")
        expect(by_id(row, "device-row-name")).to_have_text("Reception PC")
        expect(row).to_contain_text("touch")
        by_id(page, "devices-search").fill("TOUCH")
        expect(by_id(by_id(page, "device-row"), "device-row-name")).to_have_text(["Reception PC"])
        by_id(page, "devices-search").fill("")

        # Too long a nickname: the server's own words, beside nothing saved.
        by_id(details, "device-nickname").fill("n" * 101)
        by_id(details, "device-save").click()
        expect(details.locator(".field-error")).to_have_text(
            ["The nickname can be at most 100 characters."]
        )
        expect(by_id(details, "device-title")).to_have_text("Reception PC")
        by_id(details, "device-nickname").fill("Reception PC")

        by_id(details, "device-move-group").select_option(str(servers["id"]))
        by_id(details, "device-move").click()
        expect(by_id(details, "device-group")).to_have_text("Servers")
        by_id(page, "devices-filter-group").select_option(str(servers["id"]))
        expect(by_id(by_id(page, "device-row"), "device-row-name")).to_have_text(["Reception PC"])
        by_id(page, "devices-filter-group").select_option("")
        shoot(page, artifacts_dir, "4-renamed-tagged-moved")

        by_id(details, "device-delete").click()
        by_id(details, "device-delete-confirm").click()
        expect(by_id(page, "device-details-empty")).to_be_visible()
        expect(_row(page, device_id)).to_have_count(0)
        expect(by_id(page, "devices-total")).to_have_text("1–2 of 2")
        shoot(page, artifacts_dir, "5-deleted")
        # The installed agent was told to uninstall itself and has stopped.
        eventually(lambda: agent.poll() is not None, 60, "the agent to stop after its uninstall")
    finally:
        if agent.poll() is None:
            agent.terminate()
        output, _ = agent.communicate(timeout=30)
    assert "uninstall" in output.lower(), output
