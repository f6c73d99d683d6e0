"""Two real `relaydesk serve` nodes on one PostgreSQL database and one Redis, without a load
balancer: the test talks to each node directly, as two browsers or agents that landed on
different nodes would (issue 15 item 2). A technician signed in on node A sees live what an
agent connected to node B does and gets its system information; password guesses spread over
both nodes are counted together; a console that reconnects catches up what it missed; signing
out on one node closes the console on the other. Missing PostgreSQL or Redis: skipped, a
failure under CI=true (tests/fixtures/databases.py)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.fixtures.agents import start_agent
from tests.fixtures.cluster import Cluster
from tests.fixtures.common import artifacts_path, eventually
from tests.fixtures.server import SERVERS
from tests.fixtures.technician import Technician, next_event


@pytest.fixture
def two_nodes(
    request: pytest.FixtureRequest,
    postgres_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    """Nodes n1 (A) and n2 (B) of tests/fixtures/cluster.py, set up with `relaydesk init`,
    without HAProxy (none is started, none is needed)."""
    nodes = Cluster(
        2,
        postgres_url,
        redis_url,
        tmp_path_factory.mktemp("relaydesk-nodes"),
        artifacts_path(request.node.name),
        haproxy="haproxy (not started)",
    )
    request.node.stash.setdefault(SERVERS, []).extend(nodes.nodes)  # logs on failure
    try:
        nodes.initialise()
        nodes.start_nodes()
        yield nodes
    finally:
        nodes.stop()


def node(cluster: Cluster, index: int) -> SimpleNamespace:
    """One node as Technician sees a server: its own address, the cluster's administrator."""
    return SimpleNamespace(
        url=cluster.nodes[index].url,
        admin_email=cluster.admin_email,
        admin_password=cluster.admin_password,
    )


def signed_in_on_a(cluster: Cluster) -> Technician:
    """The administrator signed in on node A, remote support turned on (it starts off)."""
    technician = Technician(node(cluster, 0)).sign_in_first_time()
    settings = technician.http.patch(
        "/api/v1/organisation/settings", json={"remote_support_enabled": True}
    )
    assert settings.status_code == 200, settings.text
    return technician


def on_node(technician: Technician, cluster: Cluster, index: int) -> Technician:
    """The same browser (its sign-in cookie) talking to another node."""
    other = Technician(node(cluster, index))
    other.http.cookies.update(technician.http.cookies)
    other.http.headers["x-csrf-token"] = technician.http.headers["x-csrf-token"]
    return other


def console(technician: Technician, after: str | None = None) -> ClientConnection:
    cookie = "; ".join(f"{k}={v}" for k, v in technician.http.cookies.items())
    url = technician.server.url.replace("http://", "ws://") + "/api/v1/console/ws"
    if after is not None:
        url += f"?after={after}"
    return connect(url, additional_headers={"Cookie": cookie}, open_timeout=10)


@pytest.fixture
def agent_holder() -> Iterator[list[subprocess.Popen[str]]]:
    agents: list[subprocess.Popen[str]] = []
    yield agents
    for agent in agents:
        agent.kill()
        agent.wait()


