"""Three nodes, one product (issue 15 item 1), as the people use it: headless Chromium for the
technician's console and for the customer's portal page, both through HAProxy (round-robin, no
stickiness: each request and socket may land on any node), the real agent on an Xvfb display.

The technician sees the agent arrive live, accepts, chats with the customer (both ways), views the
screen (the canvas is the X display, pixel for pixel), opens a shell and the file manager; the
customer's portal page follows along (who helps, consent, chat); the technician ends the session.
Which node held what is printed (the console's socket, the agent's link, each tunnel's owner)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.cluster.nodes import device_holders, tunnel_owners
from tests.fixtures.browser import admin_signs_in, api, by_id, new_session_key, shoot
from tests.fixtures.cluster import Cluster
from tests.fixtures.common import eventually
from tests.fixtures.screen import (  # noqa: F401 - desktop and portal are fixtures
    WAIT_MS,
    Agent,
    Desktop,
    customer_allows,
    desktop,
    end_session,
    portal,
    settle,
)
from tests.fixtures.screen_session import assert_view_shows, show_exactly
from tests.fixtures.workspace import accept_connected, show_tool, type_in, wait_for_text
from tests.fixtures.xvfb import x_screenshot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Three nodes one lighthouse 9"


def say(scope: Page, text: str) -> None:
    box = by_id(scope, "chat-input")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def test_technician_and_customer_work_through_three_nodes(
    cluster: Cluster,
    page: Page,
    portal: Page,  # noqa: F811 - the fixture imported above
    desktop: Desktop,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
) -> None:
    page.set_viewport_size({"width": 2000, "height": 1500})
    base = admin_signs_in(page, cluster, ADMIN_PASSWORD)
    assert base == cluster.url
    api(page, "PATCH", "/api/v1/organisation/settings", {"remote_support_enabled": True})
    owners = tunnel_owners(page)
    key = new_session_key(page, base)

    # The customer enters the key on the portal; the technician watches his queue.
    portal.goto(f"{base}/")
    by_id(portal, "session-key-input").fill(key)
    by_id(portal, "session-key-submit").click()
    expect(by_id(portal, "portal-session")).to_have_attribute("data-status", "waiting_for_agent")
    page.goto(f"{base}/console/queues")
    expect(by_id(page, "queue-item")).to_have_count(0)
    agent = Agent(base, key, desktop, artifacts_dir / "agent.log")
    try:
        # The arrival shows up live (no reload) in the queue.
        expect(by_id(page, "queue-item")).to_have_count(1, timeout=WAIT_MS)
        shoot(page, artifacts_dir, "01-arrived")
        session_id, workspace = accept_connected(page)
        expect(by_id(portal, "portal-session")).to_have_attribute("data-status", "active")
        device = api(page, "GET", f"/api/v1/sessions/{session_id}")["session"]["device"]["id"]
        (agent_node,) = eventually(lambda: device_holders(cluster, device), 30, "agent's node")

        # Chat, both ways.
        say(workspace, "Bonjour, je regarde votre écran")
        expect(by_id(portal, "chat-message").last).to_contain_text(
            "Bonjour, je regarde votre écran", timeout=WAIT_MS
        )
        say(portal, "Merci ! 谢谢")
        expect(by_id(workspace, "chat-text").last).to_have_text("Merci ! 谢谢", timeout=WAIT_MS)

        # The screen: asked in the console, allowed on the portal, the X display pixel for pixel.
        show_tool(workspace, "screen")
        panel = by_id(workspace, "screen-panel")
        by_id(panel, "screen-request-view").click()
        customer_allows(portal, "view", artifacts_dir, "02-portal-asked-to-view")
        viewer = by_id(panel, "screen-viewer")
        expect(viewer).to_have_attribute("data-status", "connected", timeout=WAIT_MS)
        show_exactly(viewer)
        settle(page)
        assert_view_shows(page, x_screenshot(desktop.display), artifacts_dir, "03-screen")
        shoot(page, artifacts_dir, "03-viewing")

        # A shell.
        show_tool(workspace, "shells")
        shells = by_id(workspace, "shell-panel")
        by_id(shells, "shell-open").click()
        expect(by_id(shells, "shell-tab").first).to_have_attribute(
            "data-shell-state", "open", timeout=WAIT_MS
        )
        terminal = by_id(shells, "shell-terminal").first
        type_in(page, terminal, "echo three-nodes-$((6*7))")
        wait_for_text(terminal, r"^three-nodes-42$")
        shoot(page, artifacts_dir, "04-shell")

        # The file manager.
        show_tool(workspace, "files")
        files = by_id(workspace, "files-panel")
        by_id(files, "files-open").click()
        expect(by_id(files, "files-link")).to_have_text("Connected", timeout=WAIT_MS)
        expect(by_id(files, "files-table")).to_have_attribute("aria-busy", "false", timeout=WAIT_MS)
        by_id(files, "files-show-hidden").check()  # the agent's home holds hidden files only
        expect(by_id(files, "files-row").first).to_be_visible(timeout=WAIT_MS)
        shoot(page, artifacts_dir, "05-files")

        # The portal followed along all the while.
        expect(by_id(portal, "screen-sharing")).to_have_attribute("data-state", "view")
        shoot(portal, artifacts_dir, "06-portal")
        print(f"agent on {agent_node}; tunnels: {owners}")
        assert {tool for tool, _ in owners} >= {"screen", "shell", "files"}

        end_session(page, base, session_id, agent)
        expect(by_id(portal, "portal-session")).to_have_attribute(
            "data-status", "ended", timeout=WAIT_MS
        )
    finally:
        agent.close()
