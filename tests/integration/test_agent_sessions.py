"""The real agent process against the real server process: enrolment with a session key, the
queue, system information, the end of the session, refusals, reconnection after a crash."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from relaydesk.protocol import control, identity
from relaydesk.protocol.messages import (
    Credential,
    DeviceFacts,
    Hello,
    ResumeCredential,
    SessionKeyCredential,
)
from tests.fixtures.agents import finish, start_agent
from tests.fixtures.common import eventually, free_port
from tests.fixtures.technician import Technician, next_event


@pytest.fixture
def technician(relaydesk_server: Any) -> Technician:
    return Technician(relaydesk_server).sign_in_first_time()


def test_attended_session_from_key_to_end(
    technician: Technician, relaydesk_server: Any, tmp_path: Path
) -> None:
    agent_tmp = tmp_path / "agent-tmp"  # the agent's private folder goes here, and must go
    agent_tmp.mkdir()
    key = technician.new_key()
    with technician.console() as console:
        next_event(console, "queue")
        agent = start_agent(relaydesk_server.url, key, tmpdir=agent_tmp)
        try:
            arrival = next_event(console, "notification")
            assert arrival["kind"] == "session_arrived"
            session = arrival["session"]
            assert session["device"]["hostname"] == socket.gethostname()
            assert session["status"] == "waiting"

            sid = session["id"]
            assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
            assert technician.post(f"/api/v1/sessions/{sid}/sysinfo").status_code == 202
            info = next_event(console, "session.sysinfo")["info"]
            assert info["hostname"] == socket.gethostname()
            assert info["memory"]["total_bytes"] > 0
            assert info["disks"] and info["network"] and info["processes"]["by_cpu"]
            assert info["os"]["system"] == "Linux"

            ended = technician.post(f"/api/v1/sessions/{sid}/end")
            assert ended.json()["session"]["status"] == "ended"
            code, output = finish(agent)
        finally:
            agent.kill()
    assert code == 0, output
    assert "ended the support session" in output
    work = [line for line in output.splitlines() if "relaydesk-agent-" in line]
    assert work == []  # the agent never printed its private folder; check it is gone instead:
    assert list(agent_tmp.iterdir()) == []
    report = technician.http.get(f"/api/v1/reports/sessions/{sid}").json()
    kinds = [e["kind"] for e in report["events"]]
    assert kinds[:2] == ["agent.connected", "session.accepted"]
    assert "sysinfo.viewed" in kinds and "session.ended" in kinds
    assert kinds[-1] == "agent.removed" and report["events"][-1]["details"] == {"cleaned_up": True}


def test_unknown_key_makes_the_agent_exit_with_the_reason(relaydesk_server: Any) -> None:
    code, output = finish(start_agent(relaydesk_server.url, "AAAA-BBBB-CCCC"))
    assert code == 2
    assert "This session key is not known" in output


def test_used_key_is_refused(technician: Technician, relaydesk_server: Any, tmp_path: Path) -> None:
    key = technician.new_key()
    (tmp_path / "this-computer").mkdir()
    (tmp_path / "another-computer").mkdir()
    first = start_agent(relaydesk_server.url, key, tmpdir=tmp_path / "this-computer")
    try:
        technician.wait_for_waiting_session()
        # On this computer the running agent's folder says so; on another the server refuses.
        code, output = finish(
            start_agent(relaydesk_server.url, key, tmpdir=tmp_path / "this-computer")
        )
        assert code == 1
        assert "already running on this computer" in output
        code, output = finish(
            start_agent(relaydesk_server.url, key, tmpdir=tmp_path / "another-computer")
        )
    finally:
        first.kill()
    assert code == 2
    assert "already been used" in output


def test_expired_key_is_refused(technician: Technician, relaydesk_server: Any) -> None:
    key = technician.new_key()
    with sqlite3.connect(relaydesk_server.data_dir / "relaydesk.sqlite3") as db:
        db.execute("UPDATE session_keys SET expires_at = '2000-01-01 00:00:00.000000'")
    code, output = finish(start_agent(relaydesk_server.url, key))
    assert code == 2
    assert "has expired" in output


def test_revoked_key_is_refused(technician: Technician, relaydesk_server: Any) -> None:
    key = technician.new_key()
    (outstanding,) = technician.http.get("/api/v1/session-keys").json()
    revoked = technician.http.post(f"/api/v1/session-keys/{outstanding['id']}/revoke")
    assert revoked.status_code == 204, revoked.text
    code, output = finish(start_agent(relaydesk_server.url, key))
    assert code == 2
    assert "was revoked by the technician" in output


def test_unreachable_server_is_retried_then_given_up(tmp_path: Path) -> None:
    port = free_port()
    code, output = finish(
        start_agent(f"http://127.0.0.1:{port}", "AAAA-BBBB-CCCC", "--give-up-after", "2")
    )
    assert code == 3
    assert output.count("Cannot reach the server") >= 2
    assert "giving up" in output


def test_protocol_version_mismatch_is_refused(relaydesk_server: Any) -> None:
    key = identity.DeviceKey.generate()
    hello = Hello(
        type="hello",
        protocol=99,
        agent_version="future",
        mode="attended",
        public_key=key.public_key_b64,
        credential=SessionKeyCredential(kind="session_key", key="AAAA-BBBB-CCCC"),
        device=DeviceFacts(hostname="h", os="Linux"),
    )

    async def talk() -> dict[str, Any]:
        url = relaydesk_server.url.replace("http", "ws") + "/agent/ws"
        async with websockets.connect(url) as ws:
            await ws.send(hello.model_dump_json())
            return dict(json.loads(await ws.recv()))

    answer = asyncio.run(talk())
    assert answer["type"] == "refused"
    assert answer["code"] == "protocol_mismatch"


def test_garbage_on_the_control_channel_gets_an_error_not_a_crash(relaydesk_server: Any) -> None:
    async def talk() -> list[dict[str, Any]]:
        url = relaydesk_server.url.replace("http", "ws") + "/agent/ws"
        async with websockets.connect(url) as ws:
            await ws.send("this is not json")
            return [json.loads(await ws.recv())]

    [answer] = asyncio.run(talk())
    assert answer == {
        "type": "refused",
        "code": "malformed_json",
        "message": "The frame is not valid JSON.",
    }
    import httpx

    assert httpx.get(f"{relaydesk_server.url}/api/v1/health").status_code == 200


def test_session_survives_a_server_crash(technician: Technician, relaydesk_server: Any) -> None:
    key = technician.new_key()
    agent = start_agent(relaydesk_server.url, key)
    try:
        sid = technician.wait_for_waiting_session()["id"]
        technician.post(f"/api/v1/sessions/{sid}/accept")
        technician.post(f"/api/v1/sessions/{sid}/chat", json={"text": "Before the crash ✓"})

        relaydesk_server.kill()
        relaydesk_server.start()
        technician.sign_in()

        deadline = time.monotonic() + 30
        kinds: list[str] = []
        while time.monotonic() < deadline:
            kinds = [
                e["kind"]
                for e in technician.http.get(f"/api/v1/reports/sessions/{sid}").json()["events"]
            ]
            if "agent.reconnected" in kinds:
                break
            time.sleep(0.2)
        assert "agent.reconnected" in kinds
        detail = technician.http.get(f"/api/v1/sessions/{sid}").json()
        assert detail["session"]["status"] == "active"
        assert [m["text"] for m in detail["chat"]] == ["Before the crash ✓"]

        with technician.console() as console:
            technician.post(f"/api/v1/sessions/{sid}/sysinfo")
            assert (
                next_event(console, "session.sysinfo")["info"]["hostname"] == socket.gethostname()
            )
        technician.post(f"/api/v1/sessions/{sid}/end")
        code, output = finish(agent)
    finally:
        agent.kill()
    assert code == 0, output
    assert "reconnecting" in output.lower() or "Cannot reach" in output


def test_key_link_is_emailed_through_smtp(relaydesk_server_factory: Any, smtp_server: Any) -> None:
    server = relaydesk_server_factory(env=smtp_server.settings_env())
    tech = Technician(server).sign_in_first_time()
    key = tech.new_key()
    response = tech.post(
        "/api/v1/session-keys/email", json={"key": key, "email": "maria@customer.test"}
    )
    assert response.status_code == 204, response.text
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "maria@customer.test"
    assert "Demo Administrator" in message["Subject"]
    body = message.get_content()
    slug = httpx.get(f"{server.url}/api/v1/portal").json()["portal_slug"]
    assert f"{server.url}/?portal={slug}#key={key}" in body
    assert key in body


def test_a_german_technicians_key_email_is_in_german(
    relaydesk_server_factory: Any, smtp_server: Any
) -> None:
    server = relaydesk_server_factory(env=smtp_server.settings_env())
    tech = Technician(server).sign_in_first_time()
    assert tech.http.patch("/api/v1/me", json={"language": "de"}).status_code == 200
    key = tech.new_key()
    response = tech.post(
        "/api/v1/session-keys/email", json={"key": key, "email": "maria@kunde.test"}
    )
    assert response.status_code == 204, response.text
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Ihre Support-Sitzung mit Demo Administrator"
    body = message.get_content()
    assert body.startswith("Guten Tag,")
    assert f"geben Sie den Sitzungsschlüssel {key} ein" in body
    assert "Hello" not in body and "valid until" not in body


def event_kinds(technician: Technician, sid: int) -> list[str]:
    report = technician.http.get(f"/api/v1/reports/sessions/{sid}").json()
    return [e["kind"] for e in report["events"]]


def private_folders(tmpdir: Path) -> list[Path]:
    """The agents' private folders under the TMPDIR they were given (one per key)."""
    users = tmpdir / f"relaydesk-agent-{os.getuid()}"
    return sorted(users.iterdir()) if users.exists() else []


