"""Devices are the identity: the real agent against the real server. The device an agent enrolled
stays the same when the agent comes back, presence and commands follow the device, and the device
lists its sessions (GET /devices/{id}/sessions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.agents import finish, start_agent
from tests.fixtures.common import eventually
from tests.fixtures.technician import Technician, next_event


@pytest.fixture
def technician(relaydesk_server: Any) -> Technician:
    return Technician(relaydesk_server).sign_in_first_time()


def history(technician: Technician, device_id: int) -> dict[str, Any]:
    response = technician.http.get(f"/api/v1/devices/{device_id}/sessions")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_device_stays_the_identity_across_a_reconnection(
    technician: Technician, relaydesk_server: Any, tmp_path: Path
) -> None:
    agent_tmp = tmp_path / "agent-tmp"
    agent_tmp.mkdir()
    key = technician.new_key()
    first = start_agent(relaydesk_server.url, key, tmpdir=agent_tmp)
    second = None
    try:
        waiting = technician.wait_for_waiting_session()
        sid, device_id = waiting["id"], waiting["device"]["id"]
        assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
        online = eventually(
            lambda: (h := history(technician, device_id))["online"] and h,
            what="the device shows online while its agent is connected",
        )
        assert online["kind"] == "temporary" and online["removed_at"] is None
        assert [(s["id"], s["status"]) for s in online["sessions"]] == [(sid, "active")]

        first.kill()  # the link drops without a goodbye
        first.wait(10)
        eventually(
            lambda: not history(technician, device_id)["online"],
            what="the device shows offline once its agent is gone",
        )
        assert technician.http.get(f"/api/v1/sessions/{sid}").json()["agent_connected"] is False

        second = start_agent(relaydesk_server.url, key, tmpdir=agent_tmp)
        eventually(
            lambda: history(technician, device_id)["online"],
            what="the same device comes back online with the new agent process",
        )
        detail = technician.http.get(f"/api/v1/sessions/{sid}").json()
        assert detail["session"]["device"]["id"] == device_id
        assert detail["agent_connected"] is True
        assert technician.queue()["personal"] == []  # no second device, no second session

        # A command published for the device reaches the process now serving it.
        with technician.console() as console:
            assert technician.post(f"/api/v1/sessions/{sid}/sysinfo").status_code == 202
            assert next_event(console, "session.sysinfo")["session_id"] == sid

        # So does the end: the agent exits, and the temporary device goes with its session.
        assert technician.post(f"/api/v1/sessions/{sid}/end").status_code == 200
        code, output = finish(second)
        assert code == 0, output
        ended = eventually(
            lambda: (h := history(technician, device_id))["removed_at"] and h,
            what="the temporary device is removed with its session",
        )
    finally:
        first.kill()
        if second is not None:
            second.kill()
    assert ended["online"] is False
    assert [(s["id"], s["status"]) for s in ended["sessions"]] == [(sid, "ended")]
    assert ended["device"]["id"] == device_id


def test_a_device_nobody_reaches_is_not_found(technician: Technician) -> None:
    response = technician.http.get("/api/v1/devices/999999/sessions")
    assert response.status_code == 404
    assert response.json()["code"] == "device_not_found"
