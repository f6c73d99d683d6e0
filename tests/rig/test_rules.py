"""Missing test dependencies skip on a developer machine and fail under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.common import (
    REPO_ROOT,
    free_port,
    require_executable,
    safe_name,
    unavailable,
)

PROBE = Path(__file__).parent / "probes" / "probe_services.py"


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


@pytest.mark.parametrize("ci", ["", "true"])
def test_unreachable_services_skip_or_fail_under_ci(ci: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = {
        **os.environ,
        "CI": ci,
        "RELAYDESK_TEST_POSTGRES_ADMIN": f"postgresql://postgres@127.0.0.1:{port}/postgres",
        "RELAYDESK_TEST_REDIS": f"127.0.0.1:{port}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", str(PROBE)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ci:
        assert result.returncode == 1, result.stdout
        assert "2 errors" in result.stdout, result.stdout
        assert "CI=true: missing test dependencies fail" in result.stdout
    else:
        assert result.returncode == 0, result.stdout
        assert "2 skipped" in result.stdout, result.stdout
    assert (
        f"PostgreSQL is not reachable (postgresql://postgres@127.0.0.1:{port}/postgres: "
        in result.stdout
    )
    assert f"Redis at 127.0.0.1:{port} is not reachable" in result.stdout
