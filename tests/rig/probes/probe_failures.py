"""Run by tests/rig/test_rules.py: failing tests leave evidence behind."""

from typing import Any


def test_probe_failing_page(page: Any) -> None:
    page.set_content("<h1>Evidence</h1><script>console.log('probe console line')</script>")
    raise AssertionError("failing on purpose")


def test_probe_failing_server(relaydesk_server: Any) -> None:
    raise AssertionError("failing on purpose")
