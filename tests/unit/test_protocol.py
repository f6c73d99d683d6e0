"""The control-channel protocol without sockets: handshake, refusals, and whatever garbage either
side may receive (property-based)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaydesk.protocol import control, identity
from relaydesk.protocol.codec import ProtocolError, parse_agent_message, parse_server_message
from relaydesk.protocol.messages import (
    HANDSHAKE_FRAME_BYTES,
    MAX_FRAME_BYTES,
    MAX_PENDING_SYSINFO,
    PROTOCOL_VERSION,
    ChatEntry,
    ChatSend,
    ConsentAnswer,
    CustomerAction,
    CustomerState,
    DeviceFacts,
    Hello,
    Helper,
    SessionKeyCredential,
)


def hello(key: identity.DeviceKey, protocol: int = PROTOCOL_VERSION) -> Hello:
    return Hello(
        type="hello",
        protocol=protocol,
        agent_version="test",
        mode="attended",
        public_key=key.public_key_b64,
        credential=SessionKeyCredential(kind="session_key", key="ABCD-1234"),
        device=DeviceFacts(hostname="pc-042", os="Linux"),
    )


def pump(a: control._Connection, b: control._Connection) -> list[control.Event]:
    events: list[control.Event] = []
    for frame in a.data_to_send():
        events.extend(b.receive(frame))  # type: ignore[attr-defined]
    return events


def test_handshake_establishes_with_a_signed_nonce() -> None:
    key = identity.DeviceKey.generate()
    agent = control.AgentConnection(hello(key), key)
    server = control.ServerConnection()
    agent.start()
    [received] = pump(agent, server)
    assert isinstance(received, control.HelloReceived)
    assert received.hello.device.hostname == "pc-042"
    server.challenge()
    assert pump(server, agent) == []
    assert pump(agent, server) == [control.ProofAccepted()]
    server.welcome(7, 11, 20)
    assert pump(server, agent) == [control.Established(7, 11, 20)]

    server.request_sysinfo("r1")
    assert pump(server, agent) == [control.SysinfoWanted("r1")]
    agent.send_sysinfo("r1", {"hostname": "pc-042"})
    assert pump(agent, server) == [control.SysinfoReceived("r1", {"hostname": "pc-042"})]
    server.end_session("The technician ended the session.")
    assert pump(server, agent) == [control.EndRequested("The technician ended the session.")]
    agent.send_ended(True)
    assert pump(agent, server) == [control.AgentEnded(True)]
    assert server.closed and agent.closed


def test_a_proof_signed_by_another_key_is_refused() -> None:
    key, impostor = identity.DeviceKey.generate(), identity.DeviceKey.generate()
    agent = control.AgentConnection(hello(key), impostor)
    server = control.ServerConnection()
    agent.start()
    pump(agent, server)
    server.challenge()
    pump(server, agent)
    [closed] = pump(agent, server)
    assert closed == control.Closed("bad_proof", "The agent could not prove its identity.")
    [refused] = pump(server, agent)
    assert isinstance(refused, control.RefusedByServer) and refused.code == "bad_proof"


def test_protocol_version_mismatch_is_refused_with_advice() -> None:
    key = identity.DeviceKey.generate()
    agent = control.AgentConnection(hello(key, protocol=99), key)
    server = control.ServerConnection()
    agent.start()
    pump(agent, server)
    [refused] = pump(server, agent)
    assert isinstance(refused, control.RefusedByServer)
    assert refused.code == "protocol_mismatch"
    assert "version 1" in refused.message and "99" in refused.message


def test_unexpected_message_after_handshake_gets_an_error_and_the_channel_lives() -> None:
    key = identity.DeviceKey.generate()
    server = control.ServerConnection()
    server.receive(hello(key).model_dump_json())
    server.challenge()
    server.data_to_send()
    server.receive(json.dumps({"type": "proof", "signature": "AAAA"}))  # wrong → refused
    assert server.closed


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\xff\xfe", "malformed_json"),
        ("not json", "malformed_json"),
        ("[1, 2]", "not_an_object"),
        ("{}", "missing_type"),
        ('{"type": "launch"}', "unknown_type"),
        ('{"type": "proof"}', "invalid_message"),
        ('{"type": "proof", "signature": "x", "extra": 1}', "invalid_message"),
        ('{"type": "sysinfo", "request_id": "", "info": {}}', "invalid_message"),
        ("[" * 600_000 + "]" * 600_000, "frame_too_large"),
        ('{"type": "pong", "x": ' + "[" * 5000 + "]" * 5000 + "}", "malformed_json"),
    ],
)
def test_bad_frames_become_specific_protocol_errors(frame: str | bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as raised:
        parse_agent_message(frame)
    assert raised.value.code == code


def test_oversized_frame_limit() -> None:
    big = json.dumps({"type": "sysinfo", "request_id": "r", "info": {"x": "y" * MAX_FRAME_BYTES}})
    with pytest.raises(ProtocolError, match="exceeds"):
        parse_agent_message(big)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
message_like = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "hello",
                "proof",
                "sysinfo",
                "ended",
                "pong",
                "error",
                "challenge",
                "welcome",
                "refused",
                "sysinfo_request",
                "end",
                "ping",
                "x",
            ]
        )
    },
    optional={
        "code": json_values,
        "message": json_values,
        "nonce": json_values,
        "signature": json_values,
        "request_id": json_values,
        "info": json_values,
        "protocol": json_values,
        "credential": json_values,
        "device": json_values,
        "public_key": json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200), message_like.map(json.dumps)))
def test_parsers_only_ever_raise_protocol_errors(frame: str | bytes) -> None:
    for parse in (parse_agent_message, parse_server_message):
        try:
            parse(frame)
        except ProtocolError as error:
            assert error.code and error.message


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=80), message_like.map(json.dumps)), max_size=6))
def test_state_machines_survive_any_sequence_of_frames(frames: list[str]) -> None:
    key = identity.DeviceKey.generate()
    agent = control.AgentConnection(hello(key), key)
    agent.start()
    server = control.ServerConnection()
    for frame in frames:
        for event in agent.receive(frame) + server.receive(frame):
            assert isinstance(event, control.Event)
        for sent in agent.data_to_send() + server.data_to_send():
            json.loads(sent)


def established_pair() -> tuple[control.AgentConnection, control.ServerConnection]:
    key = identity.DeviceKey.generate()
    agent = control.AgentConnection(hello(key), key)
    server = control.ServerConnection()
    agent.start()
    pump(agent, server)
    server.challenge()
    pump(server, agent)
    pump(agent, server)
    server.welcome(7, 11, 20)
    pump(server, agent)
    return agent, server


def test_frames_before_the_handshake_are_limited_to_a_few_kib() -> None:
    server = control.ServerConnection()
    assert server.max_frame_bytes == HANDSHAKE_FRAME_BYTES
    padded = hello(identity.DeviceKey.generate()).model_dump_json()[:-1] + (
        ', "pad": "' + "x" * HANDSHAKE_FRAME_BYTES + '"}'
    )
    [closed] = server.receive(padded)
    assert closed == control.Closed(
        "frame_too_large",
        f"A frame of {len(padded)} bytes exceeds {HANDSHAKE_FRAME_BYTES} bytes "
        "(the limit before the handshake).",
    )
    assert server.closed
    assert json.loads(server.data_to_send()[0])["type"] == "refused"

    agent, established = established_pair()
    assert established.max_frame_bytes == MAX_FRAME_BYTES
    assert agent.max_frame_bytes == MAX_FRAME_BYTES


def test_binary_frames_are_a_protocol_error_not_a_crash() -> None:
    server = control.ServerConnection()
    [closed] = server.receive(b'{"type": "pong"}')
    assert isinstance(closed, control.Closed) and closed.code == "binary_frame"
    assert json.loads(server.data_to_send()[0])["code"] == "binary_frame"

    agent, server = established_pair()
    [bad] = server.receive(b"\x00\x01")
    assert isinstance(bad, control.BadFrame) and bad.code == "binary_frame"
    assert not server.closed  # after the handshake the channel lives on
    assert json.loads(server.data_to_send()[0]) == {
        "type": "error",
        "code": "binary_frame",
        "message": "Control messages are JSON text frames; a binary frame is not one.",
    }
    [bad] = agent.receive(b"\x00")
    assert isinstance(bad, control.BadFrame) and bad.code == "binary_frame"


def test_a_system_report_nobody_asked_for_is_dropped_with_an_error() -> None:
    agent, server = established_pair()
    agent.send_sysinfo("made-up", {"hostname": "x" * 1000})
    [bad] = pump(agent, server)
    assert isinstance(bad, control.BadFrame) and bad.code == "unsolicited_report"
    [error] = pump(server, agent)
    assert isinstance(error, control.PeerError) and error.code == "unsolicited_report"

    server.request_sysinfo("r1")
    pump(server, agent)
    agent.send_sysinfo("r1", {"hostname": "pc"})
    assert pump(agent, server) == [control.SysinfoReceived("r1", {"hostname": "pc"})]
    agent.send_sysinfo("r1", {"hostname": "pc"})  # an answer counts once
    [again] = pump(agent, server)
    assert isinstance(again, control.BadFrame) and again.code == "unsolicited_report"

    for n in range(MAX_PENDING_SYSINFO + 1):
        server.request_sysinfo(f"q{n}")
    agent.send_sysinfo("q0", {})  # forgotten: only the latest requests are remembered
    [forgotten] = pump(agent, server)
    assert isinstance(forgotten, control.BadFrame)
    agent.send_sysinfo(f"q{MAX_PENDING_SYSINFO}", {})
    assert pump(agent, server) == [control.SysinfoReceived(f"q{MAX_PENDING_SYSINFO}", {})]


def test_the_customers_window_state_and_answers_cross_the_channel() -> None:
    agent, server = established_pair()
    state = CustomerState(
        type="customer_state",
        status="active",
        helper=Helper(name="Alice 爱丽丝", verified_domain="example.com"),
        screen_state="requested",
        screen_requested="control",
    )
    server.show_customer(state)
    server.chat_to_customer(
        ChatEntry(id=3, at="2026-12-03T12:00:00", sender="technician", sender_name="A", text="😀")
    )
    events = pump(server, agent)
    assert events == [
        control.CustomerStateChanged(state),
        control.ChatArrived(
            ChatEntry(
                id=3, at="2026-12-03T12:00:00", sender="technician", sender_name="A", text="😀"
            )
        ),
    ]
    said = [
        ConsentAnswer(type="consent", mode="control", allow=False),
        CustomerAction(type="customer_action", action="stop_sharing"),
        ChatSend(type="chat_send", text="你好"),
    ]
    for message in said:
        agent.send_customer(message)
    assert pump(agent, server) == [control.CustomerSpoke(message) for message in said]


def test_the_window_says_nothing_before_the_welcome_and_bad_answers_are_errors() -> None:
    key = identity.DeviceKey.generate()
    agent = control.AgentConnection(hello(key), key)
    agent.start()
    agent.data_to_send()
    agent.send_customer(ChatSend(type="chat_send", text="too early"))
    assert agent.data_to_send() == []
    _, server = established_pair()
    events = server.receive('{"type": "consent", "mode": "everything", "allow": true}')
    assert isinstance(events[0], control.BadFrame) and events[0].code == "invalid_message"
    assert not server.closed
