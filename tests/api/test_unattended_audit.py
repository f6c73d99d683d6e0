"""Unattended access in the audit log (issue 13 item 10, GOV-9), as the administrator reads it
(GET /api/v1/audit), against the real server process.

The administrator creates an installer for the Jump group Accounting; an installed agent
(the real control protocol over a WebSocket: Ed25519 key pair, installer token) enrols with it
and stays connected; the group's jump policy asks the logged-in user; the administrator jumps
to the device, the user carol allows it on the device, the administrator ends the jump, moves
the device to Warehouse, and deletes it, which sends the agent its uninstall. Each of these is
in the audit log with who did it and which device (or installer) it was about."""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from relaydesk.protocol import control
from relaydesk.protocol.messages import (
    JumpAnswer,
    JumpStart,
)
from tests.fixtures.common import eventually
from tests.fixtures.technician import Technician
from tests.fixtures.unattended import installer_connection

HOSTNAME = "acct-ws-07"
ANSWERED_BY = "carol"


class InstalledAgent:
    """An installed agent on the control channel: it enrols, answers the heartbeat, lets carol
    allow a jump, and notes the server's uninstall."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.connection = installer_connection(token, HOSTNAME, os="Debian GNU/Linux 12 (bookworm)")
        self.device_id = 0
        self.jumps: list[int] = []
        self.uninstalled = False

    async def enrol(self) -> ClientConnection:
        self.connection.start()
        ws = await connect(self.url, ping_interval=None, compression=None)
        while not self.device_id:
            for frame in self.connection.data_to_send():
                await ws.send(frame)
            for event in self.connection.receive(await ws.recv()):
                assert not isinstance(event, control.RefusedByServer), event
                if isinstance(event, control.Established):
                    self.device_id = event.device_id
        return ws

    async def live(self, ws: ClientConnection) -> None:
        async for frame in ws:
            for event in self.connection.receive(frame):
                if isinstance(event, control.JumpCommanded) and isinstance(
                    event.message, JumpStart
                ):
                    self.jumps.append(event.message.session_id)
                    self.connection.send_jump_answer(
                        JumpAnswer(
                            type="jump_answer",
                            session_id=event.message.session_id,
                            outcome="allowed",
                            user=ANSWERED_BY,
                            desktop="user",
                        )
                    )
                elif isinstance(event, control.UninstallRequested):
                    self.uninstalled = True
            for out in self.connection.data_to_send():
                await ws.send(out)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def audit_entries(admin: Technician, action: str) -> list[dict[str, Any]]:
    page = ok(admin.http.get("/api/v1/audit", params={"action": action, "limit": 50}))
    return list(page["items"])


def one_entry(admin: Technician, action: str) -> dict[str, Any]:
    entries = eventually(
        lambda: audit_entries(admin, action), timeout=30, what=f"'{action}' in the audit log"
    )
    assert len(entries) == 1, entries
    return entries[0]


async def unattended_day(admin: Technician, url: str) -> tuple[int, int, dict[str, Any]]:
    accounting = ok(admin.post("/api/v1/device-groups", json={"name": "Accounting"}), 201)["id"]
    warehouse = ok(admin.post("/api/v1/device-groups", json={"name": "Warehouse"}), 201)["id"]
    issued = ok(
        admin.post(
            "/api/v1/installers",
            json={"company": "Acme Books", "device_group_id": accounting, "max_installations": 5},
        ),
        201,
    )
    agent = InstalledAgent(url, issued["token"])
    ws = await agent.enrol()
    living = asyncio.create_task(agent.live(ws))
    try:
        ok(admin.http.put(f"/api/v1/jump-policies/groups/{accounting}", json={"prompt": "ask"}))
        session = ok(admin.post(f"/api/v1/devices/{agent.device_id}/jump", json={}), 201)
        await asyncio.to_thread(
            eventually,
            lambda: (
                ok(admin.http.get(f"/api/v1/devices/{agent.device_id}/jump"))["open_session_id"]
                == session["id"]
                and agent.jumps == [session["id"]]
            ),
            30,
            "the agent to be asked about the jump",
        )
        await asyncio.to_thread(
            eventually,
            lambda: audit_entries(admin, "jump.allowed"),
            30,
            "carol's answer to reach the server",
        )
        ok(admin.post(f"/api/v1/sessions/{session['id']}/end"))
        ok(
            admin.http.patch(
                f"/api/v1/devices/{agent.device_id}", json={"device_group_id": warehouse}
            )
        )
        deleted = ok(admin.http.delete(f"/api/v1/devices/{agent.device_id}"))
        assert deleted["uninstall"] == "sent_now", deleted
        await asyncio.to_thread(
            eventually, lambda: agent.uninstalled, 30, "the uninstall to reach the agent"
        )
    finally:
        living.cancel()
        await ws.close()
    groups = {"accounting": accounting, "warehouse": warehouse}
    return agent.device_id, session["id"], {"installer": issued["installer"]["id"], **groups}


def test_unattended_actions_are_in_the_audit_log(relaydesk_server: Any) -> None:
    admin = Technician(relaydesk_server).sign_in_first_time()
    me = relaydesk_server.admin_email
    url = relaydesk_server.url.replace("http", "ws") + "/agent/ws"
    device_id, session_id, ids = asyncio.run(unattended_day(admin, url))
    device = f"device:{device_id}"

    created = one_entry(admin, "installer.created")
    assert created["actor_label"] == me
    assert created["target"] == f"installer:{ids['installer']}"
    assert created["details"]["device_group_id"] == ids["accounting"]

    installed = one_entry(admin, "installer.device_installed")
    assert installed["actor_label"] == f"agent on {HOSTNAME}"
    assert installed["target"] == device
    assert installed["details"]["installer_id"] == ids["installer"]

    started = one_entry(admin, "jump.started")
    assert started["actor_label"] == me
    assert started["target"] == f"session:{session_id}"
    assert started["details"]["device"] == HOSTNAME
    assert started["details"]["decision"] == "asking"

    allowed = one_entry(admin, "jump.allowed")  # the policy's decision and who answered
    assert allowed["actor_label"] == ANSWERED_BY
    assert allowed["target"] == f"session:{session_id}"
    assert allowed["details"]["device"] == HOSTNAME
    assert allowed["details"]["decision"] == "allowed_by_user"

    moved = one_entry(admin, "device.moved")
    assert moved["actor_label"] == me
    assert moved["target"] == device
    assert moved["details"]["hostname"] == HOSTNAME
    assert moved["details"]["from_group_id"] == ids["accounting"]

    deleted = one_entry(admin, "device.deleted")
    assert deleted["actor_label"] == me
    assert deleted["target"] == device
    assert deleted["details"]["uninstall"] == "sent now"

    uninstall = one_entry(admin, "device.uninstall_sent")
    assert uninstall["target"] == device
    assert uninstall["details"]["hostname"] == HOSTNAME

    # In the order they happened.
    order = [created, installed, started, allowed, moved, deleted]
    assert [entry["seq"] for entry in order] == sorted(entry["seq"] for entry in order)
