"""/metrics on the real server, as Prometheus scrapes it: who may read it (a bearer token, an
address list, nobody when neither is set), and the figures moving while a real agent's shell
tunnel carries bytes and a guesser hits the key throttle."""

from __future__ import annotations

import asyncio
import re
import subprocess
from typing import Any

import httpx
import websockets

from relaydesk.protocol import bearer, shell
from tests.fixtures.agents import AGENT
from tests.fixtures.common import eventually
from tests.fixtures.technician import Technician

TOKEN = "scrape-token-0123456789abcdef"
SAMPLE = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def scrape(url: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{url}/metrics", headers=headers, timeout=30)


def figures(url: str) -> dict[str, float]:
    """name{labels but node} → value, from an authorised scrape."""
    answer = scrape(url, Authorization=f"Bearer {TOKEN}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found: dict[str, float] = {}
    for line in answer.text.splitlines():
        match = SAMPLE.match(line)
        if match is None:
            assert line.startswith("# "), line
            continue
        labels = ",".join(
            label for label in match["labels"].split(",") if not label.startswith("node=")
        )
        found[f"{match['name']}{{{labels}}}" if labels else match["name"]] = float(match["value"])
    return found


def wrong_key() -> str:
    return "000 000 000"


def test_metrics_need_the_token_and_move_with_a_real_tunnel(relaydesk_server_factory: Any) -> None:
    server = relaydesk_server_factory(
        env={"RELAYDESK_METRICS_TOKEN": TOKEN, "RELAYDESK_KEY_FAILURES_PER_WINDOW": "2"}
    )
    missing = scrape(server.url)
    assert missing.status_code == 401
    assert missing.json()["code"] == "metrics_token_required"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = scrape(server.url, Authorization="Bearer not-the-token")
    assert (wrong.status_code, wrong.json()["code"]) == (403, "metrics_token_wrong")
    in_url = httpx.get(f"{server.url}/metrics", params={"token": TOKEN})
    assert (in_url.status_code, in_url.json()["code"]) == (400, "token_in_url")
    assert TOKEN not in server.output()

    before = figures(server.url)
    assert before["relaydesk_agents_online"] == 0
    assert before["relaydesk_tunnels_open"] == 0
    assert before["relaydesk_relayed_bytes_total"] == 0
    assert before['relaydesk_sessions{state="active"}'] == 0
    assert before["relaydesk_event_delivery_lag_seconds"] >= 0

    technician = Technician(server).sign_in_first_time()
    agent = subprocess.Popen(
        [AGENT, "--server", server.url, "--key", technician.new_key()],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        sid = technician.wait_for_waiting_session(timeout=60)["id"]
        assert figures(server.url)['relaydesk_sessions{state="waiting"}'] == 1
        technician.post(f"/api/v1/sessions/{sid}/accept")
        eventually(
            lambda: figures(server.url)["relaydesk_agents_online"] == 1, 30, "the agent counted"
        )
        tunnel = technician.post(f"/api/v1/sessions/{sid}/shell/tunnel").json()
        url = server.url.replace("http://", "ws://") + tunnel["path"]

        async def a_shell() -> None:
            async with websockets.connect(url, subprotocols=bearer.offered(tunnel["token"])) as ws:
                await ws.send(shell.resize(80, 24))
                await ws.send(shell.data(b"echo metrics-$((6*7))\r"))
                seen = b""
                async with asyncio.timeout(30):
                    while b"metrics-42" not in seen:
                        frame = shell.parse(await ws.recv())
                        if isinstance(frame, shell.Data):
                            seen += frame.payload
                during = await asyncio.to_thread(figures, server.url)
                assert during["relaydesk_tunnels_open"] == 1
                assert during["relaydesk_tunnels_opened_total"] == 1
                assert during["relaydesk_tunnels_spliced_total"] == 1  # the lean path
                assert during["relaydesk_relayed_bytes_total"] >= len(seen)
                assert during['relaydesk_sessions{state="active"}'] == 1

        asyncio.run(a_shell())
        after = eventually(
            lambda: (f := figures(server.url))["relaydesk_tunnels_open"] == 0 and f,
            30,
            "the closed tunnel no longer open",
        )
        assert after["relaydesk_relayed_bytes_total"] > 0
    finally:
        agent.terminate()
        agent.wait(timeout=30)

    # A guesser of session keys: the third wrong key is refused by the throttle (429).
    codes = [
        httpx.post(f"{server.url}/api/v1/portal/keys", json={"key": wrong_key()}).status_code
        for _ in range(4)
    ]
    assert codes == [404, 404, 429, 429]
    assert figures(server.url)['relaydesk_throttle_hits_total{area="portal"}'] == 2


def test_metrics_by_address_list_and_off_by_default(relaydesk_server_factory: Any) -> None:
    allowed = relaydesk_server_factory(env={"RELAYDESK_METRICS_ALLOW": "127.0.0.0/8"})
    answer = scrape(allowed.url)
    assert answer.status_code == 200, answer.text
    assert "relaydesk_agents_online{" in answer.text

    elsewhere = relaydesk_server_factory(env={"RELAYDESK_METRICS_ALLOW": "192.0.2.0/24"})
    refused = scrape(elsewhere.url)
    assert (refused.status_code, refused.json()["code"]) == (403, "metrics_address_not_allowed")

    nobody = relaydesk_server_factory()
    off = scrape(nobody.url, Authorization="Bearer anything")
    assert (off.status_code, off.json()["code"]) == (403, "metrics_not_enabled")
