"""kill -9 of the node that holds a live session's agent and its open shell: the agent comes back
through HAProxy to another node within seconds, the session and its chat history go on (nothing
acknowledged is lost), a new shell opens through the survivors, and the dead node's presence
expires within 45 s while the agent stays online."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import websockets
from playwright.sync_api import Locator, Page, expect
from websockets.sync.client import connect

from relaydesk.protocol import bearer, shell
from relaydesk.server.domain.tunnels import owner_of
from tests.cluster.nodes import (
    console_on,
    device_holders,
    events_until,
    presence_set_exists,
    run_in_shell,
    tunnel_owners,
)
from tests.fixtures.agents import finish, start_agent
from tests.fixtures.browser import (
    admin_signs_in,
    api,
    api_answer,
    by_id,
    new_session_key,
    shoot,
)
from tests.fixtures.cable import Cable
from tests.fixtures.cluster import Cluster
from tests.fixtures.common import eventually
from tests.fixtures.screen import (  # noqa: F401 - desktop is a fixture
    WAIT_MS,
    Agent,
    Desktop,
    customer_of,
    desktop,
    end_session,
    settle,
    share_screen,
)
from tests.fixtures.screen_session import assert_view_shows, show_exactly
from tests.fixtures.technician import Technician
from tests.fixtures.workspace import accept_connected, show_tool, type_in, wait_for_text
from tests.fixtures.xvfb import x_screenshot

ADMIN_PASSWORD = "Lost node lighthouse 11"
PRESENCE_EXPIRY_S = 45  # the issue: a dead node's presence expires within 45 s


def _shell_on(technician: Technician, cluster: Cluster, sid: int, node: str) -> object:
    """A shell tunnel owned by `node` (asked through HAProxy until that node answers), open."""
    for _ in range(9):
        tunnel = technician.post(f"/api/v1/sessions/{sid}/shell/tunnel").json()
        ws = connect(
            cluster.url.replace("http://", "ws://") + tunnel["path"],
            subprotocols=bearer.offered(tunnel["token"]),
            open_timeout=15,
        )
        if owner_of(tunnel["tunnel_id"]) == node:
            return ws
        ws.close()
    raise AssertionError(f"no shell tunnel owned by {node} in 9 tries")


def _read_until(ws: object, needle: bytes, within: float = 30) -> bytes:
    seen, deadline = b"", time.monotonic() + within
    while needle not in seen:
        frame = shell.parse(ws.recv(timeout=max(0.1, deadline - time.monotonic())))  # type: ignore[attr-defined]
        if isinstance(frame, shell.Data):
            seen += frame.payload
    return seen


def test_killing_the_agents_node_during_a_live_session(cluster: Cluster, tmp_path: Path) -> None:
    technician = Technician(cluster).sign_in_first_time()
    settings = technician.http.patch(
        "/api/v1/organisation/settings", json={"remote_support_enabled": True}
    )
    assert settings.status_code == 200, settings.text
    agent: subprocess.Popen[str] | None = None
    consoles = []
    try:
        agent = start_agent(cluster.url, technician.new_key(), tmpdir=tmp_path)
        waiting = technician.wait_for_waiting_session(timeout=60)
        sid, device_id = waiting["id"], waiting["device"]["id"]
        assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
        (doomed,) = eventually(lambda: device_holders(cluster, device_id), 30, "agent's node")
        doomed_index = int(doomed[1:]) - 1
        survivors = [i for i in range(len(cluster)) if i != doomed_index]
        consoles = [console_on(technician, cluster.nodes[i].url) for i in survivors]
        for console in consoles:
            events_until(console, lambda e: e["type"] == "queue")

        for text in ("first words", "second words, acknowledged just before the crash"):
            assert technician.post(f"/api/v1/sessions/{sid}/chat", json={"text": text}).is_success
        open_shell = _shell_on(technician, cluster, sid, doomed)
        open_shell.send(shell.data(b"echo before-$((2*3))\r"))  # type: ignore[attr-defined]
        _read_until(open_shell, b"before-6")

        killed_at = time.monotonic()
        cluster.kill(doomed_index)

        # The tunnel that lived on the dead node ends (the console would ask for a new one).
        def shell_closed() -> bool:
            try:
                open_shell.recv(timeout=0.5)  # type: ignore[attr-defined]
            except TimeoutError:
                return False
            except websockets.ConnectionClosed:
                return True
            return False

        eventually(shell_closed, 30, "the shell on the dead node closes")
        # The agent comes back through HAProxy to a survivor, within seconds.
        (holder,) = eventually(
            lambda: [n for n in device_holders(cluster, device_id) if n != doomed],
            30,
            "the agent's link on another node",
        )
        came_back = time.monotonic() - killed_at
        assert holder != doomed
        detail = eventually(
            lambda: (
                (d := technician.http.get(f"/api/v1/sessions/{sid}").json())["agent_connected"]
                and d
            ),
            30,
            "the session's agent connected again",
        )
        assert detail["session"]["status"] == "active", detail
        # Nothing acknowledged is lost: the chat as it was, and it goes on.
        texts = [line["text"] for line in detail["chat"]]
        assert texts[-2:] == ["first words", "second words, acknowledged just before the crash"]
        assert technician.post(
            f"/api/v1/sessions/{sid}/chat", json={"text": "still here"}
        ).is_success
        for console in consoles:  # the surviving nodes' consoles hear it
            events_until(
                console, lambda e: e["type"] == "session.chat" and e["text"] == "still here"
            )
        # New shells open through the survivors.
        assert run_in_shell(technician, cluster, sid, "echo after") != doomed

        # The dead node's presence expires within 45 s; the agent stays online meanwhile.
        eventually(
            lambda: not presence_set_exists(cluster, doomed),
            max(1.0, PRESENCE_EXPIRY_S - (time.monotonic() - killed_at)) + 1,
            "the dead node's presence expires",
        )
        assert cluster.down(doomed_index)
        assert technician.http.get(f"/api/v1/sessions/{sid}").json()["agent_connected"]
        assert device_holders(cluster, device_id) == [holder]
        print(f"agent back on {holder} {came_back:.1f} s after the kill of {doomed}")

        assert technician.post(f"/api/v1/sessions/{sid}/end").status_code == 200
        code, output = finish(agent)
        assert code == 0, output
    finally:
        for console in consoles:
            console.close()
        if agent is not None:
            agent.kill()


def test_the_console_reopens_its_tunnels_on_the_survivors(
    cluster: Cluster,
    page: Page,
    desktop: Desktop,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
) -> None:
    """The technician views the screen and has the file manager open; the node that relays his
    screen dies. Without him doing anything the console asks for new tunnels (through HAProxy,
    on a survivor): the view shows the X display again, pixel for pixel, the file manager is
    connected again, and the chat goes on."""
    page.set_viewport_size({"width": 2000, "height": 1500})
    base = admin_signs_in(page, cluster, ADMIN_PASSWORD)
    api(page, "PATCH", "/api/v1/organisation/settings", {"remote_support_enabled": True})
    owners = tunnel_owners(page)
    key = new_session_key(page, base)
    customer = customer_of(base, key)
    agent = Agent(base, key, desktop, artifacts_dir / "agent.log")
    try:
        page.goto(f"{base}/console/queues")
        session_id, workspace = accept_connected(page)
        show_tool(workspace, "files")
        files = by_id(workspace, "files-panel")
        by_id(files, "files-open").click()
        expect(by_id(files, "files-link")).to_have_text("Connected", timeout=WAIT_MS)
        show_tool(workspace, "screen")
        panel = by_id(workspace, "screen-panel")
        viewer = share_screen(panel, customer)
        show_exactly(viewer)
        settle(page)
        screen_owner = next(owner for tool, owner in owners if tool == "screen")
        doomed = int(screen_owner[1:]) - 1
        asked_before = len(owners)

        cluster.kill(doomed)
        expect(viewer).not_to_have_attribute("data-status", "connected", timeout=WAIT_MS)
        shoot(page, artifacts_dir, "01-node-lost")
        # Nobody clicks anything: the view comes back on a tunnel of a survivor.
        expect(viewer).to_have_attribute("data-status", "connected", timeout=60_000)
        expect(panel).to_have_attribute("data-screen-phase", "view")
        settle(page)
        assert_view_shows(page, x_screenshot(desktop.display), artifacts_dir, "02-after")
        shoot(page, artifacts_dir, "02-viewing-again")
        reopened = [owner for tool, owner in owners[asked_before:] if tool == "screen"]
        assert reopened and reopened[-1] != screen_owner, owners

        expect(by_id(workspace, "workspace-status")).to_have_text("Connected", timeout=60_000)
        show_tool(workspace, "files")
        expect(by_id(files, "files-link")).to_have_text("Connected", timeout=60_000)
        box = by_id(workspace, "chat-input")
        box.fill("Still with you")
        box.press("Enter")
        expect(by_id(workspace, "chat-text").last).to_have_text("Still with you", timeout=WAIT_MS)
        seen = customer.get("/api/v1/portal/session").json()  # the customer's side, any node
        assert seen["status"] == "active"
        assert seen["chat"][-1]["text"] == "Still with you"
        print(f"screen first on {screen_owner}, then {reopened}; all tunnels: {owners}")
        end_session(page, base, session_id, agent)
    finally:
        agent.close()
        customer.close()


def _shell_in_a_tab(
    page: Page, cluster: Cluster, tmp_path: Path, agent_server: str | None = None
) -> tuple[str, Locator, Locator, str, str, list[tuple[str, str]], subprocess.Popen[str]]:
    """A session with a real agent (reaching the cluster through `agent_server`, else HAProxy),
    accepted in the console, and a shell tab relayed by a node other than the agent's
    (round-robin: a few tries), in which a command ran: the session's base URL, the tab, its
    terminal, the agent's node, the shell's node, the tunnels asked for and the agent."""
    base = admin_signs_in(page, cluster, ADMIN_PASSWORD)
    api(page, "PATCH", "/api/v1/organisation/settings", {"remote_support_enabled": True})
    owners = tunnel_owners(page)
    agent = start_agent(agent_server or cluster.url, new_session_key(page, base), tmpdir=tmp_path)
    page.goto(f"{base}/console/queues")
    session_id, workspace = accept_connected(page)
    device = api(page, "GET", f"/api/v1/sessions/{session_id}")["session"]["device"]["id"]
    (agent_node,) = eventually(lambda: device_holders(cluster, device), 30, "agent's node")
    show_tool(workspace, "shells")
    shells = by_id(workspace, "shell-panel")
    for _ in range(6):
        by_id(shells, "shell-open").click()
        expect(by_id(shells, "shell-tab").last).to_have_attribute(
            "data-shell-state", "open", timeout=WAIT_MS
        )
        if owners[-1][1] != agent_node:
            break
    shell_node = owners[-1][1]
    assert shell_node != agent_node, owners
    tab = by_id(shells, "shell-tab").last
    tab.click()
    terminal = by_id(shells, "shell-terminal").last
    type_in(page, terminal, "echo before-$((6*7))")
    wait_for_text(terminal, r"^before-42$")
    return (
        f"/api/v1/sessions/{session_id}/end",
        tab,
        terminal,
        agent_node,
        shell_node,
        owners,
        agent,
    )


def test_a_shell_whose_node_dies_comes_back_by_itself(
    cluster: Cluster, page: Page, artifacts_dir: Path, tmp_path: Path
) -> None:
    """The technician works in a shell relayed by a node other than the agent's; that node dies.
    Without him doing anything the shell tab says the connection was lost, opens a new shell
    through a survivor and runs what he types next."""
    end, tab, terminal, agent_node, shell_node, owners, agent = _shell_in_a_tab(
        page, cluster, tmp_path
    )
    try:
        cluster.kill(int(shell_node[1:]) - 1)
        wait_for_text(terminal, "Connection lost: opening a new shell", timeout=30)
        shoot(page, artifacts_dir, "01-shell-lost")
        expect(tab).to_have_attribute("data-shell-state", "open", timeout=60_000)
        type_in(page, terminal, "echo after-$((6*7))")
        wait_for_text(terminal, r"^after-42$", timeout=30)
        shoot(page, artifacts_dir, "02-new-shell")
        reopened = owners[-1]
        assert reopened[0] == "shell" and reopened[1] not in (shell_node, "?"), owners
        print(f"agent on {agent_node}; shell on {shell_node}, then on {reopened[1]}")
        assert api_answer(page, cluster.url, end).ok
        assert agent.wait(30) == 0
    finally:
        agent.kill()


def test_a_shell_comes_back_when_the_agents_node_dies(
    cluster: Cluster, page: Page, artifacts_dir: Path, tmp_path: Path
) -> None:
    """The technician works in a shell relayed by another node than the agent's; the agent's own
    node dies. The agent loses its control link and closes its tools, the shell's process
    included, without an exit: the tab does not say the shell ended; it says the connection was
    lost and that a new shell opens (before: "The shell ended"). While the agent is away the
    tab's new tunnel reaches the relay but no agent joins it: the tab is not open, and what the
    technician types meanwhile is kept and runs in the new shell once the agent is back on a
    survivor (before: the tab showed "open" and the typing went into a tunnel nobody joined)."""
    with Cable(cluster.url) as cable:
        end, tab, terminal, agent_node, shell_node, owners, agent = _shell_in_a_tab(
            page, cluster, tmp_path, agent_server=cable.url
        )
        try:
            asked_before = len(owners)
            session = api(page, "GET", end.removesuffix("/end"))["session"]
            # The agent's way back stays cut while the technician types (on its own it tries
            # again after 0-5 s, sometimes before the tab has asked for its new tunnel).
            cable.unplug()
            # Typed once the tab has its new tunnel (the relay has the console's end; no agent).
            with page.expect_response(
                lambda answer: answer.url.endswith("/shell/tunnel") and answer.ok, timeout=60_000
            ):
                cluster.kill(int(agent_node[1:]) - 1)
                wait_for_text(terminal, "Connection lost: opening a new shell", timeout=30)
                shoot(page, artifacts_dir, "01-agents-node-lost")
            type_in(page, terminal, "echo gap-$((6*7))")
            wait_for_text(terminal, "Kept: what you type is sent to the new shell", timeout=20)
            shoot(page, artifacts_dir, "02-typed-while-away")
            assert tab.get_attribute("data-shell-state") == "connecting"
            away = [n for n in device_holders(cluster, session["device"]["id"]) if n != agent_node]
            assert not away, f"the agent was back on {away} before the technician typed"
            cable.plug()

            expect(tab).to_have_attribute("data-shell-state", "open", timeout=90_000)
            wait_for_text(terminal, r"^gap-42$", timeout=60)
            type_in(page, terminal, "echo after-$((6*7))")
            wait_for_text(terminal, r"^after-42$", timeout=30)
            shoot(page, artifacts_dir, "03-new-shell")
            asked = owners[asked_before:]
            assert len([tool for tool, _ in asked if tool == "shell"]) >= 2, asked
            assert tab.get_attribute("data-shell-state") == "open"
            print(f"agent on {agent_node} (killed); shell on {shell_node}; {asked}")
            assert api_answer(page, cluster.url, end).ok
            assert agent.wait(30) == 0
        finally:
            agent.kill()
