"""The temporary host of ad hoc support under a real systemd (issue 14, ADH-2 … ADH-5, part 14-Y):
a Debian container booted by systemd-nspawn; the support client downloaded from a real server
with a self-signed certificate (address and pin in the file, the token only in the file's name
as the deployment link's page saves it) and started there as root with no display: it installs
relaydesk-adhoc.service and runs the host in its terminal, where the recipient types the security
code (the window is tests/e2e/test_ad_hoc_flow.py's). Activated, the host survives a reboot (the
service takes over and comes back online by itself); "End session now" in the console's API
makes it remove itself: unit, files, key and state gone on disk, nothing restarted."""

from __future__ import annotations

import shlex
from typing import Any

from tests.fixtures import technician as console
from tests.fixtures.common import eventually
from tests.fixtures.systemd_container import Container

ACCESS_PASSWORD = "Access-Password-2026"
INSTALLED = (
    "/opt/relaydesk-adhoc",
    "/etc/relaydesk-adhoc",
    "/var/lib/relaydesk-adhoc",
    "/etc/systemd/system/relaydesk-adhoc.service",
    "/etc/systemd/system/multi-user.target.wants/relaydesk-adhoc.service",
)


class Technician:
    """The console's API over HTTPS (the server's certificate is self-signed)."""

    def __init__(self, server: Any) -> None:
        self.http = console.Technician(server, verify=False).sign_in_first_time().http

    def session(self, session_id: int) -> dict[str, Any]:
        answer = self.http.get(f"/api/v1/ad-hoc-sessions/{session_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


def left_on_disk(container: Container) -> list[str]:
    return container.left_on_disk(INSTALLED)


def service(container: Container, prop: str) -> str:
    return container.unit_property("relaydesk-adhoc.service", prop)


def test_the_temporary_host_survives_a_reboot_and_removes_itself_when_the_session_ends(
    tls_server: Any, systemd_container: Container
) -> None:
    technician = Technician(tls_server)
    prepared = technician.http.post(
        "/api/v1/ad-hoc-sessions",
        json={
            "recipient_email": "recipient@example.org",
            "access_password": ACCESS_PASSWORD,
            "send_email": False,
        },
    )
    assert prepared.status_code == 201, prepared.text
    session_id = prepared.json()["session"]["id"]
    token = prepared.json()["link"].split("#", 1)[1]
    code = prepared.json()["security_code"]

    # The download, saved as the link's page names it; run as root with no display.
    client = technician.http.get("/portal/download/support-client")
    assert client.status_code == 200, client.text[:500]
    saved = systemd_container.path(f"/root/relaydesk-adhoc-{token}")
    saved.write_bytes(client.content)
    saved.chmod(0o755)
    systemd_container.path("/root/typed").write_text("")
    started = (
        f"tail -f /root/typed | /root/relaydesk-adhoc-{shlex.quote(token)} >/root/host.log 2>&1"
    )
    systemd_container.run(
        f"setsid sh -c {shlex.quote(started)} </dev/null >/dev/null 2>&1 &", timeout=30
    )

    def host_log() -> str:
        log = systemd_container.path("/root/host.log")
        return log.read_text(errors="replace") if log.exists() else "(no host.log)"

    try:
        eventually(
            lambda: technician.session(session_id)["state"] == "waiting_for_code",
            120,
            "the host to be installed and to wait for the code",
        )
    except AssertionError:
        said = systemd_container.run("journalctl --no-pager -u relaydesk-adhoc", check=False)
        raise AssertionError(f"host.log:\n{host_log()}\njournal:\n{said.stdout[-3000:]}") from None
    assert "Type the security code your technician gives you." in host_log()
    unit = systemd_container.path("/etc/systemd/system/relaydesk-adhoc.service").read_text()
    assert "ExecStart=/opt/relaydesk-adhoc/relaydesk-agent adhoc-run\n" in unit
    assert "Restart=always\n" in unit and "WantedBy=multi-user.target\n" in unit
    assert systemd_container.run("systemctl is-enabled relaydesk-adhoc").stdout.strip() == "enabled"
    config = systemd_container.path("/etc/relaydesk-adhoc/agent.conf").read_text()
    assert f"server = {tls_server.url}\n" in config and "pin_sha256 = " in config
    assert token not in config  # the token is in the host's private state only
    state = systemd_container.path("/var/lib/relaydesk-adhoc")
    assert oct(state.stat().st_mode & 0o777) == "0o700"
    for name in ("token", "device.key"):
        assert oct((state / name).stat().st_mode & 0o777) == "0o600"

    # The recipient types the code in the terminal.
    with systemd_container.path("/root/typed").open("a") as typed:
        typed.write(f"{code}\n")
    eventually(
        lambda: technician.session(session_id)["state"] == "activated",
        60,
        "the session to be activated",
    )
    eventually(lambda: "Activated: " in host_log(), 30, "the host to say it is activated")
    facts = (state / "host.json").read_text()
    assert '"password_hash": "$argon2id$' in facts and ACCESS_PASSWORD not in facts
    assert oct((state / "host.json").stat().st_mode & 0o777) == "0o600"
    assert technician.session(session_id)["device_online"]

    # A reboot: offline while off; booted, the service runs the host and it is back online.
    systemd_container.poweroff()
    eventually(lambda: not technician.session(session_id)["device_online"], 60, "offline while off")
    systemd_container.boot()
    eventually(
        lambda: technician.session(session_id)["device_online"],
        120,
        "the host online again after the boot, started by systemd",
    )
    assert technician.session(session_id)["state"] == "activated"
    assert service(systemd_container, "ActiveState") == "active"

    # End session now: the host removes itself; systemd does not start it again.
    ended = technician.http.post(f"/api/v1/ad-hoc-sessions/{session_id}/end")
    assert ended.status_code == 200, ended.text
    eventually(lambda: left_on_disk(systemd_container) == [], 60, "the host to remove itself")
    eventually(
        lambda: systemd_container.unit_gone("relaydesk-adhoc.service"), 60, "the service to be gone"
    )
    assert not systemd_container.run("pgrep -f relaydesk-agent", check=False).stdout
    said = systemd_container.run("journalctl --no-pager -u relaydesk-adhoc.service").stdout
    assert "the host is removed" in said, said[-3000:]
    assert technician.session(session_id)["state"] == "ended"
