"""Command shells through the whole product: real server, relay, agent and pty. Typed text runs
on the device, the terminal size follows the console, two shells live side by side, and with
recording on the session report holds an asciicast and a transcript."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets

from relaydesk.protocol import bearer, shell
from tests.fixtures.agents import start_agent
from tests.fixtures.technician import Technician


async def read_until(ws: Any, needle: bytes, within: float = 15) -> bytes:
    seen = b""
    async with asyncio.timeout(within):
        while needle not in seen:
            frame = shell.parse(await ws.recv())
            if isinstance(frame, shell.Data):
                seen += frame.payload
    return seen


def test_two_shells_with_resize_and_a_recording(relaydesk_server: Any) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    settings = technician.http.patch(
        "/api/v1/organisation/settings", json={"recording_enabled": True}
    )
    assert settings.status_code == 200
    key = technician.new_key()
    agent = start_agent(relaydesk_server.url, key)
    try:
        sid = technician.wait_for_waiting_session()["id"]
        technician.post(f"/api/v1/sessions/{sid}/accept")
        base = relaydesk_server.url.replace("http://", "ws://")

        async def scenario() -> None:
            first = technician.post(f"/api/v1/sessions/{sid}/shell/tunnel").json()
            second = technician.post(f"/api/v1/sessions/{sid}/shell/tunnel").json()
            async with (
                websockets.connect(
                    base + first["path"], subprotocols=bearer.offered(first["token"])
                ) as one,
                websockets.connect(
                    base + second["path"], subprotocols=bearer.offered(second["token"])
                ) as two,
            ):
                await one.send(shell.resize(100, 30))
                await one.send(shell.data(b"echo h\xc3\xa9llo; tput cols\r"))
                output = await read_until(one, b"100\r\n")
                assert "héllo".encode() in output
                await two.send(shell.resize(50, 20))
                await two.send(shell.data(b"tput cols; echo second-$((6*7))\r"))
                assert b"second-42" in await read_until(two, b"second-42")
                await one.send(shell.data(b"exit\r"))
                async with asyncio.timeout(15):
                    while True:
                        frame = shell.parse(await one.recv())
                        if isinstance(frame, shell.Exit):
                            assert frame.code == 0
                            break

        asyncio.run(scenario())

        report: dict[str, Any] = {}
        for _ in range(50):
            report = technician.http.get(f"/api/v1/reports/sessions/{sid}").json()
            if len(report["recordings"]) == 2:
                break
            asyncio.run(asyncio.sleep(0.2))
        # Both shells are recorded, each with its own size; find the first one by its transcript.
        assert len(report["recordings"]) == 2
        transcripts = {}
        for recording in report["recordings"]:
            assert recording["kind"] == "shell" and recording["output_bytes"] > 0
            base_url = f"/api/v1/reports/sessions/{sid}/recordings/{recording['id']}"
            transcripts[base_url] = technician.http.get(f"{base_url}/transcript").text
        [base_url] = [url for url, text in transcripts.items() if "echo héllo; tput cols" in text]
        transcript = transcripts[base_url]
        cast = technician.http.get(f"{base_url}/cast")
        assert cast.headers["content-type"].startswith("application/x-asciicast")
        lines = cast.text.splitlines()
        header = json.loads(lines[0])
        assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
        assert all(json.loads(line)[1] in ("o", "r") for line in lines[1:])
        assert "\x1b" not in transcript
        kinds = [e["kind"] for e in report["events"]]
        assert kinds.count("shell.opened") == 2 and "shell.recorded" in kinds
        technician.post(f"/api/v1/sessions/{sid}/end")
        assert agent.wait(30) == 0
    finally:
        agent.kill()


def test_shell_needs_the_permission(relaydesk_server: Any) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    http = technician.http
    viewer = http.post("/api/v1/users", json={"email": "v@demo.test", "name": "Viewer V"}).json()
    roles = {r["name"]: r["id"] for r in http.get("/api/v1/roles").json()}
    http.post(
        f"/api/v1/users/{viewer['user']['id']}/role-assignments", json={"role_id": roles["Viewer"]}
    )
    v = httpx.Client(base_url=relaydesk_server.url)
    password = viewer["initial_password"]
    v.post("/api/v1/auth/login", json={"email": "v@demo.test", "password": password})
    v.headers["x-csrf-token"] = v.cookies["relaydesk_csrf"]
    v.post(
        "/api/v1/me/password",
        json={"current_password": password, "new_password": "Viewer-Pass-1234"},
    )
    refused = v.post("/api/v1/sessions/1/shell/tunnel")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "You need the permission 'Command shell' to do this."
