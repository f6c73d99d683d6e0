"""The support client that needs nothing installed (issue 12, ATT-2): the customer types his key
on the portal in Chromium, downloads the self-contained executable through the page's link, saved
under a name that carries the key; its SHA-256 is the one the page shows. Made executable and
started with no argument, no Python virtual environment on PATH and a bare environment, it finds
its server in its own file and its key in its name, and the session arrives in the technician's
queue in his console. Neither the download's URL nor the server's log carries the key.

The one-line command does the same for a customer with a terminal: against a server with a
self-signed certificate, `curl … | sh` fetches the executable from that server's key only, checks
its SHA-256 and runs it with the certificate pin, and the session arrives.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import admin_signs_in, by_id, new_session_key, shoot
from tests.fixtures.common import eventually
from tests.fixtures.files_client import sha256_of
from tests.fixtures.portal_customer import (  # noqa: F401 - customer is a fixture
    bare_environment,
    customer,
    enter_key,
    running,
    save_download,
)
from tests.fixtures.server import RelaydeskServer

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Self contained harbour 42"
WAIT_MS = 60_000


def test_downloaded_client_runs_without_python_and_connects(
    relaydesk_server: RelaydeskServer,
    support_client_build: Path,
    page: Page,
    customer: Page,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = new_session_key(page, base)

    # The customer types his key; the page offers the client and its fingerprint.
    enter_key(customer, base, key)
    link = by_id(customer, "portal-client-download")
    expect(link).to_be_visible(timeout=WAIT_MS)
    expect(link).to_have_attribute("href", "/portal/download/support-client")  # no key in it
    shown = by_id(customer, "portal-client-sha256").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", shown), shown
    expect(by_id(customer, "portal-client")).to_contain_text(f"relaydesk-support-{key}.bin")
    shoot(customer, artifacts_dir, "01-portal-offers-the-client")

    downloads = tmp_path / "Downloads"
    saved = save_download(customer, link, downloads, WAIT_MS)
    assert saved.name == f"relaydesk-support-{key}.bin"
    assert sha256_of(saved) == shown, "the file is not the one whose SHA-256 the page shows"
    # Not the build as is: the server appended its own address to it.
    assert saved.stat().st_size > support_client_build.stat().st_size

    # Run as the customer would: made executable, no argument, nothing from this test's Python.
    saved.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    client_log = artifacts_dir / "client.log"
    with running([str(saved)], downloads, bare_environment(home), client_log) as client:
        page.goto(f"{base}/console/queues")

        def in_queue() -> bool:
            assert client.poll() is None, client_log.read_text()
            return by_id(page, "queue-item").count() > 0

        eventually(in_queue, 120, "the downloaded client's session in the technician's queue")
        expect(by_id(page, "queue-item").first).to_be_visible()
        shoot(page, artifacts_dir, "02-technician-queue")
        expect(by_id(customer, "portal-session")).to_have_attribute(
            "data-status", "waiting", timeout=WAIT_MS
        )
        shoot(customer, artifacts_dir, "03-portal-client-connected")
    output = client_log.read_text()
    assert "connecting to" in output and base in output, output

    log = relaydesk_server.log_path.read_text()
    assert "GET /portal/download/support-client HTTP" in log  # the page's download, keyless
    assert key not in log, "the session key is in the server's log"


@pytest.fixture
def tls_server(relaydesk_server_factory: Callable[..., RelaydeskServer]) -> RelaydeskServer:
    """A first install served with a self-signed certificate (the pin must then do its work)."""
    server = relaydesk_server_factory(command="serve", args=["--tls", "self-signed"], start=False)
    init = server.run(
        "init",
        "--organisation",
        "Acme IT",
        "--email",
        "boss@acme.test",
        "--name",
        "Bo",
        stdin=ADMIN_PASSWORD,
    )
    assert init.returncode == 0, init.stderr
    return server.start()


def test_one_line_command_fetches_checks_and_runs_the_client(
    tls_server: RelaydeskServer, support_client_build: Path, tmp_path: Path, artifacts_dir: Path
) -> None:
    with httpx.Client(base_url=tls_server.url, verify=False, timeout=60) as technician:
        signed = technician.post(
            "/api/v1/auth/login", json={"email": "boss@acme.test", "password": ADMIN_PASSWORD}
        )
        assert signed.json()["stage"] == "complete", signed.text
        csrf_header = {"x-csrf-token": technician.cookies["relaydesk_csrf"]}
        enabled = technician.patch(
            "/api/v1/organisation/settings",
            json={"remote_support_enabled": True},
            headers=csrf_header,
        )
        assert enabled.status_code == 200, enabled.text
        issued = technician.post(
            "/api/v1/session-keys", json={"validity_minutes": 15}, headers=csrf_header
        )
        assert issued.status_code == 201, issued.text
        key = issued.json()["key"]
        # What the portal page shows the customer after his key.
        entered = httpx.post(
            f"{tls_server.url}/api/v1/portal/keys", json={"key": key}, verify=False
        )
        assert entered.status_code == 200, entered.text
        command = entered.json()["commands"]["linux_macos"]
        sha256 = entered.json()["commands"]["support_client_sha256"]

        fetch = shlex.split(command.split(" | ")[0])
        script = subprocess.run(fetch, capture_output=True, text=True, timeout=60).stdout
        (artifacts_dir / "agent.sh").write_text(script)
        assert "pip" not in script and "python" not in script
        assert f'echo "{sha256}  $client" | sha256sum -c' in script
        assert f"--pin-sha256 '{tls_server.tls_fingerprint}'" in script

        home = tmp_path / "home"
        home.mkdir()
        log = artifacts_dir / "launcher.log"
        with running(["sh", "-c", command], home, bare_environment(home), log) as launcher:

            def arrived() -> list[dict[str, object]]:
                assert launcher.poll() is None, log.read_text()
                return list(technician.get("/api/v1/queue").json()["personal"])

            [session] = eventually(arrived, 120, "the launched client's session in the queue")
            assert session["status"] == "waiting"
            [folder] = list(home.glob("relaydesk.*"))
            client = folder / "relaydesk-support"
            assert sha256_of(client) == sha256  # what ran is what the page published
        assert "Fetching the relaydesk support client" in log.read_text()
