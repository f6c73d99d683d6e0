"""A burst of tunnel set-ups (issue 15 item 5): a technician's console opens shells and file
managers many at a time on a real server with a real agent. Each opening the server answered has
its session event and its audit entry, the audit chain is intact (`relaydesk audit verify`), and
the agent was told of every tunnel. The openings are written by a group commit
(domain/tool_openings.py): many per transaction, the chain extended in order inside it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import websockets

from relaydesk.protocol import bearer
from tests.fixtures.agents import start_agent
from tests.fixtures.files_client import FilesClient
from tests.fixtures.technician import Technician

BURST = 48  # answered concurrently: shells and file managers alternating


async def open_all(technician: Technician, session_id: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(
        base_url=str(technician.http.base_url),
        cookies=technician.http.cookies,
        headers={"x-csrf-token": technician.http.headers["x-csrf-token"]},
        timeout=120,
        limits=httpx.Limits(max_connections=BURST),
    ) as http:
        tools = ["shell", "files"] * (BURST // 2)
        return list(
            await asyncio.gather(
                *(http.post(f"/api/v1/sessions/{session_id}/{tool}/tunnel") for tool in tools)
            )
        )


@pytest.mark.parametrize(
    "relaydesk_server",
    [{}, pytest.param({"database": "postgresql"}, marks=pytest.mark.postgres)],
    indirect=True,
)
def test_every_tunnel_of_a_burst_is_audited_in_an_intact_chain(relaydesk_server: Any) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    key = technician.new_key()
    agent = start_agent(relaydesk_server.url, key)
    try:
        session_id = technician.wait_for_waiting_session(timeout=60)["id"]
        assert technician.post(f"/api/v1/sessions/{session_id}/accept").status_code == 200

        answers = asyncio.run(open_all(technician, session_id))

        assert [a.status_code for a in answers] == [201] * BURST, [a.text for a in answers]
        tunnels = {a.json()["tunnel_id"] for a in answers}
        assert len(tunnels) == BURST
        # The agent was told of the tunnels (a tunnel's token lasts 15 s): every file manager of
        # the burst lists the device's folders.
        base = relaydesk_server.url.replace("http://", "ws://")
        files = [a.json() for a in answers if "upload" in a.json()]
        assert len(files) == BURST // 2
        asyncio.run(list_roots(base, files))
        audited = technician.http.get("/api/v1/audit", params={"limit": 500}).json()["items"]
        opened = [e for e in audited if e["action"] in ("shell.opened", "files.opened")]
        assert sorted(e["details"]["tunnel"] for e in opened) == sorted(tunnels)
        assert {e["target"] for e in opened} == {f"session:{session_id}"}
        # The chain: consecutive numbers, each entry linked to the one before (verify checks).
        numbers = sorted(e["seq"] for e in audited)
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        verified = relaydesk_server.run("audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "Audit log intact" in verified.stdout
        report = technician.http.get(f"/api/v1/reports/sessions/{session_id}").json()
        events = [e for e in report["events"] if e["kind"] in ("shell.opened", "files.opened")]
        assert sorted(e["details"]["tunnel"] for e in events) == sorted(tunnels)
    finally:
        agent.terminate()
        agent.communicate(timeout=30)


async def list_roots(base: str, tunnels: list[dict[str, Any]]) -> None:
    async def one(tunnel: dict[str, Any]) -> None:
        subprotocols = bearer.offered(tunnel["token"])
        async with websockets.connect(base + tunnel["path"], subprotocols=subprotocols) as ws:
            assert await asyncio.wait_for(FilesClient(ws).roots(), 60)

    await asyncio.gather(*(one(tunnel) for tunnel in tunnels))
