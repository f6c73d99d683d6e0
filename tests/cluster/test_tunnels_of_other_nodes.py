"""A tool's tunnel on another node than the agent's link (two nodes behind HAProxy): what the
agent reports about the tunnel arrives on its own node, and commands about the session's tunnels
are carried out there; both must reach the tunnel whichever node owns it
(shared_state/tunnels.py).

- A file uploaded by a real agent through a files tunnel of the other node is in the session's
  events and the audit log, in the name of the technician (the console's transfer result;
  before: lost).
- Screen sharing stopped: the agent (the real control-channel state machine) is told to close
  the session's screen tunnels of both nodes (before: only those of its own node; the owner's
  relay also ends its pipe when sharing stops, relay/pipe.py, so this is the agent's side)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

import httpx
import websockets

from relaydesk.protocol import bearer, control, identity
from relaydesk.server.domain.tunnels import owner_of
from tests.cluster.nodes import device_holders
from tests.fixtures.agents import start_agent_logging
from tests.fixtures.attended import attended_hello
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


def test_file_reports_about_another_nodes_tunnel(cluster_factory: Any, tmp_path: Path) -> None:
    cluster: Cluster = cluster_factory(nodes=2)
    technician = Technician(cluster).sign_in_first_time()
    settings = technician.http.patch(
        "/api/v1/organisation/settings", json={"remote_support_enabled": True}
    )
    assert settings.status_code == 200, settings.text
    key = technician.new_key()
    agent = start_agent_logging(
        cluster.url, key, tmp_path / "agent.log", env={**os.environ, "TMPDIR": str(tmp_path)}
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

        assert technician.post(f"/api/v1/sessions/{sid}/end").status_code == 200
        assert agent.wait(30) == 0, (tmp_path / "agent.log").read_text()
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(10)


class WatchingAgent:
    """The real control channel's state machine with a session key, connected to one node: it
    answers pings and notes the tunnels it is told to close (it joins none)."""

    def __init__(self, node_url: str, key: str) -> None:
        self.url = node_url.replace("http://", "ws://") + "/agent/ws"
        self.device_key = identity.DeviceKey.generate()
        self.hello = attended_hello(
            key, "watching-agent", username="", agent_version="watching", device_key=self.device_key
        )
        self.welcomed = asyncio.Event()
        self.told_to_close: list[str] = []

    async def run(self) -> None:
        connection = control.AgentConnection(self.hello, self.device_key)
        connection.start()
        async with websockets.connect(self.url) as ws:
            for frame in connection.data_to_send():
                await ws.send(frame)
            async for frame in ws:
                for event in connection.receive(frame):
                    if isinstance(event, control.Established):
                        self.welcomed.set()
                    elif isinstance(event, control.TunnelClosing):
                        self.told_to_close.append(event.tunnel_id)
                for out in connection.data_to_send():
                    await ws.send(out)


def test_stopping_the_screen_closes_the_agents_tunnels_on_every_node(
    cluster_factory: Any,
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
    agent_node, other_node = cluster.nodes[0], cluster.nodes[1]
    agent = WatchingAgent(agent_node.url, key)

    def screen_tunnel(node_url: str, sid: int) -> str:
        opened = technician.http.post(f"{node_url}/api/v1/sessions/{sid}/screen/tunnel")
        assert opened.status_code == 201, opened.text
        return str(opened.json()["tunnel_id"])

    async def scenario() -> None:
        running = asyncio.create_task(agent.run())
        try:
            await asyncio.wait_for(agent.welcomed.wait(), 60)
            waiting = await asyncio.to_thread(technician.wait_for_waiting_session, 60)
            sid = waiting["id"]
            accepted = await asyncio.to_thread(technician.post, f"/api/v1/sessions/{sid}/accept")
            assert accepted.status_code == 200, accepted.text
            asked = await asyncio.to_thread(
                technician.post, f"/api/v1/sessions/{sid}/screen/request", json={"mode": "view"}
            )
            assert asked.status_code == 200, asked.text
            answered = await asyncio.to_thread(
                customer.post, "/api/v1/portal/session/screen/answer", json={"allow": True}
            )
            assert answered.is_success, answered.text
            here = await asyncio.to_thread(screen_tunnel, agent_node.url, sid)
            there = await asyncio.to_thread(screen_tunnel, other_node.url, sid)
            assert owner_of(here) == "n1" and owner_of(there) == "n2", (here, there)
            stopped = await asyncio.to_thread(
                technician.post, f"/api/v1/sessions/{sid}/screen/stop"
            )
            assert stopped.status_code == 200, stopped.text
            deadline = asyncio.get_running_loop().time() + 30
            while not {here, there} <= set(agent.told_to_close):
                assert not running.done(), "the agent's channel ended"
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(
                        f"told to close {agent.told_to_close}, not both {here} and {there}"
                    )
                await asyncio.sleep(0.1)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await running

    try:
        asyncio.run(scenario())
    finally:
        customer.close()
