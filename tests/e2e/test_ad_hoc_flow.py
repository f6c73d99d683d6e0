"""Ad hoc support with the real temporary host on an X display (issue 14, ADH-2 … ADH-5, part
14-Y): the technician prepares a session; the host runs from a file named as the deployment
link's download names it (`relaydesk-adhoc-<token>`: the token comes from the file's name only)
on Xvfb, without the system service (`adhoc --no-install --state-dir`: the service and the
reboot are tests/system/test_ad_hoc_host.py's); the recipient types a wrong security code with
xdotool (the window says so) and then the right one; the session is activated and the host keeps
the access password's argon2id hash in its private state; the technician connects with a wrong
password (refused by the server, audited) and with the right one (the host checks it itself and
its window says who connected); the recipient presses "End session": the session ends in the
console's API and the host removes its state and exits."""

from __future__ import annotations

import os
import subprocess
import time
import tkinter as tk
from pathlib import Path
from typing import Any

from PIL import Image

from relaydesk.agent.desktop.host_window import APP_NAME
from tests.fixtures.agents import AGENT
from tests.fixtures.browser import by_id, first_sign_in, shoot
from tests.fixtures.common import eventually, require_executable
from tests.fixtures.screen import canvas
from tests.fixtures.technician import Technician, next_event
from tests.fixtures.xvfb import x_screenshot

ACCESS_PASSWORD = "Access-Password-2026"
HEADLINE = ".main.headline"
NOTE = ".main.note"
HISTORY = ".main.history"
CODE = ".main.code"
END = ".main.end"


class HostWindow:
    """The host's window, driven as the recipient does (xdotool) and read through Tk's `send`."""

    def __init__(self, display: str) -> None:
        self.env = {**os.environ, "DISPLAY": display}
        self.xdotool = require_executable("xdotool", "apt-get install xdotool")
        self.asker = tk.Tk(screenName=display)
        self.asker.withdraw()
        self.display = display

    def ask(self, script: str) -> str:
        return str(self.asker.tk.call("send", APP_NAME, script))

    def is_open(self) -> bool:
        try:
            return self.ask("winfo exists .main.end") == "1"
        except tk.TclError:
            return False

    def text(self, widget: str) -> str:
        return self.ask(f"{widget} cget -text")

    def click(self, widget: str) -> None:
        self.ask("update idletasks")
        x, y, width, height = (
            int(self.ask(f"winfo {what} {widget}"))
            for what in ("rootx", "rooty", "width", "height")
        )
        subprocess.run(
            [self.xdotool, "mousemove", "--sync", str(x + width // 2), str(y + height // 2)],
            env=self.env,
            check=True,
        )
        subprocess.run([self.xdotool, "click", "1"], env=self.env, check=True)

    def type_code(self, code: str) -> None:
        self.click(CODE)
        subprocess.run([self.xdotool, "type", "--delay", "30", code], env=self.env, check=True)
        subprocess.run([self.xdotool, "key", "Return"], env=self.env, check=True)

    def screenshot(self, path: Path) -> None:
        Image.fromarray(x_screenshot(self.display)).save(path)

    def close(self) -> None:
        self.asker.destroy()


def start_host(
    base: str, token: str, tmp_path: Path, display: Any, log: Any
) -> tuple[subprocess.Popen[bytes], Path]:
    """The host as the recipient starts it: a file named as the link's page saves it."""
    downloaded = tmp_path / f"relaydesk-adhoc-{token}"
    downloaded.symlink_to(AGENT)
    state = tmp_path / "state"
    command = [str(downloaded), "adhoc", "--server", base, "--no-install"]
    command += ["--state-dir", str(state), "--ui", "window"]
    host = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**display.env, "RELAYDESK_AGENT_UI": "window", "LANG": "en_US.UTF-8"},
    )
    return host, state


