"""Scope through the whole product (GOV-3, SEC-3; issue 11, defect 18): the real server and real
agents. A technician whose role reaches only the Berlin device group sits in the team that gets a
customer's computer outside that group: he cannot accept it, open a shell or files tunnel to it,
ask for its screen or system information, and his console WebSocket delivers nothing about it,
while an all-devices administrator works the same session. Before the fix he could do all of it.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from typing import Any

import httpx

from tests.fixtures.agents import AGENT
from tests.fixtures.technician import Technician, next_event, scoped_technician


def agent(server: Any, key: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [AGENT, "--server", server.url, "--key", key],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def mentions(message: dict[str, Any], session_id: int) -> bool:
    """Whether a console message says anything about the session: an event, an arrival, a card
    in one of the queues."""
    cards = [message["session"]] if "session" in message else []
    if "queue" in message:
        queue = message["queue"]
        cards += queue["personal"] + queue["mine"]
        cards += [card for team in queue["teams"] for card in team["sessions"]]
    return message.get("session_id") == session_id or session_id in {c["id"] for c in cards}


def test_a_scoped_technician_reaches_nothing_outside_his_groups(relaydesk_server: Any) -> None:
    admin = Technician(relaydesk_server).sign_in_first_time()
    http = admin.http
    berlin = http.post("/api/v1/device-groups", json={"name": "Berlin"}).json()["id"]
    tom = scoped_technician(admin, relaydesk_server, "tom@demo.test", berlin)
    tom_id = tom.http.get("/api/v1/me").json()["id"]
    admin_id = http.get("/api/v1/me").json()["id"]
    team = http.post("/api/v1/teams", json={"name": "Desk", "member_ids": [tom_id, admin_id]})
    assert team.status_code == 201, team.text
    # An issue type that names no group: its customers' computers are in no group.
    issue_type = http.post(
        "/api/v1/issue-types", json={"name": "Printer", "team_id": team.json()["id"]}
    ).json()
    [portal] = http.get("/api/v1/portals").json()

    agents = []
    try:
        with tom.console() as tom_console, admin.console() as admin_console:
            next_event(tom_console, "queue")
            next_event(admin_console, "queue")
            start = httpx.post(
                f"{relaydesk_server.url}/api/v1/portal/issues",
                json={
                    "portal": portal["slug"],
                    "issue_type_id": issue_type["id"],
                    "customer_name": "Maria",
                },
            )
            assert start.status_code == 200, start.text
            agents.append(agent(relaydesk_server, start.json()["key"]))
            arrival = next_event(admin_console, "notification")
            sid = arrival["session"]["id"]

            # Everything Tom tries on the session answers as if it did not exist.
            waiting = {
                "get": tom.http.get(f"/api/v1/sessions/{sid}"),
                "accept": tom.post(f"/api/v1/sessions/{sid}/accept"),
            }
            answers = {n: (r.status_code, r.json().get("code")) for n, r in waiting.items()}
            assert answers == {name: (404, "session_not_found") for name in waiting}
            assert admin.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
            tried = {
                "shell": tom.post(f"/api/v1/sessions/{sid}/shell/tunnel"),
                "files": tom.post(f"/api/v1/sessions/{sid}/files/tunnel"),
                "screen": tom.post(f"/api/v1/sessions/{sid}/screen/request", json={"mode": "view"}),
                "sysinfo": tom.post(f"/api/v1/sessions/{sid}/sysinfo"),
                "chat": tom.post(f"/api/v1/sessions/{sid}/chat", json={"text": "hi"}),
                "end": tom.post(f"/api/v1/sessions/{sid}/end"),
            }
            answers = {n: (r.status_code, r.json().get("code")) for n, r in tried.items()}
            assert answers == {name: (404, "session_not_found") for name in tried}
            assert arrival["session"]["device"]["device_group_id"] is None

            # The administrator, whose roles reach every device, works the same session: the
            # agent is there, tunnels open, and the console events are published.
            assert admin.post(f"/api/v1/sessions/{sid}/shell/tunnel").status_code == 201
            assert (
                admin.post(f"/api/v1/sessions/{sid}/chat", json={"text": "Hi"}).status_code == 201
            )
            assert admin.post(f"/api/v1/sessions/{sid}/sysinfo").status_code == 202
            assert next_event(admin_console, "session.sysinfo")["session_id"] == sid

            # Then a customer in Berlin, with a key Tom makes for that group: everything the
            # server published before it has gone through Tom's console by the time it arrives.
            key = tom.http.post(
                "/api/v1/session-keys", json={"validity_minutes": 15, "device_group_id": berlin}
            )
            assert key.status_code == 201, key.text
            agents.append(agent(relaydesk_server, key.json()["key"]))
            seen = []
            while True:
                message = json.loads(tom_console.recv(timeout=30))
                seen.append(message)
                if message["type"] == "notification":
                    break
            assert not [m for m in seen if mentions(m, sid)], seen
            berlin_sid = message["session"]["id"]
            assert message["session"]["device"]["device_group_id"] == berlin
            assert tom.post(f"/api/v1/sessions/{berlin_sid}/accept").status_code == 200
            assert tom.post(f"/api/v1/sessions/{berlin_sid}/shell/tunnel").status_code == 201

            for session_id, technician in ((sid, admin), (berlin_sid, tom)):
                ended = technician.post(f"/api/v1/sessions/{session_id}/end")
                assert ended.status_code == 200, ended.text
            for process in agents:
                assert process.wait(30) == 0
    finally:
        for process in agents:
            process.kill()

    # On disk: nothing on the session was done in Tom's name, all of it in the administrator's.
    with sqlite3.connect(relaydesk_server.data_dir / "relaydesk.sqlite3") as db:
        events = db.execute(
            "SELECT kind, actor_label FROM session_events WHERE session_id = ?", (sid,)
        ).fetchall()
        audited = db.execute(
            "SELECT action, actor_label FROM audit_entries WHERE target = ?", (f"session:{sid}",)
        ).fetchall()
    assert ("shell.opened", relaydesk_server.admin_email) in events
    assert all(label != "tom@demo.test" for _, label in events + audited), (events, audited)
