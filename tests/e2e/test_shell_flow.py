"""Command shells as the technician uses them: headless Chromium with xterm.js, the real server
and relay, the real agent with its pty (TOOL-3).

The session is set up through the API (key, agent subprocess, accept); everything after that is
done in the browser: open a shell, type `echo héllo; tput cols`, see the output and a column
count that follows the browser window when it is resized; two shells side by side, closing a
tab ends its process on the device; with recording on, the session report replays the shell in
asciinema-player and its transcript (downloaded as a user does) holds the command. Screenshots go
to the test's artifacts directory.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.agents import AGENT
from tests.fixtures.browser import admin_signs_in, by_id, shoot
from tests.fixtures.workspace import show_tool, type_in, wait_for_text

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Shell lantern harbour 42"
WAIT_MS = 20_000


class BrowserApi:
    """The API with the browser's own cookies and CSRF token (set-up the test does not click)."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base

    def _csrf(self) -> str:
        cookies = self.page.context.cookies()
        return next(c["value"] for c in cookies if c["name"] == "relaydesk_csrf")

    def get(self, path: str) -> Any:
        response = self.page.request.get(f"{self.base}{path}")
        assert response.ok, response.text()
        return response.json()

    def send(self, method: str, path: str, body: Any = None) -> Any:
        response = self.page.request.fetch(
            f"{self.base}{path}", method=method, data=body, headers={"x-csrf-token": self._csrf()}
        )
        assert response.ok, response.text()
        return response.json() if response.status != 204 else None


