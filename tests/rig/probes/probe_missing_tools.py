"""Run by tests/rig/test_rules.py with Xvfb off PATH and Chromium pointed elsewhere."""

from typing import Any


def test_needs_xvfb(xvfb_display: Any) -> None:
    raise AssertionError("a missing Xvfb should have stopped this test")


def test_needs_chromium(page: Any) -> None:
    raise AssertionError("a missing Chromium should have stopped this test")