def test_a_killed_agent_restarted_with_its_key_resumes_its_session(
    technician: Technician, relaydesk_server: Any, tmp_path: Path
) -> None:
    agent_tmp = tmp_path / "agent-tmp"
    agent_tmp.mkdir()
    key = technician.new_key()
    first = start_agent(relaydesk_server.url, key, tmpdir=agent_tmp)
    second = None
    try:
        sid = technician.wait_for_waiting_session()["id"]
        assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
        [folder] = eventually(
            lambda: [f for f in private_folders(agent_tmp) if (f / "enrolment").exists()],
            what="the agent keeps its enrolment in its private folder",
        )
        assert folder.stat().st_mode & 0o777 == 0o700
        assert (folder / "device.key").stat().st_mode & 0o777 == 0o600

        first.kill()  # SIGKILL: no chance to say goodbye or to clean up
        first.wait(10)
        eventually(
            lambda: "agent.disconnected" in event_kinds(technician, sid),
            what="the technician sees the agent disconnected",
        )
        assert private_folders(agent_tmp) == [folder]  # its key pair waits for the restart

        second = start_agent(relaydesk_server.url, key, tmpdir=agent_tmp)
        kinds = eventually(
            lambda: (k := event_kinds(technician, sid)) and "agent.reconnected" in k and k,
            what="the technician sees the agent reconnected to the same session",
        )
        assert kinds.index("agent.disconnected") < kinds.index("agent.reconnected")
        detail = technician.http.get(f"/api/v1/sessions/{sid}").json()["session"]
        assert detail["status"] == "active"
        assert technician.queue()["personal"] == []  # no second session was made
        with technician.console() as console:
            assert technician.post(f"/api/v1/sessions/{sid}/sysinfo").status_code == 202
            assert next_event(console, "session.sysinfo")["session_id"] == sid

        technician.post(f"/api/v1/sessions/{sid}/end")
        code, output = finish(second)
    finally:
        first.kill()
        if second is not None:
            second.kill()
    assert code == 0, output
    assert f"Coming back to session {sid}" in output
    assert "already been used" not in output
    assert private_folders(agent_tmp) == [] and list(agent_tmp.iterdir()) == []


