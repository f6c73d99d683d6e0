"""Both ends of the agents' control channel notice a peer that went silent (issue 13).

Once welcomed, the server keeps no timer per link: its one heartbeat task (server/agent_heartbeat)
pings every link each heartbeat and drops a link whose agent has been silent for three. Two
installed agents speak the real control protocol to a real server with a 2 s heartbeat: one
answers every ping, the other stops reading after its welcome. The silent one is dropped and its
device shows offline in the device list; the other stays connected and online all along.

The other way round, the real agent takes a server that hangs (SIGSTOP: its kernel still keeps
the connection up, so only the heartbeat can tell) for gone after three heartbeats and reconnects
once it answers again; both ends' sockets have the kernel's TCP keepalive on."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from relaydesk.protocol import control
from tests.fixtures.agents import start_agent
from tests.fixtures.common import eventually
from tests.fixtures.technician import Technician
from tests.fixtures.unattended import installer_connection

HEARTBEAT = 2


async def welcomed(url: str, token: str, hostname: str) -> tuple[ClientConnection, int, Any]:
    connection = installer_connection(token, hostname)
    connection.start()
    ws = await connect(url, ping_interval=None, compression=None)
    while True:
        for frame in connection.data_to_send():
            await ws.send(frame)
        for event in connection.receive(await ws.recv()):
            if isinstance(event, control.Established):
                return ws, event.device_id, connection
            assert not isinstance(event, control.RefusedByServer), event


async def answer_pings(ws: ClientConnection, connection: Any, pings: list[float]) -> None:
    async for frame in ws:
        connection.receive(frame)
        pings.append(time.monotonic())
        for out in connection.data_to_send():
            await ws.send(out)


async def dropped_when_silent(url: str, token: str, technician: Technician) -> list[float]:
    talking, talking_id, talking_connection = await welcomed(url, token, "answers-pings")
    silent, silent_id, _ = await welcomed(url, token, "goes-silent")
    pings: list[float] = []
    answering = asyncio.create_task(answer_pings(talking, talking_connection, pings))
    try:
        # The silent agent reads nothing (its socket's buffers take the pings): after three
        # heartbeats without a word the server drops it, and the device list says offline.
        await asyncio.to_thread(
            eventually,
            lambda: not device_online(technician, silent_id),
            HEARTBEAT * 10 + 30,
            "the silent agent's device to show offline",
        )
        # The server closed the connection: past the pings it had sent, the close.
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(30):
                async for _ in silent:
                    pass
                raise ConnectionClosed(None, None)
        # The agent that answers stayed, pinged all along, and is online.
        assert not answering.done(), "the agent that answers was dropped too"
        assert await asyncio.to_thread(device_online, technician, talking_id)
        return pings
    finally:
        answering.cancel()
        await talking.close()


def device_online(technician: Technician, device_id: int) -> bool:
    response = technician.http.get(f"/api/v1/devices/{device_id}")
    assert response.status_code == 200, response.text
    return bool(response.json()["online"])


@pytest.mark.parametrize(
    "relaydesk_server",
    [{"env": {"RELAYDESK_AGENT_HEARTBEAT_SECONDS": str(HEARTBEAT)}}],
    indirect=True,
)
def test_a_silent_agent_is_dropped_and_one_that_answers_stays(relaydesk_server: Any) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    response = technician.post(
        "/api/v1/installers", json={"company": "Silence", "max_installations": 2}
    )
    assert response.status_code == 201, response.text
    url = relaydesk_server.url.replace("http", "ws") + "/agent/ws"
    pings = asyncio.run(dropped_when_silent(url, response.json()["token"], technician))
    # Three silent heartbeats passed while the other agent answered a ping at each one.
    assert len(pings) >= 3, pings
    output = relaydesk_server.output()
    assert "silent for 6 s, dropped" in output
    # The agents' connections left no line each (no address, no path: nothing to read).
    assert "connection open" not in output and '"WebSocket /agent/ws" [accepted]' not in output


class Printed:
    """What a running agent has printed so far (read by a thread)."""

    def __init__(self, agent: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert agent.stdout is not None
        stdout = agent.stdout
        threading.Thread(target=lambda: self.lines.extend(stdout), daemon=True).start()

    def text(self) -> str:
        return "".join(self.lines)


def keepalive_timers(port: int) -> list[str]:
    """The kernel's timer on each end of the established connections to this port (ss -o's
    `timer:(keepalive,…)`; the whole line when there is no timer)."""
    shown = subprocess.run(
        ["ss", "-tnoH", "state", "established", f"( sport = :{port} or dport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split("timer:(", 1)[-1].split(",", 1)[0] for line in shown.splitlines()]


@pytest.mark.parametrize(
    "relaydesk_server",
    [{"env": {"RELAYDESK_AGENT_HEARTBEAT_SECONDS": str(HEARTBEAT)}}],
    indirect=True,
)
def test_the_agent_reconnects_when_the_server_hangs(relaydesk_server: Any, tmp_path: Path) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    agent = start_agent(relaydesk_server.url, technician.new_key(), tmpdir=tmp_path)
    technician.http.close()  # the agent's channel is then the server's one connection
    printed = Printed(agent)
    server = relaydesk_server.process.pid
    try:
        eventually(
            lambda: "Waiting for the technician" in printed.text(), 60, "the agent connected"
        )
        # Agent and server (the connection's two ends) both have the kernel watch it (ss shows
        # the keepalive timer whenever no data is in flight: not while a ping crosses).
        port = int(relaydesk_server.url.rsplit(":", 1)[1])
        eventually(
            lambda: keepalive_timers(port) == ["keepalive", "keepalive"],
            30,
            "the kernel's keepalive on both ends",
        )
        os.killpg(server, signal.SIGSTOP)
        try:
            eventually(
                lambda: "The server has been silent for 6 seconds; reconnecting." in printed.text(),
                HEARTBEAT * 10 + 30,
                "the agent to give the hung server up",
            )
        finally:
            os.killpg(server, signal.SIGCONT)
        eventually(
            lambda: "the session goes on." in printed.text(),
            120,
            "the agent back on the server once it answers",
        )
        assert agent.poll() is None, printed.text()
    finally:
        agent.kill()
        agent.wait(10)
