"""The shell tunnel's frames and the recorder's transcript, without sockets."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relaydesk.protocol import shell
from relaydesk.server.relay.recording import transcript_of


def test_round_trips() -> None:
    assert shell.parse(shell.data("héllo".encode())) == shell.Data("héllo".encode())
    assert shell.parse(shell.resize(120, 40)) == shell.Resize(120, 40)
    assert shell.parse(shell.exited(-15)) == shell.Exit(-15)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", "empty frame"),
        (b"\x01\x00\x50", "resize frame of 2 bytes"),
        (b"\x01\x00\x00\x00\x18", "out of range"),
        (b"\x01\x27\x10\x00\x18", "out of range"),
        (b"\x02\x00", "exit frame of 1 bytes"),
        (b"\x07abc", "unknown frame type 7"),
    ],
)
def test_bad_frames_are_named(frame: bytes, reason: str) -> None:
    with pytest.raises(shell.ShellFrameError, match=reason):
        shell.parse(frame)


@given(st.binary(max_size=64))
def test_parser_only_raises_its_own_error(frame: bytes) -> None:
    with contextlib.suppress(shell.ShellFrameError):
        shell.parse(frame)


def test_transcript_strips_escapes_and_resolves_carriage_returns() -> None:
    output = (
        b"\x1b[1;32muser@pc\x1b[0m:~$ echo hi\r\nhi\r\n"
        b"progress 10%\rprogress 100%\r\n\x1b]0;title\x07done"
    )
    assert transcript_of(output) == "user@pc:~$ echo hi\nhi\nprogress 100%\ndone"