def device_events(feed: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    return [frame for frame in frames(feed, seconds) if frame["type"] == "device.online"]


def test_an_agent_on_node_b_is_live_on_node_a_and_answers_its_sysinfo(
    two_nodes: Cluster, agent_holder: list[subprocess.Popen[str]]
) -> None:
    on_a = signed_in_on_a(two_nodes)
    with console(on_a) as feed:
        assert next_event(feed, "queue")["queue"]["personal"] == []
        # The customer's agent is given node B's address: it connects there, not to A.
        agent_holder.append(start_agent(two_nodes.nodes[1].url, on_a.new_key()))
        online = next_event(feed, "device.online", 60)
        assert online["online"] is True
        session_id = on_a.wait_for_waiting_session(30)["id"]
        accepted = on_a.post(f"/api/v1/sessions/{session_id}/accept")
        assert accepted.status_code == 200, accepted.text
        # Node A asks; node B holds the agent's link and forwards the command; the answer
        # comes back to the console on A.
        asked = on_a.post(f"/api/v1/sessions/{session_id}/sysinfo")
        assert asked.status_code == 202, asked.text
        sysinfo = next_event(feed, "session.sysinfo", 60)
    assert sysinfo["session_id"] == session_id
    assert sysinfo["request_id"] == asked.json()["request_id"]
    assert sysinfo["info"]
    # Both nodes agree that the device is online (node A only hears it from Redis).
    device_id = online["device_id"]
    for index in (0, 1):
        device = on_node(on_a, two_nodes, index).http.get(f"/api/v1/devices/{device_id}")
        assert device.status_code == 200, device.text
        assert device.json()["online"] is True


def guesses_until_refused(nodes: list[httpx.Client], email: str, most: int = 30) -> int:
    """Wrong passwords for `email`, taking turns over `nodes`, until one is refused with 429:
    how many were answered 401 before."""
    for attempt in range(most):
        answer = nodes[attempt % len(nodes)].post(
            "/api/v1/auth/login", json={"email": email, "password": f"wrong-{attempt}"}
        )
        if answer.status_code == 429:
            assert answer.json()["code"] == "too_many_attempts", answer.text
            assert int(answer.headers["retry-after"]) > 0
            return attempt
        assert answer.status_code == 401, answer.text
    raise AssertionError(f"{most} wrong passwords for {email} and no lock-out")


def test_password_guesses_alternating_between_nodes_hit_the_lock_out_at_the_same_count(
    two_nodes: Cluster,
) -> None:
    a = httpx.Client(base_url=two_nodes.nodes[0].url, timeout=30)
    b = httpx.Client(base_url=two_nodes.nodes[1].url, timeout=30)
    on_one_node = guesses_until_refused([a], "mallory@example.com")
    spread = guesses_until_refused([a, b], "eve@example.com")
    assert on_one_node == spread == 10  # RELAYDESK_LOGIN_FAILURES_BEFORE_LOCKOUT's default
    # Locked on both nodes, whichever the next guess goes to.
    for client in (a, b):
        again = client.post(
            "/api/v1/auth/login", json={"email": "eve@example.com", "password": "wrong"}
        )
        assert again.status_code == 429, again.text


def frames(feed: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    """What the console received within `seconds` after the last frame."""
    got = []
    while True:
        try:
            got.append(json.loads(feed.recv(timeout=seconds)))
        except TimeoutError:
            return got


def stream_order(event_id: str) -> tuple[int, int]:
    millis, sequence = event_id.split("-")
    return int(millis), int(sequence)


def test_a_console_reconnecting_on_the_other_node_catches_up_what_it_missed(
    two_nodes: Cluster, agent_holder: list[subprocess.Popen[str]]
) -> None:
    on_a = signed_in_on_a(two_nodes)
    with console(on_a) as feed:
        agent_holder.append(start_agent(two_nodes.nodes[1].url, on_a.new_key()))
        online = next_event(feed, "device.online", 60)
    last_id = online["event_id"]
    assert last_id
    # While no console is open: the customer's agent goes away (device offline), and the
    # session ends for it. The console hears none of it live.
    agent_holder[0].kill()
    agent_holder[0].wait()
    on_b = on_node(on_a, two_nodes, 1)

    def offline() -> bool:
        device = on_b.http.get(f"/api/v1/devices/{online['device_id']}").json()
        return device["online"] is False

    eventually(offline, 60, "the device offline once its agent is gone")
    # The console comes back on node B, naming the last event it got.
    with console(on_b, after=last_id) as feed:
        got = frames(feed, 3)
    kinds = [frame["type"] for frame in got]
    assert kinds[0] == "queue"  # the snapshot, as at any connection
    missed = [f for f in got if f["type"] == "device.online"]
    assert [f["online"] for f in missed] == [False], kinds
    assert missed[0]["device_id"] == online["device_id"]
    assert stream_order(missed[0]["event_id"]) > stream_order(last_id)
    # Without the id, a console gets the snapshot and nothing of the past.
    with console(on_b) as feed:
        fresh = frames(feed, 2)
    assert [frame["type"] for frame in fresh] == ["queue"]


def test_signing_out_on_node_a_closes_the_console_on_node_b(two_nodes: Cluster) -> None:
    on_a = Technician(node(two_nodes, 0)).sign_in_first_time()
    on_b = on_node(on_a, two_nodes, 1)
    with console(on_b) as feed:
        next_event(feed, "queue")
        signed_out = on_a.post("/api/v1/auth/logout")
        assert signed_out.status_code == 204, signed_out.text
        with pytest.raises(ConnectionClosed) as closed:
            frames(feed, 20)
            feed.recv(timeout=20)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    assert on_b.http.get("/api/v1/me").status_code == 401


def test_a_killed_nodes_agents_go_offline_once_on_the_other_node(
    two_nodes: Cluster, agent_holder: list[subprocess.Popen[str]]
) -> None:
    on_a = signed_in_on_a(two_nodes)
    on_b = on_node(on_a, two_nodes, 1)
    with console(on_a) as feed_a, console(on_b) as feed_b:
        agent_holder.append(start_agent(two_nodes.nodes[1].url, on_a.new_key()))
        # One device.online on each console, whichever node wrote it: one change, one event.
        online = next_event(feed_a, "device.online", 60)
        assert online["online"] is True
        assert [e["online"] for e in device_events(feed_b, 3)] == [True]
        assert device_events(feed_a, 2) == []
        # Node B, which holds the agent's link, dies without a word (kill -9). Its presence
        # expires; node A finds the device held by no live node and sets it offline, once.
        two_nodes.kill(1)
        offline = next_event(feed_a, "device.online", 90)
        assert (offline["device_id"], offline["online"]) == (online["device_id"], False)
        assert device_events(feed_a, 12) == []  # not again at the reaper's next rounds
    device = on_a.http.get(f"/api/v1/devices/{online['device_id']}").json()
    assert device["online"] is False
