"""The console's queue with more customers waiting than one page (issue 13): the server sends
the first 100, oldest first; the queue's count says how many wait in all and a line says that
the first 100 are shown. Real server and agent, Chromium."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.agents import start_agent
from tests.fixtures.browser import admin_signs_in, by_id, shoot
from tests.fixtures.waiting_sessions import copy_waiting_sessions
from tests.integration.technician import NEW_PASSWORD, Technician

pytestmark = pytest.mark.e2e


def test_a_long_queue_shows_its_first_page_and_its_total(
    page: Page, relaydesk_server: Any, artifacts_dir: Path, tmp_path: Path
) -> None:
    url = admin_signs_in(page, relaydesk_server, NEW_PASSWORD)
    relaydesk_server.admin_password = NEW_PASSWORD
    technician = Technician(relaydesk_server).sign_in()
    agent = start_agent(url, technician.new_key(), tmpdir=tmp_path)
    try:
        technician.wait_for_waiting_session()
        copy_waiting_sessions(relaydesk_server.data_dir / "relaydesk.sqlite3", 250)
        page.goto(f"{url}/console/queues")
        personal = by_id(page, "queue-personal")
        expect(by_id(personal, "queue-personal-count")).to_have_text("250")
        expect(by_id(personal, "queue-personal-more")).to_have_text(
            "Showing the first 100 of 250; the next ones show as these are taken."
        )
        expect(by_id(personal, "queue-item")).to_have_count(100)
        expect(by_id(page, "nav-badge-queues")).to_have_text("250")
        # Oldest first: the real agent's session, then the others in the order they came.
        expect(by_id(personal, "queue-item").first).to_contain_text(socket.gethostname())
        expect(by_id(personal, "queue-item").nth(99)).to_contain_text("pc-00099")
        shoot(page, artifacts_dir, "queue-first-page")
    finally:
        agent.kill()
        agent.communicate(timeout=10)
