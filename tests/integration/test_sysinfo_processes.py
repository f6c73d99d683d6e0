"""System information's processes as the technician receives them: a process that keeps the
processor busy shows its share (measured over an interval, not psutil's first sample of 0 %), and
the list sorted by processor puts it first."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.fixtures.agents import start_agent
from tests.fixtures.common import eventually
from tests.fixtures.technician import Technician, next_event

BUSY_LOOP = "while True: pass"


@pytest.fixture
def technician(relaydesk_server: Any) -> Technician:
    return Technician(relaydesk_server).sign_in_first_time()


def test_a_busy_process_shows_its_processor_share_and_sorts_first(
    technician: Technician, relaydesk_server: Any
) -> None:
    busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    agent = start_agent(relaydesk_server.url, technician.new_key())
    try:
        session = technician.wait_for_waiting_session()
        sid = session["id"]
        assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
        with technician.console() as console:

            def busy_row() -> dict[str, Any] | None:
                assert technician.post(f"/api/v1/sessions/{sid}/sysinfo").status_code == 202
                by_cpu = next_event(console, "session.sysinfo")["info"]["processes"]["by_cpu"]
                shares = [row["cpu_percent"] for row in by_cpu]
                assert shares == sorted(shares, reverse=True)
                first = by_cpu[0]
                return dict(first) if first["pid"] == busy.pid else None

            row = eventually(busy_row, 60, "the busy loop at the top of the processor list")
        assert row["cpu_percent"] > 10
        assert row["name"].startswith("python")
    finally:
        busy.kill()
        agent.kill()
        busy.wait()
        agent.wait()
