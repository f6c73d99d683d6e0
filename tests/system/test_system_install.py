"""agent/system_install.py into a scratch folder instead of / (no systemd needed): the layout and
its modes after a real enrolment with a real server, a re-run that keeps the device, uninstall
removing exactly what install made, a refused installer changing nothing on disk, the
configuration file's errors; and the protocol's uninstall reaching the agent's state machine."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from relaydesk.agent import system_install
from relaydesk.agent.installed import InstalledMode
from relaydesk.agent.system_install import EnrolmentRefused, InstallError
from relaydesk.protocol import control
from relaydesk.protocol.messages import Uninstall
from relaydesk.server.downloads.install_script import install_script
from relaydesk.server.downloads.support_client import ServedClient
from relaydesk.server.tls import Pins
from tests.fixtures.agents import AGENT
from tests.fixtures.disk import snapshot
from tests.fixtures.technician import Technician

PIN = "ab" * 32


def new_installer(technician: Technician, **body: Any) -> dict[str, Any]:
    response = technician.http.post("/api/v1/installers", json={"company": "Acme", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def mode_of(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


def test_install_lays_out_enrols_keeps_the_device_and_uninstall_removes_it_all(
    relaydesk_server: Any, tmp_path: Path
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    issued = new_installer(technician, max_installations=1)
    root = tmp_path / "root"
    (root / "etc" / "hostname").parent.mkdir(parents=True)
    (root / "etc" / "hostname").write_text("pc-1\n")
    before = snapshot(root)

    done = system_install.install(
        Path(AGENT), relaydesk_server.url, None, issued["token"], root=root
    )

    assert done.device_id and not done.started  # no systemd under a scratch folder
    assert done.executable == root / "opt/relaydesk-agent/relaydesk-agent"
    assert done.executable.read_bytes() == Path(AGENT).read_bytes()
    assert mode_of(done.executable) == "0o755"
    assert mode_of(done.state_dir) == "0o700"
    assert mode_of(done.state_dir / "device.key") == "0o600"
    assert (done.state_dir / "device").read_text() == f"{done.device_id}\n"
    assert system_install.read_config(done.config) == system_install.AgentConfig(
        relaydesk_server.url, None
    )
    assert "Restart=always" in done.unit.read_text()
    assert done.wanted_by.is_symlink()
    assert str(done.wanted_by.readlink()) == "/etc/systemd/system/relaydesk-agent.service"
    history = technician.http.get(f"/api/v1/devices/{done.device_id}/sessions").json()
    assert history["kind"] == "unattended"

    # Again (the installer's only installation is used): the same device and key, no enrolment.
    key = (done.state_dir / "device.key").read_bytes()
    again = system_install.install(Path(AGENT), relaydesk_server.url, None, "", root=root)
    assert again.device_id == done.device_id
    assert (done.state_dir / "device.key").read_bytes() == key
    assert technician.http.get("/api/v1/installers").json()[0]["used"] == 1

    assert system_install.is_installed(root)
    system_install.uninstall(root=root)
    assert not system_install.is_installed(root)
    assert snapshot(root) == before | {
        # Folders of the layout that may hold other programs' files stay.
        "opt": ("dir", ""),
        "var": ("dir", ""),
        "var/lib": ("dir", ""),
        "etc/systemd": ("dir", ""),
        "etc/systemd/system": ("dir", ""),
        "etc/systemd/system/multi-user.target.wants": ("dir", ""),
    }


@pytest.mark.parametrize("why", ["revoked", "unknown"])
def test_a_refused_installer_changes_nothing_on_disk(
    relaydesk_server: Any, tmp_path: Path, why: str
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    issued = new_installer(technician)
    token = issued["token"] if why == "revoked" else "rdi_" + "x" * 43
    technician.post(f"/api/v1/installers/{issued['installer']['id']}/revoke")
    root = tmp_path / "root"
    (root / "var" / "lib").mkdir(parents=True)
    before = snapshot(root)
    with pytest.raises(EnrolmentRefused) as refused:
        system_install.install(Path(AGENT), relaydesk_server.url, None, token, root=root)
    assert refused.value.code == f"installer_{why}"
    assert snapshot(root) == before


def test_bad_arguments_are_refused_before_anything_is_done(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="not a server address"):
        system_install.install(Path(AGENT), "example.com", None, "rdi_x", root=tmp_path)
    with pytest.raises(InstallError, match="needs an https:// server"):
        system_install.install(Path(AGENT), "http://example.com", PIN, "rdi_x", root=tmp_path)
    with pytest.raises(InstallError, match="not the agent's executable"):
        system_install.install(tmp_path / "none", "https://x.example", None, "rdi", root=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "names no server"),
        ("server = example.com\n", "is not a server address"),
        ("server = https://x.example\npin_sha256 = 12\n", "is not a SHA-256 fingerprint"),
        ("server = https://x.example\nport = 3\n", "line 2: expected"),
    ],
)
def test_configuration_errors_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "agent.conf"
    config.write_text(text)
    with pytest.raises(InstallError, match=message):
        system_install.read_config(config)


def test_the_configuration_reads_back_what_install_writes(tmp_path: Path) -> None:
    config = tmp_path / "agent.conf"
    written = system_install.AgentConfig("https://support.example.com:8443", PIN)
    config.write_text(system_install.config_text(written))
    assert system_install.read_config(config) == written


def test_uninstall_reaches_the_agent_after_its_hello_and_once_welcomed(tmp_path: Path) -> None:
    mode = InstalledMode(tmp_path / "state", "rdi_token")
    message = Uninstall(type="uninstall", reason="deleted").model_dump_json()
    # A deleted device's hello: the server answers its proof with uninstall, not a welcome.
    agent = control.AgentConnection(mode.hello(), mode.key)
    assert agent.receive(message)[0] == control.BadFrame(
        "unexpected_message", "'uninstall' is not expected now."
    )
    agent.start()
    assert agent.receive(message) == [control.UninstallRequested("deleted")]
    assert agent.closed
    # Once welcomed.
    agent = control.AgentConnection(mode.hello(), mode.key)
    server = control.ServerConnection()
    agent.start()
    for frame in agent.data_to_send():
        server.receive(frame)
    server.challenge()
    for frame in server.data_to_send():
        agent.receive(frame)
    for frame in agent.data_to_send():
        server.receive(frame)
    server.welcome(5, None, 30)
    server.uninstall("The device was deleted.")
    events = [e for f in server.data_to_send() for e in agent.receive(f)]
    assert events == [
        control.Established(5, None, 30),
        control.UninstallRequested("The device was deleted."),
    ]
    # The agent started by hand with --state-dir removes that folder and exits 0.
    outcome = mode.uninstall("The device was deleted.")
    assert outcome.exit_code == 0
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("pinned", [True, False])
def test_the_install_script_is_valid_sh_and_pins_a_self_signed_server(
    tmp_path: Path, pinned: bool
) -> None:
    pins = Pins(certificate_sha256=PIN, public_key_sha256="c3BraQ==") if pinned else None
    client = ServedClient(tmp_path / "agent", "0f" * 32, 101_000_000)
    script = install_script("https://host:8443/", pins, client)
    path = tmp_path / "install.sh"
    path.write_text(script)
    assert subprocess.run(["sh", "-n", str(path)], check=False).returncode == 0
    assert "SERVER=https://host:8443\n" in script
    assert f'echo "{"0f" * 32}  $agent" | sha256sum -c --status' in script
    assert ("--insecure --pinnedpubkey 'sha256//c3BraQ=='" in script) is pinned
    assert (f"--pin-sha256 '{PIN}'" in script) is pinned
    # Without the token the script stops before fetching anything.
    done = subprocess.run(["sh", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "give the installer token" in done.stderr
    assert not list(tmp_path.glob("relaydesk-install.*"))


def test_a_server_without_the_built_agent_says_so() -> None:
    script = install_script("https://host", None, None)
    assert "this server has no agent to install" in script
    assert "/portal/download/support-client" not in script
