"""Three nodes behind HAProxy, one product: a technician's consoles on each node see a real agent
that came in through HAProxy arrive live, chat reaches all of them, the agent answers commands
whichever node asked, and shells opened through any node run on the device and are recorded,
their recordings readable through every node."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cluster.nodes import console_on, device_holders, events_until, run_in_shell
from tests.fixtures.agents import finish, start_agent
from tests.fixtures.cluster import Cluster
from tests.fixtures.common import eventually
from tests.fixtures.technician import Technician


def test_consoles_agent_and_shells_on_different_nodes(cluster: Cluster, tmp_path: Path) -> None:
    technician = Technician(cluster).sign_in_first_time()
    settings = technician.http.patch(
        "/api/v1/organisation/settings",
        json={"remote_support_enabled": True, "recording_enabled": True},
    )
    assert settings.status_code == 200, settings.text
    consoles = [console_on(technician, node.url) for node in cluster.nodes]
    agent: subprocess.Popen[str] | None = None
    try:
        for console in consoles:
            events_until(console, lambda e: e["type"] == "queue")
        key = technician.new_key()
        agent = start_agent(cluster.url, key, tmpdir=tmp_path)

        # Each node's console hears of the arrival, whichever node the agent is on.
        arrivals = [
            events_until(console, lambda e: e.get("kind") == "session_arrived")
            for console in consoles
        ]
        session = arrivals[0]["session"]
        assert {a["session"]["id"] for a in arrivals} == {session["id"]}
        sid, device_id = session["id"], session["device"]["id"]
        (agent_node,) = eventually(
            lambda: device_holders(cluster, device_id), 30, "one node holds the agent's link"
        )

        accepted = technician.post(f"/api/v1/sessions/{sid}/accept")
        assert accepted.status_code == 200, accepted.text
        said = technician.post(f"/api/v1/sessions/{sid}/chat", json={"text": "Bonjour, 你好"})
        assert said.status_code == 201, said.text
        for console in consoles:
            line = events_until(console, lambda e: e["type"] == "session.chat")
            assert (line["session_id"], line["text"]) == (sid, "Bonjour, 你好")

        # A command reaches the agent's node whichever node the request landed on.
        for _ in range(3):
            assert technician.post(f"/api/v1/sessions/{sid}/sysinfo").status_code == 202
            info = events_until(consoles[0], lambda e: e["type"] == "session.sysinfo")["info"]
            assert info["os"]["system"] == "Linux"

        # Shells through tunnels owned by each node in turn (round-robin), the agent elsewhere.
        owners: list[str] = []
        for n in range(9):
            owners.append(run_in_shell(technician, cluster, sid, f"echo shell-{n}"))
            if set(owners) == {"n1", "n2", "n3"}:
                break
        assert set(owners) == {"n1", "n2", "n3"}, owners
        assert any(owner != agent_node for owner in owners)

        def recorded() -> list[dict[str, object]] | None:
            report = technician.http.get(f"/api/v1/reports/sessions/{sid}").json()
            found = report["recordings"]
            return found if len(found) == len(owners) else None

        recordings = eventually(recorded, 30, "every shell recorded")
        for recording in recordings:
            url = f"/api/v1/reports/sessions/{sid}/recordings/{recording['id']}/transcript"
            # Read through HAProxy three times: each node reads what the owner wrote.
            texts = {technician.http.get(url).text for _ in range(3)}
            assert len(texts) == 1
            (text,) = texts
            assert "done-42" in text
        assert technician.post(f"/api/v1/sessions/{sid}/end").status_code == 200
        code, output = finish(agent)
        assert code == 0, output
    finally:
        for console in consoles:
            console.close()
        if agent is not None:
            agent.kill()
