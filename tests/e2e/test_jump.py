"""Jumping to an installed device (issue 13 items 6–8, UNA-6), as a technician does it in Chromium
against a real `relaydesk demo`, with the real installed agent (`relaydesk-agent --installer TOKEN
--state-dir`) on an Xvfb display where someone is "logged in" (the agent finds that display):

- the Jump group asks the user (Administration → Jump policies); the technician jumps from the
  device list; the prompt window appears on the X display (found by its title) and xdotool
  clicks Allow; the workspace shows the device's screen and a shell works; ending the jump
  leaves the device online;
- the user clicks Deny: the console says the jump ended;
- nobody answers and the policy allows after a few seconds: the jump opens by itself;
- nobody is logged in (the agent has no display): the console says the screen is not available,
  and the shell still works.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from relaydesk.agent.desktop.jump_prompt import ALLOW_AT, DENY_AT, TITLE
from tests.fixtures.agents import AGENT
from tests.fixtures.browser import admin_signs_in, api, api_post, by_id, shoot
from tests.fixtures.common import eventually, require_executable
from tests.fixtures.screen import (
    Desktop,
    canvas,
    desktop,  # noqa: F401 - the fixture
)
from tests.fixtures.workspace import show_tool, type_in, wait_for_text
from tests.fixtures.xvfb import x_screenshot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Jump over the lazy kiosk 7"
WAIT_MS = 30_000


@contextmanager
def installed_agent(
    base: str, token: str, state: Path, log: Path, display: str | None
) -> Iterator[None]:
    """The real installed agent; with a display: someone is logged in there."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "XAUTHORITY")}
    if display:
        env["DISPLAY"] = display
    with log.open("w") as out:
        agent = subprocess.Popen(
            [AGENT, "--server", base, "--installer", token, "--state-dir", str(state)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            yield
        finally:
            agent.terminate()
            try:
                agent.wait(10)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait(5)


def device_online(page: Page) -> dict[str, Any]:
    def online() -> dict[str, Any] | None:
        listed = api(page, "GET", "/api/v1/devices?kind=unattended")
        found = [d for d in listed["devices"] if d["online"]]
        return found[0] if found else None

    return eventually(online, 30, "the installed device to be online")


def set_up(page: Page, server: Any, tmp_path: Path) -> tuple[str, str, int]:
    """The administrator signs in, makes a Jump group and an installer for it."""
    base = admin_signs_in(page, server, ADMIN_PASSWORD)
    group = api_post(page, base, "/api/v1/device-groups", {"name": "Front desk"})
    issued = api_post(
        page, base, "/api/v1/installers", {"company": "Hotel Lyon", "device_group_id": group["id"]}
    )
    return base, issued["token"], int(group["id"])


@contextmanager
def online_device(
    page: Page, server: Any, tmp_path: Path, artifacts_dir: Path, display: str | None
) -> Iterator[tuple[str, dict[str, Any], int]]:
    """set_up, then the installed agent (someone logged in on `display`, or nobody) until it
    stops: the console's base URL, the device once online, its Jump group's id."""
    base, token, group = set_up(page, server, tmp_path)
    with installed_agent(base, token, tmp_path / "state", artifacts_dir / "agent.log", display):
        yield base, device_online(page), group


def policy_in_admin(page: Page, base: str, prompt: str, nobody: str, seconds: int) -> None:
    """Administration → Jump policies: the Jump group's prompt, as the administrator sets it."""
    page.goto(f"{base}/admin/jump-policies")
    card = by_id(page, "jump-policy").first
    by_id(card, "jump-policy-prompt").select_option(prompt)
    if prompt == "ask":
        by_id(card, "jump-policy-nobody").select_option(nobody)
        by_id(card, "jump-policy-seconds").fill(str(seconds))
    by_id(card, "jump-policy-save").click()
    expect(by_id(card, "jump-policy-saved")).to_be_visible()


def jump_from_device_list(page: Page, base: str, hostname: str) -> None:
    page.goto(f"{base}/console/jump-clients")
    by_id(page, "device-row-name").filter(has_text=hostname).first.click()
    button = by_id(by_id(page, "device-actions"), "jump-to")
    expect(button).to_be_enabled()
    button.click()
    dialog = by_id(page, "jump-dialog")
    expect(dialog).to_be_visible()
    by_id(dialog, "jump-go").click()
    expect(by_id(page, "session-workspace").first).to_be_visible(timeout=WAIT_MS)


def prompt_window(display: str) -> str | None:
    found = subprocess.run(
        ["xdotool", "search", "--name", f"^{re.escape(TITLE)}$"],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
    )
    ids = found.stdout.split()
    return ids[0] if ids else None


def click_in_prompt(display: str, window: str, where: tuple[float, float]) -> None:
    env = {**os.environ, "DISPLAY": display}
    geometry = subprocess.run(
        ["xdotool", "getwindowgeometry", "--shell", window],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    values = dict(line.split("=", 1) for line in geometry.split() if "=" in line)
    x = int(values["X"]) + int(int(values["WIDTH"]) * where[0])
    y = int(values["Y"]) + int(int(values["HEIGHT"]) * where[1])
    subprocess.run(["xdotool", "mousemove", "--sync", str(x), str(y)], env=env, check=True)
    subprocess.run(["xdotool", "click", "1"], env=env, check=True)


def save_x(display: str, path: Path) -> None:
    from PIL import Image

    Image.fromarray(x_screenshot(display)).save(path)


def shell_works(page: Page) -> None:
    workspace = by_id(page, "session-workspace").first
    show_tool(workspace, "shells")
    panel = by_id(workspace, "shell-panel")
    by_id(panel, "shell-open").click()
    terminal = by_id(panel, "shell-terminal").first
    expect(terminal).to_be_visible(timeout=WAIT_MS)
    wait_for_text(terminal, r"[#$] *$", timeout=30)  # the device's shell is ready
    type_in(page, terminal, "echo jumped-$((6*7))")
    wait_for_text(terminal, r"^jumped-42", timeout=30)


def test_the_user_allows_the_jump_and_the_technician_works_on_the_screen_and_a_shell(
    relaydesk_server: Any,
    page: Page,
    desktop: Desktop,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    require_executable("xdotool", "apt-get install xdotool")
    with online_device(page, relaydesk_server, tmp_path, artifacts_dir, desktop.display) as ready:
        base, device, _ = ready
        policy_in_admin(page, base, "ask", "deny", 60)
        shoot(page, artifacts_dir, "01-policy")

        jump_from_device_list(page, base, device["hostname"])
        expect(by_id(page, "jump-asking")).to_be_visible(timeout=WAIT_MS)
        shoot(page, artifacts_dir, "02-asking")
        window = eventually(
            lambda: prompt_window(desktop.display), 30, "the jump prompt on the display"
        )
        save_x(desktop.display, artifacts_dir / "03-prompt-on-the-device.png")
        click_in_prompt(desktop.display, window, ALLOW_AT)

        expect(by_id(page, "jump-asking")).to_be_hidden(timeout=WAIT_MS)
        workspace = by_id(page, "session-workspace").first
        show_tool(workspace, "screen")
        expect(canvas(page)).to_be_visible(timeout=WAIT_MS)
        # The picture arrived: the canvas has the desktop's size
        eventually(
            lambda: (canvas(page).evaluate("c => c.width") or 0) >= 1000, 30, "the device's screen"
        )
        time.sleep(1)
        shoot(page, artifacts_dir, "04-screen")
        expect(by_id(page, "jump-no-chat")).to_be_visible()
        shell_works(page)
        shoot(page, artifacts_dir, "05-shell")

        session_id = workspace.get_attribute("data-session-id")
        by_id(workspace, "session-end").click()
        by_id(workspace, "session-end-confirm").click()
        expect(by_id(page, "session-ended")).to_be_visible(timeout=WAIT_MS)
        report = api(page, "GET", f"/api/v1/reports/sessions/{session_id}")
        decisions = [
            e["details"].get("decision") for e in report["events"] if e["kind"].startswith("jump.")
        ]
        assert decisions[:2] == ["asking", "allowed_by_user"], report["events"]
        # The device stays installed and online, and can be jumped to again
        time.sleep(2)
        assert device_online(page)["id"] == device["id"]


def test_the_user_denies_or_nobody_answers(
    relaydesk_server: Any,
    page: Page,
    desktop: Desktop,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    require_executable("xdotool", "apt-get install xdotool")
    with online_device(page, relaydesk_server, tmp_path, artifacts_dir, desktop.display) as ready:
        base, device, group = ready
        policy_in_admin(page, base, "ask", "allow", 5)

        # Deny
        jump_from_device_list(page, base, device["hostname"])
        window = eventually(
            lambda: prompt_window(desktop.display), 30, "the jump prompt on the display"
        )
        click_in_prompt(desktop.display, window, DENY_AT)
        expect(by_id(page, "session-ended")).to_be_visible(timeout=WAIT_MS)
        expect(by_id(page, "session-ended")).to_contain_text(f"on {device['hostname']}")
        shoot(page, artifacts_dir, "01-denied")
        eventually(lambda: prompt_window(desktop.display) is None, 15, "the prompt to close")
        by_id(page, "session-close-tab").first.click()

        # Nobody answers within 5 s: the policy allows it
        jump_from_device_list(page, base, device["hostname"])
        eventually(lambda: prompt_window(desktop.display), 30, "the jump prompt on the display")
        save_x(desktop.display, artifacts_dir / "02-prompt-nobody-answers.png")
        expect(by_id(page, "jump-asking")).to_be_hidden(timeout=WAIT_MS)
        workspace = by_id(page, "session-workspace").first
        expect(workspace).to_have_attribute("data-tool", re.compile("screen|shells|files|sysinfo"))
        shoot(page, artifacts_dir, "03-allowed-after-5-s")
        assert prompt_window(desktop.display) is None
        entries = api(page, "GET", "/api/v1/audit?action=jump.allowed")["items"]
        assert [e["details"]["decision"] for e in entries] == ["no_answer_allowed"], entries
        denied = api(page, "GET", "/api/v1/audit?action=jump.denied")["items"]
        assert [e["details"]["decision"] for e in denied] == ["denied_by_user"], denied
        assert group


def test_nobody_is_logged_in_the_console_says_so_and_the_shell_works(
    relaydesk_server: Any, page: Page, artifacts_dir: Path, tmp_path: Path
) -> None:
    with online_device(page, relaydesk_server, tmp_path, artifacts_dir, None) as ready:
        base, device, _ = ready
        jump_from_device_list(page, base, device["hostname"])
        notice = by_id(page, "jump-no-desktop")
        workspace = by_id(page, "session-workspace").first
        show_tool(workspace, "screen")
        expect(notice).to_be_visible(timeout=WAIT_MS)
        expect(notice).to_contain_text("Nobody is logged in on this device")
        shoot(page, artifacts_dir, "01-nobody-logged-in")
        shell_works(page)
        shoot(page, artifacts_dir, "02-shell")

        # The administrator turns unattended access off: Jump is greyed out, and says why
        workspace = by_id(page, "session-workspace").first
        by_id(workspace, "session-end").click()
        by_id(workspace, "session-end-confirm").click()
        expect(by_id(page, "session-ended")).to_be_visible(timeout=WAIT_MS)
        by_id(page, "session-close-tab").first.click()

        # The device's own policy asks the user: nobody is logged in to answer, so it refuses
        page.goto(f"{base}/console/jump-clients")
        by_id(page, "device-row-name").filter(has_text=device["hostname"]).first.click()
        own = by_id(by_id(page, "device-actions"), "device-jump-policy")
        by_id(own, "device-jump-policy-open").click()
        by_id(own, "jump-policy-prompt").select_option("ask")
        by_id(own, "jump-policy-nobody").select_option("deny")
        by_id(own, "jump-policy-save").click()
        expect(by_id(own, "jump-policy-saved")).to_be_visible()
        expect(own).to_contain_text("Asks the user")
        shoot(page, artifacts_dir, "03-device-policy")
        jump_from_device_list(page, base, device["hostname"])
        expect(by_id(page, "session-ended")).to_be_visible(timeout=WAIT_MS)
        expect(by_id(page, "session-ended")).to_contain_text("nobody on")
        api(page, "PATCH", "/api/v1/organisation/settings", {"unattended_access_enabled": False})
        page.goto(f"{base}/console/jump-clients")
        by_id(page, "device-row-name").filter(has_text=device["hostname"]).first.click()
        button = by_id(by_id(page, "device-actions"), "jump-to")
        expect(button).to_be_disabled()
        expect(button).to_have_attribute("title", re.compile("Unattended access is turned off"))
        shoot(page, artifacts_dir, "04-switched-off")
