"""Two sessions at once, as a help desk technician works (ATT-4, TOOL-1, TOOL-3, TOOL-4): headless
Chromium, the real server and relay, two real agents (one on an Xvfb display).

In the first session the technician views the customer's screen, opens a shell and sets a shell
variable in it, and starts a large upload. He goes to the queues and accepts the second session
(its tab comes to the front), looks at it while the window grows and the first customer writes
many chat messages, then goes back to the first tab: the shell is the same process (its variable,
its PID, its earlier output on screen, typing works), its columns follow the window's new width
as the device sees them, the upload finished intact, the screen view is still connected and
scaled into its panel, and the chat shows the newest message. Screenshots go to the test's
artifacts directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.fixtures.browser import admin_signs_in, by_id, new_session_key, shoot
from tests.fixtures.files_client import random_file, sha256_of
from tests.fixtures.screen import (
    WAIT_MS,
    Agent,
    Desktop,
    customer_of,
    end_session,
    paint_background,
    share_screen,
    wait_for,
)
from tests.fixtures.workspace import (
    accept_connected,
    screen_text,
    show_tool,
    tab_of,
    type_in,
    wait_for_text,
)

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Two sessions lantern 42"
MiB = 1024 * 1024
CHAT_LINES = 30  # more than the chat log shows at once


@pytest.fixture
def desktop(xvfb_display: Any, tmp_path: Path) -> Iterator[Desktop]:
    """The first customer's display (the second session does not share its screen)."""
    paint_background(xvfb_display.display)
    env = {**xvfb_display.env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    yield Desktop(xvfb_display.display, env, tmp_path / "typed.txt", tmp_path / "xev.log")


def screen_canvas_fits(workspace: Locator) -> bool:
    """The viewer shows the remote screen scaled into its panel (not collapsed, not overflowing)."""
    frame = by_id(workspace, "screen-canvas").bounding_box()
    shown = by_id(workspace, "screen-canvas").locator("canvas").first.bounding_box()
    if frame is None or shown is None:
        return False
    return 100 < shown["width"] <= frame["width"] + 1 and shown["height"] <= frame["height"] + 1


def test_switching_session_tabs_keeps_shells_screen_and_transfers(
    relaydesk_server: Any, page: Page, desktop: Desktop, artifacts_dir: Path, tmp_path: Path
) -> None:
    base = relaydesk_server.url
    share = Path(os.path.realpath(tmp_path / "share"))
    share.mkdir()
    big = random_file(tmp_path / "big.bin", 96 * MiB)
    page.set_viewport_size({"width": 1200, "height": 1000})
    admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key_a, key_b = new_session_key(page, base), new_session_key(page, base)
    customer_a = customer_of(base, key_a)
    agents = [Agent(base, key_a, desktop, artifacts_dir / "agent-a.log")]
    try:
        # The first session: accepted from the queue.
        page.goto(f"{base}/console/queues")
        first, a = accept_connected(page)

        # Its screen, allowed by the customer, scaled to fit.
        screen = by_id(a, "screen-panel")
        viewer = share_screen(screen, customer_a)
        expect(by_id(viewer, "screen-scale")).to_have_attribute("aria-pressed", "true")
        wait_for(lambda: screen_canvas_fits(a), 20, "the screen scaled into its panel")

        # A shell with a variable of its own, its PID and its width as the device sees them.
        show_tool(a, "shells")
        shells = by_id(a, "shell-panel")
        by_id(shells, "shell-open").click()
        expect(by_id(shells, "shell-tab")).to_have_attribute(
            "data-shell-state", "open", timeout=WAIT_MS
        )
        terminal = by_id(shells, "shell-terminal")
        type_in(page, terminal, "X=kept; echo pid-$$ cols-$(tput cols)")
        before = wait_for_text(terminal, r"^pid-(\d+) cols-(\d+)$")
        pid, narrow = before.group(1), int(before.group(2))
        assert int(terminal.get_attribute("data-cols") or 0) == narrow

        # A large upload into a folder of the device.
        show_tool(a, "files")
        files = by_id(a, "files-panel")
        by_id(files, "files-open").click()
        expect(by_id(files, "files-link")).to_have_text("Connected", timeout=WAIT_MS)
        by_id(files, "files-address").fill(str(share))
        by_id(files, "files-go").click()
        expect(by_id(files, "files-table")).to_have_attribute("data-path", str(share))
        with page.expect_file_chooser() as chooser:
            by_id(files, "files-upload").click()
        chooser.value.set_files(str(big))
        upload = by_id(files, "files-transfer").and_(page.locator('[data-name="big.bin"]'))
        expect(upload).to_have_attribute("data-state", "running", timeout=WAIT_MS)
        shoot(page, artifacts_dir, "01-first-session-at-work")

        # The second customer arrives: the technician goes to the queues and accepts him.
        agents.append(Agent(base, key_b, desktop, artifacts_dir / "agent-b.log"))
        by_id(page, "console-nav-queues").click()
        expect(a).to_be_hidden()
        second, b = accept_connected(page)
        assert second != first
        expect(a).to_be_hidden()
        expect(by_id(page, "session-tab")).to_have_count(2)

        # Meanwhile the window grows and the first customer writes.
        page.set_viewport_size({"width": 1600, "height": 1000})
        for n in range(1, CHAT_LINES + 1):
            sent = customer_a.post("/api/v1/portal/session/chat", json={"text": f"line {n}"})
            assert sent.status_code == 201, sent.text
        expect(by_id(tab_of(page, first), "session-tab-unread")).to_have_text(str(CHAT_LINES))
        shoot(page, artifacts_dir, "02-second-session-in-front")

        # Back to the first tab: everything is as he left it.
        tab_of(page, first).click()
        expect(a).to_be_visible()
        expect(b).to_be_hidden()
        show_tool(a, "shells")
        expect(by_id(shells, "shell-tab")).to_have_attribute("data-shell-state", "open")
        assert re.search(rf"^pid-{pid} cols-{narrow}$", screen_text(terminal), re.MULTILINE)
        expect(terminal).not_to_have_attribute("data-cols", str(narrow), timeout=WAIT_MS)
        wide = int(terminal.get_attribute("data-cols") or 0)
        assert wide > narrow, (narrow, wide)
        type_in(page, terminal, "echo $X pid-$$ cols-$(tput cols)")
        wait_for_text(terminal, rf"^kept pid-{pid} cols-{wide}$")

        expect(upload).to_have_attribute("data-state", "done", timeout=90_000)
        assert sha256_of(share / "big.bin") == sha256_of(big)

        show_tool(a, "screen")
        expect(viewer).to_have_attribute("data-status", "connected")
        wait_for(lambda: screen_canvas_fits(a), 20, "the screen scaled into its panel again")

        newest = by_id(a, "chat-text").filter(has_text=re.compile(rf"^line {CHAT_LINES}$"))
        expect(newest).to_be_in_viewport()
        expect(by_id(tab_of(page, first), "session-tab-unread")).to_have_count(0)
        shoot(page, artifacts_dir, "03-first-session-again")

        # And the second session's tab once more: its workspace, not the first one's.
        tab_of(page, second).click()
        expect(b).to_be_visible()
        expect(a).to_be_hidden()
        tab_of(page, first).click()
        show_tool(a, "shells")
        type_in(page, terminal, "echo still-$X")
        wait_for_text(terminal, r"^still-kept$")

        for session_id, agent in zip((first, second), agents, strict=True):
            end_session(page, base, session_id, agent)
    finally:
        for agent in agents:
            agent.close()
        customer_a.close()