def test_a_crashed_agents_folder_is_removed_at_the_next_start(
    technician: Technician, relaydesk_server: Any, tmp_path: Path
) -> None:
    agent_tmp = tmp_path / "agent-tmp"
    agent_tmp.mkdir()
    crashed = start_agent(relaydesk_server.url, technician.new_key(), tmpdir=agent_tmp)
    try:
        sid = technician.wait_for_waiting_session()["id"]
        [left_behind] = eventually(
            lambda: [f for f in private_folders(agent_tmp) if (f / "enrolment").exists()],
            what="the first agent's private folder",
        )
        crashed.kill()
        crashed.wait(10)
        assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
        technician.post(f"/api/v1/sessions/{sid}/end")  # its session ends without it
        assert left_behind.exists()

        running = start_agent(relaydesk_server.url, technician.new_key(), tmpdir=agent_tmp)
        try:
            [own] = eventually(
                lambda: (
                    (found := private_folders(agent_tmp)) and left_behind not in found and found
                ),
                what="the new agent's folder in place of the crashed one's",
            )
            assert own != left_behind and not left_behind.exists()
        finally:
            running.kill()
    finally:
        crashed.kill()


def establish(ws: Any, key: identity.DeviceKey, credential: Credential) -> control.Established:
    """The agent's side of the handshake, by the protocol's own machine, over a sync socket."""
    hello = Hello(
        type="hello",
        protocol=1,
        agent_version="test",
        mode="attended",
        public_key=key.public_key_b64,
        credential=credential,
        device=DeviceFacts(hostname="returning-pc", os="Linux"),
    )
    connection = control.AgentConnection(hello, key)
    connection.start()
    while True:
        for frame in connection.data_to_send():
            ws.send(frame)
        for event in connection.receive(ws.recv(timeout=30)):
            assert not isinstance(event, control.RefusedByServer), event
            if isinstance(event, control.Established):
                return event