def wait_for_session(console: BrowserApi, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        personal = console.get("/api/v1/queue")["personal"]
        if personal:
            return int(personal[0]["id"])
        time.sleep(0.1)
    raise AssertionError("no session arrived in the personal queue")


def running(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


def test_technician_works_in_two_shells_and_replays_the_recording(
    relaydesk_server: Any, page: Page, artifacts_dir: Path
) -> None:
    page.set_viewport_size({"width": 1000, "height": 1000})
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    console = BrowserApi(page, base)
    console.send("PATCH", "/api/v1/organisation/settings", {"recording_enabled": True})
    key = console.send("POST", "/api/v1/session-keys", {"validity_minutes": 15})["key"]
    agent_log = (artifacts_dir / "agent.log").open("w")
    agent = subprocess.Popen(
        [AGENT, "--server", base, "--key", key], stdout=agent_log, stderr=subprocess.STDOUT
    )
    try:
        sid = wait_for_session(console)
        console.send("POST", f"/api/v1/sessions/{sid}/accept")
        by_id(page, "console-nav-sessions").click()
        workspace = by_id(page, "session-workspace")
        expect(workspace).to_have_attribute("data-session-id", str(sid), timeout=WAIT_MS)
        show_tool(workspace, "shells")
        panel = by_id(page, "shell-panel")
        expect(by_id(panel, "shell-empty")).to_be_visible()

        # The first shell: UTF-8 both ways and the terminal's width as the device sees it.
        by_id(panel, "shell-open").click()
        tabs = by_id(panel, "shell-tab")
        expect(tabs).to_have_count(1)
        expect(tabs.nth(0)).to_have_attribute("data-shell-state", "open", timeout=WAIT_MS)
        first = by_id(panel, "shell-terminal").nth(0)
        expect(first).to_be_visible()
        narrow = int(first.get_attribute("data-cols") or 0)
        assert 40 < narrow < 200, narrow
        type_in(page, first, "echo héllo; tput cols")
        found = wait_for_text(first, r"^héllo\n(\d+)$")
        assert int(found.group(1)) == narrow
        shoot(page, artifacts_dir, "01-shell-hello")

        # The browser window grows: the terminal follows, and so does the pty on the device.
        page.set_viewport_size({"width": 1600, "height": 1000})
        expect(first).not_to_have_attribute("data-cols", str(narrow), timeout=WAIT_MS)
        wide = int(first.get_attribute("data-cols") or 0)
        assert wide > narrow + 40, (narrow, wide)
        type_in(page, first, "echo wide-$(tput cols)")
        wait_for_text(first, rf"^wide-{wide}$")
        shoot(page, artifacts_dir, "02-shell-resized")

        # A second shell in its own tab, with a process of its own; the first one lives on.
        by_id(panel, "shell-open").click()
        expect(tabs).to_have_count(2)
        expect(tabs.nth(1)).to_have_attribute("data-shell-state", "open", timeout=WAIT_MS)
        expect(tabs.nth(1)).to_have_class(re.compile(r"\bactive\b"))
        second = by_id(panel, "shell-terminal").nth(1)
        expect(second).to_be_visible()
        expect(first).to_be_hidden()
        type_in(page, second, "echo second-$((6*7)); sleep 4321")
        wait_for_text(second, r"^second-42$")
        deadline = time.monotonic() + 15
        while not running("sleep 4321") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert running("sleep 4321")
        shoot(page, artifacts_dir, "03-two-shells")
        tabs.nth(0).get_by_role("tab").click()
        expect(first).to_be_visible()
        type_in(page, first, "echo first-$((2+3))")
        wait_for_text(first, r"^first-5$")

        # Colours: ANSI red comes out red.
        type_in(page, first, r"printf '\033[31m%s\033[0m\n' red-$((40+2))")
        red = first.locator(".xterm-rows span.xterm-fg-1", has_text="red-42")
        expect(red).to_be_visible()

        # Copy and paste through the clipboard: a word selected in the terminal is copied; the
        # clipboard's text pasted runs as typed.
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        word = first.locator(".xterm-rows span", has_text=re.compile(r"^first-5$")).bounding_box()
        assert word is not None
        page.mouse.dblclick(word["x"] + word["width"] / 2, word["y"] + word["height"] / 2)
        by_id(panel, "shell-copy").click()
        expect(by_id(panel, "shell-copy")).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == "first-5"
        page.evaluate("navigator.clipboard.writeText('echo pasted-$((3*3))')")
        by_id(panel, "shell-paste").click()
        wait_for_text(first, r"# echo pasted-\$\(\(3\*3\)\)$")
        first.click()
        page.keyboard.press("Enter")
        wait_for_text(first, r"^pasted-9$")
        shoot(page, artifacts_dir, "03b-colour-and-paste")

        # Closing the second tab ends its shell and what runs in it on the device.
        by_id(tabs.nth(1), "shell-tab-close").click()
        expect(tabs).to_have_count(1)
        deadline = time.monotonic() + 15
        while running("sleep 4321") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running("sleep 4321"), "the closed tab's process still runs"

        # The first shell ends by itself: its tab says so.
        type_in(page, first, "exit 3")
        expect(tabs.nth(0)).to_have_attribute("data-shell-state", "exited", timeout=WAIT_MS)
        expect(by_id(panel, "shell-status")).to_contain_text("exit code 3")
        shoot(page, artifacts_dir, "04-shell-exited")

        console.send("POST", f"/api/v1/sessions/{sid}/end")
        assert agent.wait(30) == 0, (artifacts_dir / "agent.log").read_text()

        # The session report: both shells recorded, replayed in the browser, downloadable.
        page.goto(f"{base}/admin/session-reports")
        page.locator(f'[data-testid="report-row"][data-session-id="{sid}"]').click()
        recordings = by_id(page, "report-recording")
        expect(recordings).to_have_count(2, timeout=WAIT_MS)
        recording = recordings.nth(0)  # the first shell's, opened first
        expect(recording).to_contain_text("Command shell opened by")
        player = by_id(recording, "recording-player")
        expect(player.locator(".ap-player")).to_be_visible(timeout=WAIT_MS)
        player.locator(".ap-player").click()
        # What the shell printed (not only what was typed) plays back.
        expect(player.locator(".ap-term")).to_contain_text(f"wide-{wide}", timeout=WAIT_MS)
        expect(player.locator(".ap-term")).to_contain_text("héllo")
        shoot(page, artifacts_dir, "05-report-replay")

        with page.expect_download() as download_info:
            by_id(recording, "recording-transcript").click()
        transcript = Path(download_info.value.path()).read_text(encoding="utf-8")
        assert "echo héllo; tput cols" in transcript
        assert "\x1b" not in transcript
        with page.expect_download() as download_info:
            by_id(recording, "recording-cast").click()
        assert download_info.value.suggested_filename.endswith(".cast")
        cast = Path(download_info.value.path()).read_text(encoding="utf-8").splitlines()
        header = json.loads(cast[0])
        assert header["version"] == 2 and header["width"] == narrow
    finally:
        agent.kill()
        agent_log.close()
