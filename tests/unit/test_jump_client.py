"""Becoming an installed Jump client, without sockets (UNA-1, TOOL-9): the four messages cross
the control channel in both state machines; the customer's window model asks the question and
turns Allow/Deny into the answer for that request, and drops it when the portal page answered;
with no window the agent leaves the question to the portal page; a refused token installs
nothing. The whole flow runs in tests/e2e/test_install_jump_client.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

from relaydesk.agent.desktop.state import CustomerDesk
from relaydesk.agent.jump_client import JumpClientInstaller
from relaydesk.protocol import control, identity
from relaydesk.protocol.messages import (
    PROTOCOL_VERSION,
    ConsentAnswer,
    CustomerState,
    DeviceFacts,
    Hello,
    JumpClientAnswer,
    JumpClientAsk,
    JumpClientInstall,
    JumpClientResult,
    SessionKeyCredential,
)

ASK = JumpClientAsk(type="jump_client_ask", request_id=7, technician="Ada")


def established() -> tuple[control.AgentConnection, control.ServerConnection]:
    key = identity.DeviceKey.generate()
    agent = control.AgentConnection(
        Hello(
            type="hello",
            protocol=PROTOCOL_VERSION,
            agent_version="test",
            mode="attended",
            public_key=key.public_key_b64,
            credential=SessionKeyCredential(kind="session_key", key="ABCD-1234"),
            device=DeviceFacts(hostname="pc-042", os="Linux"),
        ),
        key,
    )
    server = control.ServerConnection()
    agent.start()
    for frame in agent.data_to_send():
        server.receive(frame)
    server.challenge()
    for frame in server.data_to_send():
        agent.receive(frame)
    for frame in agent.data_to_send():
        server.receive(frame)
    server.welcome(1, 2, 20)
    for frame in server.data_to_send():
        agent.receive(frame)
    assert agent.established and server.established
    return agent, server


def test_the_messages_cross_the_channel_both_ways() -> None:
    agent, server = established()
    install = JumpClientInstall(type="jump_client_install", request_id=7, token="rdi_x")
    for message in (ASK, install):
        server.jump_client(message)
        (event,) = [e for f in server.data_to_send() for e in agent.receive(f)]
        assert event == control.JumpClientCommanded(message)
    answer = JumpClientAnswer(type="jump_client_answer", request_id=7, allow=True)
    result = JumpClientResult(type="jump_client_result", request_id=7, installed=True)
    agent.send_customer(answer)  # the window's answer goes out as the customer's other words
    agent.send_jump_client(result)
    events = [e for f in agent.data_to_send() for e in server.receive(f)]
    assert events == [control.JumpClientReported(answer), control.JumpClientReported(result)]


def test_the_window_asks_and_answers_for_that_request() -> None:
    desk = CustomerDesk()
    desk.apply_state(CustomerState(type="customer_state", status="active", screen_requested=""))
    assert desk.prompt is None
    desk.jump_client(ASK)
    prompt = desk.prompt
    assert prompt is not None and prompt.mode == "install"
    assert prompt.question.startswith(
        "Ada wants to install a permanent remote access client on this computer."
    )
    assert desk.answer(False) == JumpClientAnswer(
        type="jump_client_answer", request_id=7, allow=False
    )
    assert desk.prompt is None and desk.answer(True) is None
    # A screen request asked meanwhile is the next question, answered as before.
    desk.apply_state(CustomerState(type="customer_state", status="active", screen_requested="view"))
    assert desk.answer(True) == ConsentAnswer(type="consent", mode="view", allow=True)


def test_with_no_window_the_portal_page_asks() -> None:
    said: list[str] = []
    installer = JumpClientInstaller("http://127.0.0.1:9", None, said.append, Path("/nowhere"))
    assert asyncio.run(installer.command(ASK, None)) is None  # nothing answered for him
    assert said == [
        "Ada asks to install a permanent remote access client on this computer; answer on the "
        "support page in your browser."
    ]


def test_allowed_on_the_portal_page_the_windows_question_goes() -> None:
    desk = CustomerDesk()
    desk.apply_state(CustomerState(type="customer_state", status="active"))
    desk.jump_client(ASK)
    desk.jump_client(JumpClientInstall(type="jump_client_install", request_id=8, token="t"))
    assert desk.prompt is not None  # another request's installation: still asked
    desk.jump_client(JumpClientInstall(type="jump_client_install", request_id=7, token="t"))
    assert desk.prompt is None


def test_a_failed_installation_is_reported_and_installs_nothing(tmp_path: Path) -> None:
    said: list[str] = []
    installer = JumpClientInstaller("not a server", None, said.append, tmp_path)
    result = installer.install(
        JumpClientInstall(type="jump_client_install", request_id=7, token="rdi_x")
    )
    assert (result.installed, result.request_id) == (False, 7)
    assert result.message.startswith("The installation failed: ")
    assert list(tmp_path.iterdir()) == []
