"""Missing test dependencies skip on a developer machine and fail under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.common import (
    ARTIFACTS_ROOT,
    REPO_ROOT,
    free_port,
    require_executable,
    safe_name,
    unavailable,
)

PROBES = Path(__file__).parent / "probes"


def run_probe(name: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs tests/rig/probes/<name> in a pytest of its own, with `env` added."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", str(PROBES / name)],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


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
def test_unreachable_services_skip_or_fail_under_ci(ci: str) -> None:
    port = free_port()  # nothing listens there
    result = run_probe(
        "probe_services.py",
        CI=ci,
        RELAYDESK_TEST_POSTGRES_ADMIN=f"postgresql://postgres@127.0.0.1:{port}/postgres",
        RELAYDESK_TEST_REDIS=f"127.0.0.1:{port}",
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


@pytest.mark.parametrize("ci", ["", "true"])
def test_missing_xvfb_or_chromium_skip_or_fail_under_ci(ci: str, tmp_path: Path) -> None:
    result = run_probe(
        "probe_missing_tools.py",
        CI=ci,
        PATH=str(tmp_path),  # no Xvfb there
        RELAYDESK_TEST_CHROMIUM=str(tmp_path / "chromium"),
    )
    if ci:
        assert result.returncode == 1 and "2 errors" in result.stdout, result.stdout
    else:
        assert result.returncode == 0 and "2 skipped" in result.stdout, result.stdout
    assert "Xvfb not found; apt-get install xvfb" in result.stdout
    assert f"{tmp_path / 'chromium'} not found; apt-get install chromium" in result.stdout


def test_failing_tests_leave_a_screenshot_and_the_server_log() -> None:
    result = run_probe("probe_failures.py")
    assert result.returncode == 1 and "2 failed" in result.stdout, result.stdout
    evidence = ARTIFACTS_ROOT / "test_probe_failing_page"
    assert (evidence / "failure.png").read_bytes().startswith(b"\x89PNG")
    assert "<h1>Evidence</h1>" in (evidence / "failure.html").read_text()
    assert "log: probe console line" in (evidence / "console.log").read_text()
    # The report of the failing server test shows the server's output and where its log is.
    server_log = ARTIFACTS_ROOT / "test_probe_failing_server" / "relaydesk-server.log"
    assert f"(log: {server_log}), last lines" in result.stdout
    assert "Sign in at: http://127.0.0.1:" in result.stdout
    assert "Sign in at: " in server_log.read_text()
