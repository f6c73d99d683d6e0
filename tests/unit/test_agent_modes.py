"""The attended agent's decisions without a network: what each refusal means for its exit code,
that it cleans up after itself, and how its reconnection backoff spreads out."""

from __future__ import annotations

from pathlib import Path

import pytest

from relaydesk.agent import link
from relaydesk.agent.modes import (
    EXIT_ERROR,
    EXIT_KEY_REFUSED,
    EXIT_OK,
    EXIT_PROTOCOL_MISMATCH,
    AttendedMode,
)


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [
        ("session_key_unknown", EXIT_KEY_REFUSED),
        ("session_key_expired", EXIT_KEY_REFUSED),
        ("session_key_used", EXIT_KEY_REFUSED),
        ("protocol_mismatch", EXIT_PROTOCOL_MISMATCH),
        ("session_ended", EXIT_OK),
        ("bad_proof", EXIT_ERROR),
    ],
)
def test_refusals_map_to_exit_codes_and_clean_up(code: str, exit_code: int) -> None:
    mode = AttendedMode("ABCD-EFGH-JKMN")
    assert (mode.workdir / "device.key").exists()
    outcome = mode.refused(code, "the server's words")
    assert outcome.exit_code == exit_code
    assert not mode.workdir.exists()


def test_end_removes_everything_it_wrote_and_what_it_was_told_to(tmp_path: Path) -> None:
    installed = tmp_path / "venv"
    installed.mkdir()
    (installed / "file").write_text("x")
    mode = AttendedMode("ABCD-EFGH-JKMN", remove_on_exit=[installed])
    mode.established(3, 9)
    assert mode.hello().credential.kind == "resume"
    cleaned, outcome = mode.end("The technician ended the support session.")
    assert cleaned and outcome.exit_code == EXIT_OK
    assert not installed.exists() and not mode.workdir.exists()


def test_first_hello_presents_the_key_and_later_ones_resume() -> None:
    mode = AttendedMode("ABCD-EFGH-JKMN")
    first = mode.hello()
    assert first.credential.kind == "session_key"
    mode.established(5, 7)
    again = mode.hello()
    assert again.credential.model_dump() == {"kind": "resume", "device_id": 5, "session_id": 7}
    assert again.public_key == first.public_key
    mode.cleanup()


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    backoff = link.Backoff(first=0.5, factor=2, ceiling=30)
    for attempt in range(12):
        bound = min(30, 0.5 * 2**attempt)
        delays = {backoff.delay(attempt) for _ in range(50)}
        assert all(bound / 2 <= d <= bound for d in delays)
        assert len(delays) > 1  # jitter: agents cut off together do not return together


@pytest.mark.parametrize(
    ("server", "url"),
    [
        ("https://support.example.com", "wss://support.example.com/agent/ws"),
        ("http://127.0.0.1:8000/", "ws://127.0.0.1:8000/agent/ws"),
        ("https://example.com/relaydesk", "wss://example.com/relaydesk/agent/ws"),
    ],
)
def test_control_url(server: str, url: str) -> None:
    assert link.control_url(server) == url


@pytest.mark.parametrize("server", ["support.example.com", "ftp://x", "https://"])
def test_bad_server_addresses_are_refused(server: str) -> None:
    with pytest.raises(ValueError, match="is not a server address"):
        link.control_url(server)
