"""The files tunnel's frames and both ends' state machines, without sockets: round trips, named
errors for bad frames, and arbitrary input that never raises out of the parser."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaydesk.protocol import files as fp


def frame(header: object, payload: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack(">I", len(head)) + head + payload


def test_requests_round_trip_through_the_agent_end() -> None:
    agent = fp.AgentEnd()
    [listing] = agent.receive(frame({"t": "list", "id": 1, "path": "/srv"}))
    assert listing == fp.ListDir(t="list", id=1, path="/srv")
    [upload] = agent.receive(
        fp.encode(fp.Upload(t="upload", id=2, path="/srv/a.bin", size=5, offset=0))
    )
    assert isinstance(upload, fp.Upload) and upload.size == 5
    ready = fp.ConsoleEnd().receive(agent.upload_ready(2, 0))
    assert ready == fp.UploadReady(t="upload_ready", id=2, offset=0)
    [chunk] = agent.receive(fp.data_frame(2, b"abc"))
    assert chunk == fp.UploadChunk(2, b"abc", 3)
    [chunk] = agent.receive(fp.data_frame(2, b"de"))
    assert chunk == fp.UploadChunk(2, b"de", 5)
    digest = "0" * 64
    [end] = agent.receive(fp.encode(fp.UploadEnd(t="upload_end", id=2, sha256=digest)))
    assert end == fp.UploadEnd(t="upload_end", id=2, sha256=digest)
    done = fp.ConsoleEnd().receive(agent.upload_done(2, "/srv/a.bin", 5, digest))
    assert isinstance(done, fp.UploadDone) and done.size == 5
    assert agent.data_to_send() == []


def test_download_window_and_chunks() -> None:
    agent = fp.AgentEnd()
    agent.receive(frame({"t": "download", "id": 7, "path": "/x", "offset": 0, "window": 10}))
    assert agent.may_send(7, 9) and not agent.may_send(7, 10)
    agent.receive(frame({"t": "ack", "id": 7, "bytes": 6}))
    assert agent.may_send(7, 15) and not agent.may_send(7, 16)
    console = fp.ConsoleEnd()
    assert console.receive(fp.data_frame(7, b"xyz")) == fp.DownloadChunk(7, b"xyz")
    end = console.receive(agent.download_end(7, 3, "a" * 64))
    assert isinstance(end, fp.DownloadEnd) and not agent.may_send(7, 0)


def error_of(agent: fp.AgentEnd, message: bytes) -> fp.Error:
    events = agent.receive(message)
    assert len(events) == 1 and isinstance(events[0], fp.Violation)
    [sent] = agent.data_to_send()
    reply = fp.ConsoleEnd().receive(sent)
    assert isinstance(reply, fp.Error)
    return reply


@pytest.mark.parametrize(
    ("message", "code", "text"),
    [
        (b"", "bad_frame", "shorter than its length prefix"),
        (b"\x00\x00\x00\x09{}", "bad_frame", "shorter than its header length"),
        (b"\xff\xff\xff\xff", "bad_frame", "too large"),
        (frame({"t": "roots", "id": 1}) + b"x", "bad_frame", "carries no payload"),
        (b"\x00\x00\x00\x02[]", "bad_frame", "must be a JSON object"),
        (b"\x00\x00\x00\x02{x", "bad_frame", "not valid JSON"),
        (frame({"id": 1}), "bad_frame", "no type"),
        (frame({"t": "format_disk", "id": 1}), "bad_frame", "Unknown frame type 'format_disk'"),
        (frame({"t": "list", "id": 1}), "bad_frame", "path"),
        (frame({"t": "list", "id": 0, "path": "/"}), "bad_frame", "id"),
        (frame({"t": "list", "id": 1, "path": "/", "x": 1}), "bad_frame", "x"),
        (frame({"t": "upload", "id": 1, "path": "/a", "size": -1}), "bad_frame", "size"),
        (frame({"t": "upload_end", "id": 1, "sha256": "XYZ"}), "bad_request", "no open upload"),
        (fp.data_frame(3, b"abc"), "bad_request", "no open upload"),
    ],
)
def test_bad_frames_are_named(message: bytes, code: str, text: str) -> None:
    reply = error_of(fp.AgentEnd(), message)
    if text == "no open upload" and b"XYZ" in message:
        code, text = "bad_frame", "sha256"
    assert reply.code == code and text in reply.message


def test_upload_rules() -> None:
    agent = fp.AgentEnd()
    agent.receive(frame({"t": "upload", "id": 1, "path": "/a", "size": 4}))
    assert error_of(agent, fp.data_frame(1, b"ab")).message == "Data for no open upload."
    agent.upload_ready(1, 2)
    assert error_of(agent, frame({"t": "upload", "id": 1, "path": "/b", "size": 1})).code == (
        "bad_request"
    )
    assert error_of(agent, fp.data_frame(1, b"abc")).code == "size_mismatch"
    agent.receive(frame({"t": "upload", "id": 2, "path": "/a", "size": 4}))
    agent.upload_ready(2, 0)
    agent.receive(fp.data_frame(2, b"abc"))
    short = error_of(agent, frame({"t": "upload_end", "id": 2, "sha256": "0" * 64}))
    assert short.code == "size_mismatch" and "after 3 of 4 bytes" in short.message


def test_at_most_sixteen_transfers() -> None:
    agent = fp.AgentEnd()
    for n in range(1, fp.MAX_OPEN_TRANSFERS + 1):
        assert not isinstance(
            agent.receive(frame({"t": "download", "id": n, "path": "/a"}))[0], fp.Violation
        )
    assert error_of(agent, frame({"t": "download", "id": 99, "path": "/a"})).code == "busy"
    agent.receive(frame({"t": "cancel", "id": 1}))
    assert isinstance(
        agent.receive(frame({"t": "download", "id": 99, "path": "/a"}))[0], fp.Download
    )


headers = st.fixed_dictionaries(
    {
        "t": st.sampled_from(
            [
                "roots",
                "list",
                "stat",
                "mkdir",
                "rename",
                "delete",
                "upload",
                "data",
                "upload_end",
                "download",
                "ack",
                "cancel",
                "other",
            ]
        ),
        "id": st.one_of(st.integers(-5, 2**32), st.text(max_size=3), st.none()),
    },
    optional={
        "path": st.one_of(st.text(max_size=20), st.integers()),
        "to": st.text(max_size=20),
        "size": st.integers(-3, 2**60),
        "offset": st.integers(-3, 100),
        "window": st.integers(-3, 100),
        "bytes": st.integers(-3, 100),
        "sha256": st.sampled_from(["0" * 64, "z", ""]),
        "recursive": st.one_of(st.booleans(), st.integers()),
    },
)


@settings(max_examples=300)
@given(
    st.lists(st.one_of(st.binary(max_size=80), st.builds(frame, headers, st.binary(max_size=8))))
)
def test_agent_end_never_raises(messages: list[bytes]) -> None:
    agent = fp.AgentEnd()
    for message in messages:
        for event in agent.receive(message):
            if isinstance(event, fp.Upload):
                agent.upload_ready(event.id, 0)
        assert len(agent.uploads) + len(agent.downloads) <= fp.MAX_OPEN_TRANSFERS
        for sent in agent.data_to_send():
            assert isinstance(fp.ConsoleEnd().receive(sent), fp.Error)


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=80), st.builds(frame, headers, st.binary(max_size=8))))
def test_console_end_never_raises(message: bytes) -> None:
    fp.ConsoleEnd().receive(message)


@given(st.integers(1, 2**31 - 1), st.binary(max_size=300))
def test_data_frames_round_trip(request_id: int, payload: bytes) -> None:
    [chunk] = fp.AgentEnd(uploads={request_id: fp._UploadState(300, 0)}).receive(
        fp.data_frame(request_id, payload)
    )
    assert chunk == fp.UploadChunk(request_id, payload, len(payload))
