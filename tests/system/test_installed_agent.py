"""The installed agent under a real systemd (issue 13, UNA-2/UNA-4): a Debian container booted by
systemd-nspawn, the administrator's one-line install command run in it as root against a real
server with a self-signed certificate (so the command and the agent must pin it), the device in
the server's list within seconds, the service surviving a reboot and a kill -9, and the uninstall
leaving nothing behind. Refused installers (unknown, revoked, expired) and a non-root user install
nothing and say why."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fixtures.common import eventually
from tests.fixtures.systemd_container import Container
from tests.fixtures.technician import Technician

UNIT = "relaydesk-agent.service"
INSTALLED = (
    "/opt/relaydesk-agent",
    "/etc/relaydesk-agent",
    "/var/lib/relaydesk-agent",
    "/var/lib/.relaydesk-agent.enrolling",
    "/etc/systemd/system/relaydesk-agent.service",
    "/etc/systemd/system/multi-user.target.wants/relaydesk-agent.service",
)


class Administrator:
    """The console's API over HTTPS (the server's certificate is self-signed)."""

    def __init__(self, server: Any) -> None:
        self.http = Technician(server, verify=False).sign_in_first_time().http

    def new_installer(self, **body: Any) -> dict[str, Any]:
        response = self.http.post("/api/v1/installers", json={"company": "Acme", **body})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def device(self, device_id: int) -> dict[str, Any]:
        response = self.http.get(f"/api/v1/devices/{device_id}/sessions")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def online(self, device_id: int) -> bool:
        return bool(self.device(device_id)["online"])

    def used(self, installer_id: int) -> int:
        listed = {i["id"]: i for i in self.http.get("/api/v1/installers").json()}
        return int(listed[installer_id]["used"])


def nothing_installed(container: Container) -> list[str]:
    return container.left_on_disk(INSTALLED)


def journal(container: Container) -> str:
    return container.run("journalctl --no-pager -u relaydesk-agent.service").stdout


def service(container: Container, prop: str) -> str:
    return container.unit_property(UNIT, prop)


def test_refused_installers_and_a_plain_user_install_nothing(
    tls_server: Any, systemd_container: Container
) -> None:
    admin = Administrator(tls_server)
    revoked = admin.new_installer()
    assert admin.http.post(f"/api/v1/installers/{revoked['installer']['id']}/revoke").is_success
    expires = datetime.now(UTC) + timedelta(seconds=3)
    expired = admin.new_installer(expires_at=expires.isoformat())
    usable = admin.new_installer()
    unknown = usable["install_command"].replace(usable["token"], "rdi_" + "x" * 43)

    # Not root: refused before anything is fetched.
    as_nobody = systemd_container.run(usable["install_command"], check=False, user="65534")
    assert as_nobody.returncode == 1, as_nobody
    assert "run this as root" in as_nobody.stderr

    eventually(lambda: datetime.now(UTC) > expires + timedelta(seconds=1), 30, "the expiry")
    for command, message, code in (
        (unknown, "This installer token is not known.", "installer_unknown"),
        (revoked["install_command"], "This installer was revoked.", "installer_revoked"),
        (expired["install_command"], "This installer has expired.", "installer_expired"),
    ):
        before = sorted(p.name for p in systemd_container.path("/var/lib").iterdir())
        done = systemd_container.run(command, check=False)
        assert done.returncode == 2, done
        assert message in done.stderr and f"({code})" in done.stderr, done.stderr
        assert "not installed" in done.stderr
        assert nothing_installed(systemd_container) == []
        assert sorted(p.name for p in systemd_container.path("/var/lib").iterdir()) == before
    assert systemd_container.run("systemctl cat relaydesk-agent.service", check=False).returncode
    assert admin.used(usable["installer"]["id"]) == 0
    assert admin.used(revoked["installer"]["id"]) == admin.used(expired["installer"]["id"]) == 0


def test_the_installed_agent_survives_reboots_and_kills_and_uninstalls_cleanly(
    tls_server: Any, systemd_container: Container
) -> None:
    admin = Administrator(tls_server)
    issued = admin.new_installer(max_installations=1)
    command = issued["install_command"]
    # What the administrator copies: the script's address carries no token, curl accepts only
    # this server's public key, the token is the script's argument.
    assert issued["token"] not in issued["download_url"]
    assert issued["download_url"] == f"{tls_server.url}/portal/install.sh"
    assert "--pinnedpubkey 'sha256//" in command or "--pinnedpubkey sha256//" in command
    assert command.endswith(f"| sh -s -- --installer {issued['token']}")
    assert issued["silent_command"] == f"{command} --quiet"

    started = time.monotonic()
    done = systemd_container.run(command)
    device_id = int(systemd_container.path("/var/lib/relaydesk-agent/device").read_text())
    assert f"installed as device {device_id} and running" in done.stdout, done.stdout
    eventually(lambda: admin.online(device_id), 30, "the installed device to be online")
    print(f"installed and online in {time.monotonic() - started:.1f} s")
    assert admin.device(device_id)["kind"] == "unattended"
    assert admin.used(issued["installer"]["id"]) == 1

    # The layout: the key on the device only, readable by root only; the pin in the config.
    state = systemd_container.path("/var/lib/relaydesk-agent")
    assert oct(state.stat().st_mode & 0o777) == "0o700"
    assert oct((state / "device.key").stat().st_mode & 0o777) == "0o600"
    assert (state / "device.key").stat().st_uid == 0
    config = systemd_container.path("/etc/relaydesk-agent/agent.conf").read_text()
    assert f"server = {tls_server.url}\n" in config
    assert f"pin_sha256 = {tls_server.tls_fingerprint.replace(':', '').lower()}\n" in config
    unit = systemd_container.path("/etc/systemd/system/relaydesk-agent.service").read_text()
    assert "ExecStart=/opt/relaydesk-agent/relaydesk-agent run\n" in unit
    assert "Restart=always\n" in unit and "WantedBy=multi-user.target\n" in unit
    checked = systemd_container.run("systemd-analyze verify relaydesk-agent.service 2>&1")
    assert "relaydesk-agent.service" not in checked.stdout, checked.stdout  # no complaint
    assert systemd_container.run("systemctl is-enabled relaydesk-agent").stdout.strip() == "enabled"
    assert service(systemd_container, "ActiveState") == "active"
    assert (
        oct(systemd_container.path("/opt/relaydesk-agent/relaydesk-agent").stat().st_mode & 0o777)
        == "0o755"
    )

    # Run again (a configuration-management tool applies its recipe every hour): the same
    # device, no second installation counted, nothing asked, nothing printed.
    again = systemd_container.run(issued["silent_command"])
    assert again.stdout == "" and again.stderr == "", again
    assert int(systemd_container.path("/var/lib/relaydesk-agent/device").read_text()) == device_id
    assert admin.used(issued["installer"]["id"]) == 1
    eventually(lambda: admin.online(device_id), 30, "the device online after the re-run")

    # A reboot: off, the device goes offline; booted again, systemd starts the agent.
    systemd_container.poweroff()
    eventually(lambda: not admin.online(device_id), 30, "the device offline while powered off")
    systemd_container.boot()
    eventually(lambda: admin.online(device_id), 60, "the device online again after the boot")

    # Killed: systemd restarts it (Restart=always) and it comes back as the same device.
    killed = int(service(systemd_container, "MainPID"))
    assert killed > 0
    systemd_container.run(f"kill -9 {killed}")
    eventually(
        lambda: (
            service(systemd_container, "NRestarts") == "1"
            and int(service(systemd_container, "MainPID")) not in (0, killed)
        ),
        60,
        "systemd to restart the killed agent",
    )
    eventually(lambda: admin.online(device_id), 60, "the device online after the restart")
    assert admin.used(issued["installer"]["id"]) == 1

    # The server restarts (an upgrade): the agent reconnects by itself, with its backoff.
    tls_server.stop()
    eventually(
        lambda: "Cannot reach the server" in journal(systemd_container),
        60,
        "the agent to notice that the server is gone",
    )
    tls_server.start()
    eventually(lambda: admin.online(device_id), 90, "the device online after the server's restart")
    assert service(systemd_container, "NRestarts") == "1"  # the same process reconnected

    # Uninstall, as documented: the unit, files, configuration and key are gone.
    removed = systemd_container.run("/opt/relaydesk-agent/relaydesk-agent uninstall")
    assert "uninstalled" in removed.stdout, removed
    assert "The server was told" in removed.stdout, removed
    assert nothing_installed(systemd_container) == []
    assert systemd_container.unit_gone(UNIT)
    # The server heard it before the key went: the device is gone from the device list, and the
    # audit log says the device itself uninstalled it.
    gone = admin.http.get(f"/api/v1/devices/{device_id}")
    assert gone.status_code == 404, gone.text
    audited = admin.http.get("/api/v1/audit", params={"action": "device.uninstalled"}).json()
    [entry] = audited["items"]
    assert entry["target"] == f"device:{device_id}"
    assert entry["details"]["reason"] == "uninstalled on the device"
    assert not systemd_container.run("pgrep -f relaydesk-agent", check=False).stdout


def test_a_device_deleted_in_the_console_uninstalls_itself_now_or_at_its_next_boot(
    tls_server: Any, systemd_container: Container
) -> None:
    admin = Administrator(tls_server)
    issued = admin.new_installer(max_installations=2)

    def install() -> int:
        systemd_container.run(issued["silent_command"])
        device_id = int(systemd_container.path("/var/lib/relaydesk-agent/device").read_text())
        eventually(lambda: admin.online(device_id), 30, "the installed device to be online")
        return device_id

    def removed_itself() -> None:
        """The agent took its unit, files and key away and exited; systemd did not restart it
        (a unit whose file is gone is not restarted)."""
        eventually(
            lambda: nothing_installed(systemd_container) == [],
            60,
            "the agent to remove its files",
        )
        eventually(lambda: systemd_container.unit_gone(UNIT), 60, "the service to be gone")
        assert not systemd_container.run("pgrep -f relaydesk-agent", check=False).stdout
        said = journal(systemd_container)
        assert "the agent uninstalled" in said, said[-3000:]
        assert "Scheduled restart job" not in said, said[-3000:]

    # Online: the console's delete reaches the agent at once.
    first = install()
    deleted = admin.http.delete(f"/api/v1/devices/{first}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["uninstall"] == "sent_now"
    removed_itself()

    # Offline (the computer is off): told at its next connection, after the boot.
    second = install()
    assert second != first
    systemd_container.poweroff()
    eventually(lambda: not admin.online(second), 30, "the device offline while powered off")
    deleted = admin.http.delete(f"/api/v1/devices/{second}")
    assert deleted.json()["uninstall"] == "at_next_connection", deleted.text
    systemd_container.boot()
    removed_itself()
