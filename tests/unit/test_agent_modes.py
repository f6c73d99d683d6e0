"""The attended agent's decisions without a network: what each refusal means for its exit code,
that it cleans up after itself, and how its reconnection backoff spreads out."""

from __future__ import annotations

import os
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
from relaydesk.agent.private_folder import AlreadyRunning, PrivateFolder, PrivateFolderError

SERVER = "wss://support.example.com/agent/ws"


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
def test_refusals_map_to_exit_codes_and_clean_up(code: str, exit_code: int, tmp_path: Path) -> None:
    mode = AttendedMode("ABCD-EFGH-JKMN", SERVER, folder_base=tmp_path)
    assert (mode.workdir / "device.key").exists()
    outcome = mode.refused(code, "the server's words")
    assert outcome.exit_code == exit_code
    assert not mode.workdir.exists()


def test_end_removes_everything_it_wrote_and_what_it_was_told_to(tmp_path: Path) -> None:
    installed = tmp_path / "venv"
    installed.mkdir()
    (installed / "file").write_text("x")
    mode = AttendedMode("ABCD-EFGH-JKMN", SERVER, remove_on_exit=[installed], folder_base=tmp_path)
    mode.established(3, 9)
    assert mode.hello().credential.kind == "resume"
    cleaned, outcome = mode.end("The technician ended the support session.")
    assert cleaned and outcome.exit_code == EXIT_OK
    assert not installed.exists() and not mode.workdir.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # the user's folder went with it


def test_first_hello_presents_the_key_and_later_ones_resume(tmp_path: Path) -> None:
    mode = AttendedMode("ABCD-EFGH-JKMN", SERVER, folder_base=tmp_path)
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


def crash(folder: PrivateFolder) -> None:
    """What the kernel does when the agent's process dies: its lock goes."""
    assert folder._lock_fd is not None
    os.close(folder._lock_fd)
    folder._lock_fd = None


def test_a_restarted_agent_finds_its_key_and_enrolment_again(tmp_path: Path) -> None:
    first = AttendedMode("abcd efgh-jkmn", SERVER, folder_base=tmp_path)
    first.established(5, 7)
    assert (first.workdir / "device.key").stat().st_mode & 0o777 == 0o600
    assert first.workdir.parent.stat().st_mode & 0o777 == 0o700
    with pytest.raises(AlreadyRunning):  # the same key, while the first one runs
        AttendedMode("ABCD-EFGH-JKMN", SERVER, folder_base=tmp_path)
    crash(first.folder)

    again = AttendedMode("ABCD-EFGH-JKMN", SERVER, folder_base=tmp_path)
    assert again.workdir == first.workdir
    assert again.key.public_key_b64 == first.key.public_key_b64
    assert again.hello().credential.model_dump() == {
        "kind": "resume",
        "device_id": 5,
        "session_id": 7,
    }
    other_server = AttendedMode("ABCD-EFGH-JKMN", "wss://elsewhere/agent/ws", folder_base=tmp_path)
    assert other_server.workdir != again.workdir
    assert other_server.hello().credential.kind == "session_key"


def test_folders_of_agents_that_are_gone_are_removed_at_the_next_start(tmp_path: Path) -> None:
    crashed = PrivateFolder.claim(SERVER, "AAAA-AAAA-AAAA", tmp_path)
    crashed.device_key()
    running = PrivateFolder.claim(SERVER, "BBBB-BBBB-BBBB", tmp_path)
    crash(crashed)
    PrivateFolder.claim(SERVER, "CCCC-CCCC-CCCC", tmp_path)
    assert not crashed.path.exists()
    assert running.path.exists()


def test_keys_are_kept_only_in_a_folder_of_the_users_own(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / f"relaydesk-agent-{os.getuid()}").symlink_to(elsewhere)
    with pytest.raises(PrivateFolderError, match="not a folder of this user's"):
        PrivateFolder.claim(SERVER, "AAAA-AAAA-AAAA", tmp_path)
