"""No session key in any address (issue 13 follow-up): the portal page gives the customer the
attended launcher scripts without the key in their URL (a proxy's log would keep it). In
Chromium: every href and src the page shows, the commands' URLs and every request the page made
are free of the key; the commands pass it as an argument; the downloaded script is saved under a
name that carries the key and, run as the customer would (`sh relaydesk-support-<KEY>.sh`, bare
environment), fetches the self-contained client and the session arrives in the technician's queue.
The server's access log has no key. An old link (`/portal/agent.sh?key=…`) answers a script that
only says where to get the new command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import admin_signs_in, api, by_id, new_session_key, shoot
from tests.fixtures.common import eventually
from tests.fixtures.portal_customer import (  # noqa: F401 - customer is a fixture
    bare_environment,
    customer,
    enter_key,
    running,
    save_download,
)
from tests.fixtures.server import RelaydeskServer

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Keyless harbour lights 42"
WAIT_MS = 60_000
URL = re.compile(r"(?:https?://|/)[^\s'\"|]+")


def addresses_shown(page: Page) -> list[str]:
    """Every href and src in the page, and the URLs in the commands it shows."""
    attributes: list[str] = page.eval_on_selector_all(
        "[href], [src]",
        "elements => elements.flatMap(e => [e.getAttribute('href'), e.getAttribute('src')])"
        ".filter(Boolean)",
    )
    commands = page.locator("[data-testid^='portal-command-']").all_inner_texts()
    return attributes + [url for command in commands for url in URL.findall(command)]


def test_the_portal_shows_no_key_in_any_address_and_the_downloaded_script_connects(
    relaydesk_server: RelaydeskServer,
    support_client_build: Path,
    page: Page,
    customer: Page,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = new_session_key(page, base)
    requested: list[str] = []
    customer.on("request", lambda request: requested.append(request.url))

    enter_key(customer, base, key)
    expect(by_id(customer, "portal-instructions")).to_be_visible(timeout=WAIT_MS)
    seen: list[str] = []
    for platform in ("windows", "posix"):
        by_id(customer, f"portal-platform-{platform}").click()
        expect(by_id(customer, f"portal-command-{platform}")).to_be_visible()
        seen += addresses_shown(customer)
        shoot(customer, artifacts_dir, f"portal-{platform}")
    assert any(url.endswith("/portal/agent.sh") for url in seen), seen
    assert any(url.endswith("/portal/agent.ps1") for url in seen), seen
    assert [url for url in seen + requested + [customer.url] if key in url] == []
    # The key is the commands' argument.
    posix = by_id(customer, "portal-command-posix").inner_text().strip()
    assert posix.endswith(f"| sh -s -- --key {key}"), posix
    expect(by_id(customer, "portal-download-posix")).to_have_attribute("href", "/portal/agent.sh")
    expect(by_id(customer, "portal-instructions")).to_contain_text(f"sh relaydesk-support-{key}.sh")

    # The customer follows the download instruction: the script, saved under the key's name.
    downloads = tmp_path / "Downloads"
    saved = save_download(customer, by_id(customer, "portal-download-posix"), downloads, WAIT_MS)
    assert saved.name == f"relaydesk-support-{key}.sh"
    assert key not in saved.read_text()  # the same script for everyone
    home = tmp_path / "home"
    home.mkdir()
    log = artifacts_dir / "launcher.log"
    with running(["sh", saved.name], downloads, bare_environment(home), log) as launcher:

        def arrived() -> list[object]:
            assert launcher.poll() is None, log.read_text()
            return list(api(page, "GET", "/api/v1/queue")["personal"])

        [session] = eventually(arrived, 120, "the launched client's session in the queue")
        expect(by_id(customer, "portal-session")).to_have_attribute(
            "data-status", "waiting", timeout=WAIT_MS
        )
        shoot(customer, artifacts_dir, "portal-client-connected")
    assert "Fetching the relaydesk support client" in log.read_text()

    server_log = relaydesk_server.log_path.read_text()
    assert '"GET /portal/agent.sh HTTP' in server_log  # the page's download, keyless
    assert "GET /portal/download/support-client HTTP" in server_log  # what the script fetched
    assert key not in server_log, "the session key is in the server's log"

    # A link of the old form: a script that says where to get the new command, key unused.
    old = customer.request.get(f"{base}/portal/agent.sh?key={key}")
    assert old.ok
    assert key not in old.text()
    done = subprocess.run(["sh"], input=old.text(), capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "this link is outdated" in done.stderr and f"{base}/" in done.stderr
    assert key not in relaydesk_server.log_path.read_text()  # redacted by our own log
