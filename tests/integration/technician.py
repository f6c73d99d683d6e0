"""Moved to tests/fixtures/technician.py; this name stays only for modules still importing it
from here (test_files.py, test_agent_channel_limits.py, e2e/test_queue_paging.py). Import from
tests.fixtures.technician."""

from tests.fixtures.technician import NEW_PASSWORD, Technician, next_event

__all__ = ["NEW_PASSWORD", "Technician", "next_event"]
