"""No secret in a URL that is logged (issue 11, defect 8; SEC-1): what a reader of the server's
log saw before, and what he must no longer see.

The customer opens the key's unique link in Chromium and downloads the support client's script
from the portal page (the session key in that link's query); the real agent connects, the
technician accepts in his own browser, the customer allows viewing on the portal page, and the
technician opens the screen view (noVNC), a shell and the file manager: a screen, a shell and a
files tunnel, each with a console token and an agent token. Then the server's log holds neither
the session key, nor the portal page's secret, nor any tunnel token, although it does record
the portal and relay connections themselves; and a tunnel or portal URL that carries `?token=`
is refused even with the right token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from playwright.sync_api import Browser, Page, Response, expect
from websockets.sync.client import connect

from tests.fixtures.agents import start_agent_logging
from tests.fixtures.browser import admin_signs_in, api_post, by_id, open_page
from tests.fixtures.common import eventually
from tests.fixtures.workspace import accept_first_waiting, show_tool

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Quiet ledger lantern 42"
WAIT_MS = 30_000


@pytest.fixture
def customer(
    browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path
) -> Iterator[Page]:
    """The customer's own browser: no cookies shared with the technician's."""
    with open_page(browser, request, artifacts_dir / "customer", width=1100, height=900) as page:
        yield page


def page_secret(customer: Page) -> str:
    """The portal page's own secret, as the page keeps it for a reload (one entry per portal:
    `relaydesk.portal.session:<portal>` for the key link's portal)."""
    stored = customer.evaluate(
        """() => Object.keys(localStorage)
            .filter((name) => name.startsWith('relaydesk.portal.session'))
            .map((name) => localStorage.getItem(name))[0] ?? null"""
    )
    assert stored, "the portal page keeps no session"
    return str(json.loads(stored)["token"])


def offered(token: str) -> list[str]:
    """How a client presents a token: as a subprotocol (relaydesk.protocol.bearer), written out
    here as it goes on the wire."""
    return ["relaydesk", f"relaydesk.bearer.{token}"]


def refused_status(url: str, offered: list[str]) -> int:
    with pytest.raises(websockets.InvalidStatus) as refused:
        connect(url, subprotocols=offered, open_timeout=10).close()  # type: ignore[arg-type]
    return refused.value.response.status_code


def test_no_secret_reaches_the_server_log(
    relaydesk_server: Any,
    page: Page,
    customer: Page,
    xvfb_display: Any,
    artifacts_dir: Path,
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    opened: list[Response] = []

    def keep_tunnel(response: Response) -> None:
        # Only kept here: reading its body would wait inside Playwright's event handler, and
        # the test could go on before it is kept.
        if re.search(r"/api/v1/sessions/\d+/\w+/tunnel$", response.url) and response.ok:
            opened.append(response)

    page.on("response", keep_tunnel)
    issued = api_post(page, base, "/api/v1/session-keys", {"validity_minutes": 15})
    key = issued["key"]

    # The customer opens the key's unique link: the key is in the address the server sees.
    customer.goto(issued["url"])
    expect(by_id(customer, "portal-session")).to_have_attribute("data-status", "waiting_for_agent")
    expect(by_id(customer, "portal-connection")).to_have_attribute("data-state", "open")
    secret = page_secret(customer)
    script = by_id(customer, "portal-download-posix").get_attribute("href")
    assert script == "/portal/agent.sh"  # no key in it: the saved file's name carries it
    assert customer.request.get(f"{base}{script}").ok

    agent = start_agent_logging(base, key, artifacts_dir / "agent.log", xvfb_display.env)
    try:
        workspace = accept_first_waiting(page, base, WAIT_MS)
        expect(by_id(customer, "portal-session")).to_have_attribute(
            "data-status", "active", timeout=WAIT_MS
        )

        # The screen: asked in the console, allowed on the portal page, viewed through noVNC.
        panel = by_id(workspace, "screen-panel")
        by_id(panel, "screen-request-view").click()
        by_id(by_id(customer, "screen-prompt"), "screen-allow").click()
        expect(by_id(panel, "screen-viewer")).to_have_attribute(
            "data-status", "connected", timeout=WAIT_MS
        )
        # A shell, connected to the device's pty.
        show_tool(workspace, "shells")
        shell = by_id(workspace, "shell-panel")
        by_id(shell, "shell-open").click()
        expect(by_id(shell, "shell-tab").first).to_have_attribute(
            "data-shell-state", "open", timeout=WAIT_MS
        )
        # The file manager.
        show_tool(workspace, "files")
        files = by_id(workspace, "files-panel")
        by_id(files, "files-open").click()
        expect(by_id(files, "files-link")).to_have_text("Connected", timeout=WAIT_MS)

        tunnels = [response.json() for response in opened]
        assert len(tunnels) >= 3, [response.url for response in opened]
        tunnel_ids = [t["tunnel_id"] for t in tunnels]

        # The log shows each relay connection (console and agent side), so it could show
        # their URLs' secrets; it shows none.
        def log_with_every_tunnel() -> str | None:
            text = relaydesk_server.log_path.read_text()
            return text if all(text.count(f"/relay/{i}") >= 2 for i in tunnel_ids) else None

        log = eventually(
            log_with_every_tunnel, 30, "both sides of every tunnel in the server's log"
        )
        assert "/api/v1/portal/ws" in log
        assert secret not in log, "the portal page's secret is in the server's log"
        assert key not in log, "the session key is in the server's log"
        assert not re.search(r"token=(?!\[redacted\])", log), "a token's value in the log"
        for tunnel in tunnels:
            assert tunnel["path"] == f"/relay/{tunnel['tunnel_id']}"  # no secret in the path
            assert tunnel["token"] not in log
        assert '"GET /?portal=[redacted] HTTP' in log  # the link was opened; its key never sent
        assert '"GET /portal/agent.sh HTTP' in log  # the script was fetched, with no key to hide

        # A URL carrying the token is refused, even with the right token as subprotocol.
        ws_base = base.replace("http://", "ws://")
        session_id = workspace.get_attribute("data-session-id")
        fresh = api_post(page, base, f"/api/v1/sessions/{session_id}/shell/tunnel")
        assert (
            refused_status(
                f"{ws_base}{fresh['path']}?token={fresh['token']}", offered(fresh["token"])
            )
            == 400
        )
        assert refused_status(f"{ws_base}{fresh['path']}?token={fresh['token']}", []) == 400
        assert refused_status(f"{ws_base}/api/v1/portal/ws?token={secret}", []) == 400
        # Without any token, nothing opens either.
        assert refused_status(f"{ws_base}{fresh['path']}", ["relaydesk"]) == 403
        # The customer's page still follows its session through its socket.
        expect(by_id(customer, "portal-connection")).to_have_attribute("data-state", "open")
    finally:
        agent.kill()
        agent.wait(10)
