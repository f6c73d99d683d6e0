"""The relay between a console and an agent, on the real server: bytes cross both ways, tokens
work once, and the tunnel dies with the screen share. The agent here is the real control-channel
state machine with an echoing tool, so that the relay is tested apart from the RFB server."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest
import websockets

from relaydesk.protocol import bearer, control, identity
from tests.fixtures.attended import attended_hello
from tests.fixtures.technician import Technician


class EchoAgent:
    """Enrols with a session key and answers every tunnel by echoing its bytes reversed."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base.replace("http://", "ws://")
        self.device_key = identity.DeviceKey.generate()
        self.hello = attended_hello(
            key, "echo-agent", username="", agent_version="echo", device_key=self.device_key
        )
        self.tunnels: list[asyncio.Task[None]] = []
        self.input_policies: list[bool] = []

    async def run(self) -> None:
        connection = control.AgentConnection(self.hello, self.device_key)
        connection.start()
        async with websockets.connect(f"{self.base}/agent/ws") as ws:
            for frame in connection.data_to_send():
                await ws.send(frame)
            async for frame in ws:
                for event in connection.receive(frame):
                    if isinstance(event, control.TunnelRequested):
                        self.tunnels.append(asyncio.create_task(self.echo(event)))
                    elif isinstance(event, control.InputPolicyChanged):
                        self.input_policies.append(event.allowed)
                for out in connection.data_to_send():
                    await ws.send(out)

    async def echo(self, request: control.TunnelRequested) -> None:
        url = f"{self.base}/relay/{request.tunnel_id}"
        async with websockets.connect(url, subprotocols=bearer.offered(request.token)) as tunnel:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for message in tunnel:
                    assert isinstance(message, bytes)
                    await tunnel.send(message[::-1])


@pytest.fixture
def technician(relaydesk_server: Any) -> Technician:
    return Technician(relaydesk_server).sign_in_first_time()


def test_bytes_cross_the_relay_and_the_tunnel_dies_with_the_share(
    technician: Technician, relaydesk_server: Any
) -> None:
    key = technician.new_key()
    portal = httpx.post(f"{relaydesk_server.url}/api/v1/portal/keys", json={"key": key}).json()
    customer = {"x-customer-token": portal["customer_token"]}

    async def scenario() -> None:
        agent = EchoAgent(relaydesk_server.url, key)
        agent_task = asyncio.create_task(agent.run())
        try:
            session = await asyncio.to_thread(technician.wait_for_waiting_session)
            sid = session["id"]
            await asyncio.to_thread(technician.post, f"/api/v1/sessions/{sid}/accept")
            await asyncio.to_thread(
                technician.post, f"/api/v1/sessions/{sid}/screen/request", json={"mode": "control"}
            )
            async with httpx.AsyncClient(base_url=relaydesk_server.url) as http:
                answered = await http.post(
                    "/api/v1/portal/session/screen/answer", json={"allow": True}, headers=customer
                )
                assert answered.status_code == 204
            tunnel = (
                await asyncio.to_thread(technician.post, f"/api/v1/sessions/{sid}/screen/tunnel")
            ).json()
            url = relaydesk_server.url.replace("http://", "ws://") + tunnel["path"]
            offered = bearer.offered(tunnel["token"], "binary")
            async with websockets.connect(url, subprotocols=offered) as console:
                assert console.subprotocol == "binary"
                payload = bytes(range(256)) * 64
                await console.send(payload)
                assert await asyncio.wait_for(console.recv(), 10) == payload[::-1]

                with pytest.raises(websockets.InvalidStatus):
                    async with websockets.connect(url, subprotocols=offered):
                        pass  # the same token a second time

                async with httpx.AsyncClient(base_url=relaydesk_server.url) as http:
                    await http.post("/api/v1/portal/session/screen/stop", headers=customer)
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(console.recv(), 10)
            assert agent.input_policies[:1] == [True]
        finally:
            agent_task.cancel()

    asyncio.run(scenario())


def test_an_unknown_tunnel_is_refused(relaydesk_server: Any) -> None:
    async def attempt() -> None:
        url = relaydesk_server.url.replace("http://", "ws://") + "/relay/abcdefghij"
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(url, subprotocols=bearer.offered("nope")):
                pass

    asyncio.run(attempt())