def ad_hoc(technician: Technician, session_id: int) -> dict[str, Any]:
    answer = technician.http.get(f"/api/v1/ad-hoc-sessions/{session_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def audit_actions(technician: Technician) -> list[str]:
    answer = technician.http.get("/api/v1/audit", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    return [str(entry["action"]) for entry in answer.json()["items"]]


def test_the_recipient_activates_the_host_sees_who_connects_and_ends_the_session(
    relaydesk_server: Any, xvfb_display: Any, tmp_path: Path, artifacts_dir: Path
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    prepared = technician.post(
        "/api/v1/ad-hoc-sessions",
        json={
            "recipient_email": "recipient@example.org",
            "access_password": ACCESS_PASSWORD,
            "send_email": False,
        },
    )
    assert prepared.status_code == 201, prepared.text
    session_id = prepared.json()["session"]["id"]
    link, code = prepared.json()["link"], prepared.json()["security_code"]
    token = link.split("#", 1)[1]
    assert link == f"{relaydesk_server.url}/adhoc#{token}"

    # What the link's page saves: the client, its name carrying the token.
    downloaded = tmp_path / f"relaydesk-adhoc-{token}"
    downloaded.symlink_to(AGENT)
    state = tmp_path / "state"
    log = (artifacts_dir / "host.log").open("w")
    host = subprocess.Popen(
        [
            str(downloaded),
            "adhoc",
            "--server",
            relaydesk_server.url,
            "--no-install",
            "--state-dir",
            str(state),
            "--ui",
            "window",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**xvfb_display.env, "RELAYDESK_AGENT_UI": "window", "LANG": "en_US.UTF-8"},
    )
    window = HostWindow(xvfb_display.display)
    try:
        eventually(window.is_open, 60, "the host's window to open")
        eventually(
            lambda: window.text(HEADLINE) == "Support host installed", 60, "the code question"
        )
        assert eventually(
            lambda: ad_hoc(technician, session_id)["state"] == "waiting_for_code",
            30,
            "the console to see the host waiting for the code",
        )
        # A wrong code: the window says so, the session waits on.
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        window.type_code(wrong)
        eventually(
            lambda: (
                window.text(NOTE)
                == "Invalid security code — use the latest code your technician gave you."
            ),
            30,
            "the window to refuse the wrong code",
        )
        window.screenshot(artifacts_dir / "host-wrong-code.png")
        assert ad_hoc(technician, session_id)["state"] == "waiting_for_code"

        # The right code: activated, for 24 hours, with the organisation's name.
        window.type_code(code)
        eventually(
            lambda: window.text(HEADLINE).startswith("Activated: "),
            30,
            "the window to say the session is activated",
        )
        details = ad_hoc(technician, session_id)
        assert details["state"] == "activated", details
        assert "can connect until" in window.text(HEADLINE)
        window.screenshot(artifacts_dir / "host-activated.png")

        # Only the host keeps the hash (0600 in its 0700 folder), never the password.
        facts = state / "host.json"
        assert oct(state.stat().st_mode & 0o777) == "0o700"
        assert oct(facts.stat().st_mode & 0o777) == "0o600"
        assert '"password_hash": "$argon2id$' in facts.read_text()
        assert ACCESS_PASSWORD not in facts.read_text()

        # A wrong access password: refused by the server and audited; nothing reaches the host.
        refused = technician.post(
            f"/api/v1/ad-hoc-sessions/{session_id}/connect", json={"password": "Wrong-Password-1"}
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "wrong_access_password"
        assert "ad_hoc.wrong_password" in audit_actions(technician)
        assert window.text(HISTORY) == ""

        # The right one: the host checks it against its own hash and says who connected.
        connected = technician.post(
            f"/api/v1/ad-hoc-sessions/{session_id}/connect", json={"password": ACCESS_PASSWORD}
        )
        assert connected.status_code == 200, connected.text
        eventually(
            lambda: " connected at " in window.text(HISTORY), 30, "the window to say who connected"
        )
        assert "wrong access password" not in window.text(HISTORY)
        # Within the accepted connection the host answers: the device's dashboard.
        connection_id = connected.json()["session_id"]
        with technician.console() as console:
            asked = technician.post(f"/api/v1/sessions/{connection_id}/sysinfo")
            assert asked.status_code == 202, asked.text
            report = next_event(console, "session.sysinfo", timeout=60)
        assert report["session_id"] == connection_id
        assert report["info"], report

        # Closing the connection does not end the ad hoc session; the window says so.
        closed = technician.post(f"/api/v1/sessions/{connection_id}/end")
        assert closed.status_code == 200, closed.text
        eventually(
            lambda: window.text(NOTE) == "The technician disconnected. The session stays open.",
            30,
            "the window to say the technician disconnected",
        )
        assert ad_hoc(technician, session_id)["state"] == "activated"
        window.screenshot(artifacts_dir / "host-connected.png")

        # The recipient ends it: the session ends, the host removes itself and exits.
        window.click(END)
        eventually(
            lambda: ad_hoc(technician, session_id)["state"] == "ended",
            30,
            "the console to see the session ended",
        )
        assert host.wait(60) == 0
        assert not state.exists()
        ended = ad_hoc(technician, session_id)
        assert ended["ended_by"] == "recipient", ended
    finally:
        window.close()
        if host.poll() is None:
            host.kill()
        log.close()


def test_the_technician_prepares_connects_and_sees_the_end_in_the_console(
    page: Any, relaydesk_server: Any, xvfb_display: Any, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    base = relaydesk_server.url
    first_sign_in(
        page, base, relaydesk_server.admin_email, relaydesk_server.admin_password, ACCESS_PASSWORD
    )
    page.goto(f"{base}/console/ad-hoc")
    by_id(page, "adhoc-email").fill("recipient@example.org")
    by_id(page, "adhoc-password").fill(ACCESS_PASSWORD)
    by_id(page, "adhoc-prepare-only").click()
    link = by_id(page, "adhoc-link").input_value()
    code = by_id(page, "adhoc-code").inner_text().strip()
    token = link.split("#", 1)[1]
    assert link == f"{base}/adhoc#{token}" and len(code) == 6
    by_id(page, "adhoc-prepared-done").click()
    item = by_id(page, "adhoc-session").first

    log = (artifacts_dir / "host.log").open("w")
    host, state = start_host(base, token, tmp_path, xvfb_display, log)
    window = HostWindow(xvfb_display.display)
    try:
        eventually(window.is_open, 60, "the host's window to open")
        # Live in the console: the host is there and waits for the code.
        expect(by_id(item, "adhoc-state")).to_have_text(
            "Waiting for the security code", timeout=60_000
        )
        window.type_code(code)
        expect(by_id(item, "adhoc-state")).to_have_text("Activated", timeout=60_000)
        eventually(
            lambda: window.text(HEADLINE).startswith("Activated: "), 30, "the window activated"
        )
        shoot(page, artifacts_dir, "console-activated")

        # A wrong access password: refused with its message; the host hears nothing.
        by_id(item, "adhoc-connect").click()
        by_id(item, "adhoc-connect-password").fill("Wrong-Password-1")
        by_id(item, "adhoc-connect-go").click()
        expect(by_id(item, "adhoc-connect-form")).to_contain_text(
            "The access password is wrong.", timeout=30_000
        )
        assert window.text(HISTORY) == ""
        # The right one: the session opens in the workspace; the host says who connected.
        by_id(item, "adhoc-connect-password").fill(ACCESS_PASSWORD)
        by_id(item, "adhoc-connect-go").click()
        page.wait_for_url(f"{base}/console/sessions", timeout=30_000)
        eventually(
            lambda: " connected at " in window.text(HISTORY), 30, "the window to say who connected"
        )
        # The screen: the password was the recipient's consent; the host shares its display.
        by_id(page, "screen-request-control").first.click()
        expect(canvas(page)).to_be_visible(timeout=60_000)
        eventually(
            lambda: (canvas(page).evaluate("c => c.width") or 0) >= 1000, 60, "the host's screen"
        )
        time.sleep(1)
        shoot(page, artifacts_dir, "console-connected")
        window.screenshot(artifacts_dir / "host-connected-from-console.png")

        # The recipient ends it in his window: the console shows it ended, by him.
        window.click(END)
        assert host.wait(60) == 0
        assert not state.exists()
        page.goto(f"{base}/console/ad-hoc")
        ended = by_id(page, "adhoc-session").first
        expect(by_id(ended, "adhoc-state")).to_have_text("Ended", timeout=30_000)
        expect(by_id(ended, "adhoc-ended")).to_contain_text("the recipient")
        shoot(page, artifacts_dir, "console-ended")
    finally:
        window.close()
        if host.poll() is None:
            host.kill()
        log.close()
