"""The installed agent without sockets (issue 13, UNA-2): the installer and device credentials
cross the channel, a welcome without a session establishes it, and the agent's state folder
keeps its key (0600) and device id (folder 0700) so that it comes back by its device credential;
a bad installer credential is a protocol error, not a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relaydesk.agent.installed import InstalledMode, StateFolderError
from relaydesk.protocol import control
from relaydesk.protocol.codec import ProtocolError, parse_agent_message
from relaydesk.protocol.messages import DeviceCredential, InstallerCredential


def test_an_installer_enrolment_is_welcomed_without_a_session(tmp_path: Path) -> None:
    mode = InstalledMode(tmp_path / "state", "rdi_token")
    assert mode.hello().credential == InstallerCredential(kind="installer", token="rdi_token")
    agent = control.AgentConnection(mode.hello(), mode.key)
    server = control.ServerConnection()
    agent.start()
    [hello] = [e for f in agent.data_to_send() for e in server.receive(f)]
    assert isinstance(hello, control.HelloReceived)
    assert hello.hello.credential.kind == "installer"
    server.challenge()
    for frame in server.data_to_send():
        agent.receive(frame)
    assert [e for f in agent.data_to_send() for e in server.receive(f)] == [control.ProofAccepted()]
    server.welcome(17, None, 30)
    [established] = [e for f in server.data_to_send() for e in agent.receive(f)]
    assert established == control.Established(17, None, 30)

    mode.established(17, None)
    state = tmp_path / "state"
    assert (state / "device").read_text() == "17\n"
    assert oct(state.stat().st_mode & 0o777) == "0o700"
    assert oct((state / "device.key").stat().st_mode & 0o777) == "0o600"
    # Started again (a reboot, a crash): the same key, and its device credential.
    again = InstalledMode(state, None)
    assert again.key.public_key_b64 == mode.key.public_key_b64
    assert again.hello().credential == DeviceCredential(kind="device", device_id=17)


def test_an_agent_never_enrolled_needs_an_installer_token(tmp_path: Path) -> None:
    with pytest.raises(StateFolderError, match="--installer TOKEN"):
        InstalledMode(tmp_path / "state", None)


@pytest.mark.parametrize(
    "credential",
    [
        {"kind": "installer", "token": ""},
        {"kind": "installer", "token": "x" * 129},
        {"kind": "device", "device_id": 0},
        {"kind": "installer"},
    ],
)
def test_bad_installed_credentials_are_protocol_errors(credential: dict[str, object]) -> None:
    frame = json.dumps(
        {
            "type": "hello",
            "protocol": 1,
            "agent_version": "x",
            "mode": "unattended",
            "public_key": "AAAA",
            "credential": credential,
            "device": {"hostname": "pc", "os": "Linux"},
        }
    )
    with pytest.raises(ProtocolError):
        parse_agent_message(frame)
