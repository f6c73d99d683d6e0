"""A tool's tunnel on another node than the agent's link (two nodes behind HAProxy, a real agent
on an X display): what the agent reports about the tunnel arrives on its own node, and commands
about the session's tunnels are carried out there; both must reach the tunnel whichever node
owns it (shared_state/tunnels.py).

- A file uploaded through a files tunnel of the other node is in the session's events and the
  audit log, in the name of the technician (the console's transfer result; before: lost).
- Screen sharing stopped: the screen tunnel of the other node closes (before: left open)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.sync.client import connect

from relaydesk.protocol import bearer
from relaydesk.server.domain.tunnels import owner_of
from tests.cluster.nodes import console_on, device_holders, events_until
from tests.fixtures.agents import start_agent_logging
from tests.fixtures.cluster import Cluster
from tests.fixtures.common import eventually
from tests.fixtures.files_client import FilesClient, random_file, sha256_of
from tests.fixtures.technician import Technician


def _tunnel_elsewhere(technician: Technician, sid: int, tool: str, agent_node: str) -> Any:
    """A tunnel for `tool` issued by another node than the agent's (round-robin: a few tries)."""
    for _ in range(8):
        opened = technician.post(f"/api/v1/sessions/{sid}/{tool}/tunnel")
        assert opened.status_code == 201, opened.text
        tunnel = opened.json()
        if owner_of(tunnel["tunnel_id"]) != agent_node:
            return tunnel
    raise AssertionError(f"every {tool} tunnel was issued by the agent's node {agent_node}")


def _events(technician: Technician, sid: int, kind: str) -> list[dict[str, Any]]:
    report = technician.http.get(f"/api/v1/reports/sessions/{sid}").json()
    return [event for event in report["events"] if event["kind"] == kind]


def test_tunnels_on_another_node_than_the_agents(
    cluster_factory: Any, xvfb_display: Any, tmp_path: Path
) -> None:
    cluster: Cluster = cluster_factory(nodes=2)
    technician = Technician(cluster).sign_in_first_time()
    settings = technician.http.patch(
        "/api/v1/organisation/settings", json={"remote_support_enabled": True}
    )
    assert settings.status_code == 200, settings.text
    key = technician.new_key()
    entered = httpx.post(f"{cluster.url}/api/v1/portal/keys", json={"key": key})
    assert entered.status_code == 200, entered.text
    customer = httpx.Client(
        base_url=cluster.url, headers={"x-customer-token": entered.json()["customer_token"]}
    )
    agent = start_agent_logging(
        cluster.url, key, tmp_path / "agent.log", env={**xvfb_display.env, "TMPDIR": str(tmp_path)}
    )
    try:
        sid = technician.wait_for_waiting_session(timeout=60)["id"]
        assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
        device_id = technician.http.get(f"/api/v1/sessions/{sid}").json()["session"]["device"]["id"]
        (agent_node,) = eventually(lambda: device_holders(cluster, device_id), 30, "agent's node")

        # 1. A file uploaded through another node's files tunnel.
        tunnel = _tunnel_elsewhere(technician, sid, "files", agent_node)
        source = random_file(tmp_path / "report.bin", 300_000)
        target = tmp_path / "uploaded.bin"

        async def upload() -> None:
            async with websockets.connect(
                cluster.url.replace("http://", "ws://") + tunnel["path"],
                subprotocols=bearer.offered(tunnel["token"]),
                max_size=None,
            ) as ws:
                done = await FilesClient(ws).upload(source, str(target))
                assert not isinstance(done, int) and done.sha256 == sha256_of(source)

        asyncio.run(upload())
        assert sha256_of(target) == sha256_of(source)
        (uploaded,) = eventually(
            lambda: _events(technician, sid, "file.uploaded"), 30, "the upload in the session"
        )
        assert uploaded["details"]["tunnel"] == tunnel["tunnel_id"], uploaded
        assert uploaded["details"]["sha256"] == sha256_of(source)
        audit = technician.http.get("/api/v1/audit", params={"action": "file.uploaded"}).json()
        assert [entry["details"]["path"] for entry in audit["items"]] == [str(target)], audit

        # 2. Screen sharing on another node's tunnel, then stopped: that tunnel closes.
        console = console_on(technician, cluster.url)
        try:
            asked = technician.post(f"/api/v1/sessions/{sid}/screen/request", json={"mode": "view"})
            assert asked.status_code == 200, asked.text
            answered = customer.post("/api/v1/portal/session/screen/answer", json={"allow": True})
            assert answered.is_success, answered.text
            events_until(console, lambda e: e["type"] == "session.screen" and e["state"] == "view")
        finally:
            console.close()
        screen = _tunnel_elsewhere(technician, sid, "screen", agent_node)
        with connect(
            cluster.url.replace("http://", "ws://") + screen["path"],
            subprotocols=bearer.offered(screen["token"]),
            open_timeout=15,
        ) as viewer:
            greeting = viewer.recv(timeout=30)  # the agent's VNC server speaks first
            assert bytes(greeting if isinstance(greeting, bytes) else greeting.encode()).startswith(
                b"RFB "
            )
            assert technician.post(f"/api/v1/sessions/{sid}/screen/stop").status_code == 200

            def closed() -> bool:
                try:
                    viewer.recv(timeout=0.5)
                except TimeoutError:
                    return False
                except websockets.ConnectionClosed:
                    return True
                return False

            eventually(closed, 30, "the screen tunnel on the other node closes")
        assert technician.post(f"/api/v1/sessions/{sid}/end").status_code == 200
        assert agent.wait(30) == 0, (tmp_path / "agent.log").read_text()
    finally:
        customer.close()
        if agent.poll() is None:
            agent.kill()
            agent.wait(10)