def test_a_link_left_behind_does_not_mark_a_returned_agent_disconnected(
    technician: Technician, relaydesk_server: Any
) -> None:
    """An agent whose network went away comes back on a new link before the server gave up on
    the old one; when the old one ends, the agent is still there (no 'disconnected')."""
    from websockets.sync.client import connect

    url = relaydesk_server.url.replace("http://", "ws://") + "/agent/ws"
    key = identity.DeviceKey.generate()
    with connect(url) as second:
        with connect(url) as first:
            welcome = establish(
                first, key, SessionKeyCredential(kind="session_key", key=technician.new_key())
            )
            back = ResumeCredential(
                kind="resume", device_id=welcome.device_id, session_id=welcome.session_id
            )
            establish(second, key, back)
        sid = welcome.session_id
        eventually(
            lambda: (
                "(the agent is back on another link)" in relaydesk_server.output()
                or "agent.disconnected" in event_kinds(technician, sid)
            ),
            what="the server saw the old link end",
        )
        assert "agent.disconnected" not in event_kinds(technician, sid)
    kinds = eventually(
        lambda: (k := event_kinds(technician, sid)) and "agent.disconnected" in k and k,
        what="the agent's last link ending is seen",
    )
    assert kinds == ["agent.connected", "agent.reconnected", "agent.disconnected"]


def test_an_agent_killed_before_it_kept_its_welcome_resumes_with_its_key(
    technician: Technician, relaydesk_server: Any, tmp_path: Path
) -> None:
    """Killed between its proof and keeping the welcome: the server used the key, the agent kept
    only its key pair. Restarted, it presents the key again with that key pair and resumes."""
    from websockets.sync.client import connect

    from relaydesk.agent.private_folder import folder_name

    agent_tmp = tmp_path / "agent-tmp"
    agent_tmp.mkdir()
    key = technician.new_key()
    device_key = identity.DeviceKey.generate()
    url = relaydesk_server.url.replace("http://", "ws://") + "/agent/ws"
    with connect(url) as ws:  # the agent's first life: enrolled, then gone
        welcome = establish(ws, device_key, SessionKeyCredential(kind="session_key", key=key))
    sid = welcome.session_id
    folder = agent_tmp / f"relaydesk-agent-{os.getuid()}" / folder_name(url, key)
    folder.mkdir(parents=True, mode=0o700)
    (folder / "device.key").write_bytes(device_key.private_bytes())
    folder.parent.chmod(0o700)

    agent = start_agent(relaydesk_server.url, key, tmpdir=agent_tmp)
    try:
        eventually(
            lambda: "agent.reconnected" in event_kinds(technician, sid),
            what="the restarted agent is back in its session",
        )
        assert technician.post(f"/api/v1/sessions/{sid}/end").status_code == 200
        code, output = finish(agent)
    finally:
        agent.kill()
    assert code == 0, output
    assert f"(session {sid})" in output and "already been used" not in output
    # Someone else with the used key (another key pair) is still refused.
    code, output = finish(start_agent(relaydesk_server.url, key, tmpdir=agent_tmp))
    assert code == 2 and "already been used" in output
