"""Missing test dependencies skip on a developer machine and fail under CI=true."""

from __future__ import annotations

import pytest

from tests.fixtures.common import free_port, require_executable, safe_name, unavailable


def test_unavailable_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no frobnicator"):
        unavailable("no frobnicator")


def test_unavailable_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no frobnicator.*CI=true"):
        unavailable("no frobnicator")


def test_a_missing_executable_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-such-binary-xyz not found; install it"):
        require_executable("no-such-binary-xyz", "install it")


def test_free_port_is_bindable() -> None:
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_safe_name() -> None:
    assert safe_name("test_x[sqlite-a/b]") == "test_x-sqlite-a-b"
