"""agent/system_install.py into a scratch folder instead of / (no systemd needed): the layout and
its modes after a real enrolment with a real server, a re-run that keeps the device, uninstall
removing exactly what install made and telling the server (the device leaves the device list, the
audit log has device.uninstalled; an unreachable server does not stop it), a refused installer
changing nothing on disk, the configuration file's errors; the protocol's uninstall reaching the
agent's state machine, and a real agent deleted from the list reporting its uninstall done."""

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
from tests.fixtures.common import eventually
from tests.fixtures.disk import snapshot
from tests.fixtures.technician import Technician

PIN = "ab" * 32


def new_installer(technician: Technician, **body: Any) -> dict[str, Any]:
    response = technician.http.post("/api/v1/installers", json={"company": "Acme", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def mode_of(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


def listed_ids(technician: Technician) -> list[int]:
    response = technician.http.get("/api/v1/devices", params={"limit": 200})
    assert response.status_code == 200, response.text
    return [device["id"] for device in response.json()["devices"]]


def audit_entries(technician: Technician, action: str) -> list[dict[str, Any]]:
    response = technician.http.get("/api/v1/audit", params={"action": action, "limit": 50})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


LAYOUT_FOLDERS = {
    # Folders of the layout that may hold other programs' files stay.
    "opt": ("dir", ""),
    "var": ("dir", ""),
    "var/lib": ("dir", ""),
    "etc/systemd": ("dir", ""),
    "etc/systemd/system": ("dir", ""),
    "etc/systemd/system/multi-user.target.wants": ("dir", ""),
}


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

    # Uninstalled on the computer (what `relaydesk-agent uninstall` does): the server is told
    # first, as the device, and the device leaves the list; the audit log says who and why.
    assert done.device_id in listed_ids(technician)
    hostname = technician.http.get(f"/api/v1/devices/{done.device_id}").json()["hostname"]
    said: list[str] = []
    warned: list[str] = []
    assert system_install.is_installed(root)
    assert system_install.uninstall_and_tell(root=root, say=said.append, warn=warned.append)
    assert not system_install.is_installed(root)
    assert snapshot(root) == before | LAYOUT_FOLDERS
    assert warned == []
    assert said == ["The server was told: this device is removed from its device list."]
    assert done.device_id not in listed_ids(technician)
    assert technician.http.get(f"/api/v1/devices/{done.device_id}").status_code == 404
    [entry] = audit_entries(technician, "device.uninstalled")
    assert entry["actor_label"] == f"agent on {hostname}"
    assert entry["target"] == f"device:{done.device_id}"
    assert entry["details"]["hostname"] == hostname
    assert entry["details"]["reason"] == "uninstalled on the device"


def test_uninstall_goes_on_when_the_server_cannot_be_told(
    relaydesk_server: Any, tmp_path: Path
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    issued = new_installer(technician)
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    before = snapshot(root)
    done = system_install.install(
        Path(AGENT), relaydesk_server.url, None, issued["token"], root=root
    )
    relaydesk_server.stop()
    said: list[str] = []
    warned: list[str] = []
    told = system_install.uninstall_and_tell(
        root=root, say=said.append, warn=warned.append, patience=5
    )
    assert not told
    assert said == []
    [warning] = warned
    assert warning.startswith("The server was not told (could not reach the server at ")
    assert "uninstalling anyway" in warning and "delete it there" in warning
    assert snapshot(root) == before | LAYOUT_FOLDERS  # removed all the same
    # The server never heard it: the device stays in its list (offline) and nothing is audited.
    relaydesk_server.start()
    assert done.device_id in listed_ids(technician)
    assert audit_entries(technician, "device.uninstalled") == []


def test_a_deleted_device_reports_its_uninstall_done(relaydesk_server: Any, tmp_path: Path) -> None:
    """The remote path: the technician deletes an installed device whose real agent is
    connected; the agent removes itself and says so, and the audit log has its completion."""
    technician = Technician(relaydesk_server).sign_in_first_time()
    issued = new_installer(technician)
    state = tmp_path / "state"
    agent = subprocess.Popen(
        [AGENT, "--server", relaydesk_server.url, "--installer", issued["token"]]
        + ["--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        device_id = eventually(
            lambda: (state / "device").exists() and int((state / "device").read_text()),
            timeout=60,
            what="the agent enrolled",
        )
        eventually(
            lambda: technician.http.get(f"/api/v1/devices/{device_id}").json()["online"],
            timeout=60,
            what="the device online",
        )
        deleted = technician.http.delete(f"/api/v1/devices/{device_id}")
        assert deleted.status_code == 200, deleted.text
        output, _ = agent.communicate(timeout=60)
    finally:
        agent.kill()
        agent.wait()
    assert agent.returncode == 0, output
    assert not state.exists()
    [entry] = eventually(
        lambda: audit_entries(technician, "device.uninstalled"),
        timeout=30,
        what="device.uninstalled in the audit log",
    )
    assert entry["target"] == f"device:{device_id}"
    assert entry["actor_label"].startswith("agent on ")
    assert entry["details"]["reason"] == "deleted from the device list"
    assert [e["target"] for e in audit_entries(technician, "device.uninstall_sent")] == [
        f"device:{device_id}"
    ]


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
