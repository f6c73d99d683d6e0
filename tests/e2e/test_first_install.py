"""A real first install, end to end, without the demo (issue 11): an empty data directory,
`relaydesk init`, `relaydesk serve` (real processes); the administrator signs in in Chromium
with the one-time password and chooses his own, finds remote support off (a key is refused),
turns it on in the organisation's settings, generates a session key, and a real agent started
with it arrives in his queue."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.fixtures.agents import AGENT
from tests.fixtures.browser import by_id, first_sign_in, shoot
from tests.fixtures.server import RelaydeskServer

PASSWORD = "First install harbour 42"
WAIT_MS = 30_000


def printed(output: str, prefix: str) -> str:
    found = [line[len(prefix) :].strip() for line in output.splitlines() if line.startswith(prefix)]
    assert len(found) == 1, output
    return found[0]


def generate_key(page: Page) -> None:
    by_id(page, "generate-key").click()
    dialog = by_id(page, "session-key-dialog")
    expect(dialog).to_be_visible()
    by_id(dialog, "key-generate").click()


def test_init_serve_sign_in_enable_remote_support_and_a_key_works(
    relaydesk_server_factory: Callable[..., RelaydeskServer],
    page: Page,
    artifacts_dir: Path,
) -> None:
    server = relaydesk_server_factory(command="serve", start=False)
    assert not (server.data_dir / "relaydesk.sqlite3").exists()
    init = server.run(
        "init", "--organisation", "Acme IT", "--email", "boss@acme.test", "--name", "Bo Boss"
    )
    assert init.returncode == 0, init.stderr
    email = printed(init.stdout, "Administrator e-mail: ")
    one_time = printed(init.stdout, "One-time password: ")
    assert printed(init.stdout, "Sign in at: ").endswith("/login")
    server.start()

    # First sign-in: the one-time password must be replaced.
    first_sign_in(page, server.url, email, one_time, PASSWORD)
    shoot(page, artifacts_dir, "01-signed-in")

    # Remote support is off in a new organisation: the console says so when asked for a key.
    generate_key(page)
    dialog = by_id(page, "session-key-dialog")
    expect(by_id(dialog, "error-message")).to_contain_text("Remote support is turned off")
    page.keyboard.press("Escape")

    # The administrator turns it on in the organisation's settings.
    page.goto(f"{server.url}/admin/settings")
    switch = by_id(page, "setting-remote_support_enabled")
    expect(switch).not_to_be_checked()
    switch.check()
    by_id(page, "settings-save").click()
    expect(by_id(page, "settings-saved")).to_be_visible()
    shoot(page, artifacts_dir, "02-remote-support-on")

    # A key, and a real agent with it: the session waits in the administrator's queue.
    page.goto(f"{server.url}/console/queues")
    generate_key(page)
    dialog = by_id(page, "session-key-dialog")
    expect(by_id(dialog, "session-key-issued")).to_be_visible()
    key = by_id(dialog, "session-key-value").inner_text().strip()
    by_id(page, "session-key-done").click()
    log = (artifacts_dir / "agent.log").open("wb")
    agent = subprocess.Popen(
        [AGENT, "--server", server.url, "--key", key], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        item = by_id(page, "queue-item")
        expect(item).to_have_count(1, timeout=WAIT_MS)
        expect(item).to_contain_text(socket.gethostname())
        shoot(page, artifacts_dir, "03-agent-in-queue")
        assert agent.poll() is None
    finally:
        agent.kill()
        agent.wait(10)
        log.close()
