"""The technician's session workspace (TOOL-5, ATT-4): headless Chromium, the real server and
relay, two real agents (the first on an Xvfb display).

The technician has allowed notifications (the browser's permission). A customer arrives: a
desktop notification names him and a tone plays. Accepted, his session opens with the tools as
tabs and the chat beside them; the screen, shared by the customer, is scaled into the window
without the page scrolling, at 1440x900 and at 1024x768, and the chat stays in view beside the
screen, the shells and the files. Alt+H/F/I/S switch tools, Alt+1/2 switch sessions when a second
customer (announced the same way) has been accepted, also while the screen view has the
keyboard. The keyboard shortcuts are listed in the console. Screenshots at both sizes go to the
test's artifacts directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.fixtures.browser import admin_signs_in, by_id, new_session_key, open_page, shoot
from tests.fixtures.common import eventually
from tests.fixtures.screen import (
    WAIT_MS,
    Agent,
    Desktop,
    customer_of,
    end_session,
    paint_background,
    share_screen,
)
from tests.fixtures.workspace import accept_connected, show_tool, tab_of, workspace_of

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Workspace lantern 42"

# Counts what the page constructs: desktop notifications (title, body) and audio contexts.
WATCH_ARRIVALS = """
(() => {
  window.__notifications = [];
  window.__audioContexts = 0;
  const RealNotification = window.Notification;
  class WatchedNotification extends RealNotification {
    constructor(title, options) {
      super(title, options);
      window.__notifications.push({ title, body: (options && options.body) || "" });
    }
  }
  window.Notification = WatchedNotification;
  const RealAudioContext = window.AudioContext;
  window.AudioContext = class extends RealAudioContext {
    constructor(...args) {
      super(...args);
      window.__audioContexts += 1;
    }
  };
})();
"""


@pytest.fixture
def desktop(xvfb_display: Any, tmp_path: Path) -> Iterator[Desktop]:
    paint_background(xvfb_display.display)
    env = {**xvfb_display.env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    yield Desktop(xvfb_display.display, env, tmp_path / "typed.txt", tmp_path / "xev.log")


@pytest.fixture
def console(
    browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path
) -> Iterator[Page]:
    """The technician's browser at 1440x900, notifications allowed, arrivals watched."""
    with open_page(browser, request, artifacts_dir, width=1440, height=900) as page:
        page.context.grant_permissions(["notifications"])
        page.add_init_script(WATCH_ARRIVALS)
        yield page


def notifications(page: Page) -> list[dict[str, str]]:
    return list(page.evaluate("window.__notifications"))


def fully_in_view(page: Page, element: Locator) -> bool:
    """The element is shown whole inside the window."""
    box = element.bounding_box()
    size = page.evaluate("({ w: window.innerWidth, h: window.innerHeight })")
    return (
        box is not None
        and box["width"] > 100
        and box["height"] > 100
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["w"] + 0.5
        and box["y"] + box["height"] <= size["h"] + 0.5
    )


def page_scrolls(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollHeight > window.innerHeight"
            " || document.documentElement.scrollWidth > window.innerWidth"
        )
    )


def screen_fits_window(page: Page, workspace: Locator) -> bool:
    """The remote screen, scaled, is whole inside the window and the page does not scroll."""
    shown = by_id(workspace, "screen-canvas").locator("canvas").first
    return (
        fully_in_view(page, by_id(workspace, "screen-canvas"))
        and fully_in_view(page, shown)
        and not page_scrolls(page)
    )


def assert_chat_beside(page: Page, workspace: Locator) -> None:
    """The chat panel is in view, its input too, at the same time as the tool shown."""
    chat = by_id(workspace, "session-chat")
    expect(chat).to_be_visible()
    expect(by_id(chat, "chat-input")).to_be_in_viewport()
    assert fully_in_view(page, chat), chat.bounding_box()


def test_workspace_tabs_chat_beside_shortcuts_and_arrivals(
    relaydesk_server: Any, console: Page, desktop: Desktop, artifacts_dir: Path
) -> None:
    page = console
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key_a, key_b = new_session_key(page, base), new_session_key(page, base)
    customer_a = customer_of(base, key_a)
    page.goto(f"{base}/console/queues")
    expect(by_id(page, "notifications-on")).to_be_visible()
    expect(by_id(page, "notifications-enable")).to_have_count(0)
    assert notifications(page) == []
    agents = [Agent(base, key_a, desktop, artifacts_dir / "agent-a.log")]
    try:
        # The arrival: a toast, a desktop notification and a tone.
        expect(by_id(page, "toast")).to_be_visible(timeout=WAIT_MS)
        eventually(lambda: notifications(page), 20, "a notification of the arrival")
        assert len(notifications(page)) == 1
        assert notifications(page)[0]["title"].startswith("A customer is waiting")
        assert page.evaluate("window.__audioContexts") == 1

        first, a = accept_connected(page)
        expect(a).to_have_attribute("data-tool", "screen")
        tabs = a.locator('[data-testid="tool-tab"]')
        expect(tabs).to_have_text(["Screen", "Shells", "Files", "System information"])
        viewer = share_screen(by_id(a, "screen-panel"), customer_a)
        expect(by_id(viewer, "screen-scale")).to_have_attribute("aria-pressed", "true")
        eventually(lambda: screen_fits_window(page, a), 20, "the screen whole in 1440x900")
        assert_chat_beside(page, a)
        shoot(page, artifacts_dir, "01-screen-1440x900")

        # The shortcuts switch tools, the chat stays beside each.
        for code, tool, panel in (
            ("Alt+KeyH", "shells", "shell-panel"),
            ("Alt+KeyF", "files", "files-panel"),
            ("Alt+KeyI", "sysinfo", "sysinfo-panel"),
        ):
            page.keyboard.press(code)
            expect(a).to_have_attribute("data-tool", tool)
            expect(by_id(a, panel)).to_be_visible()
            expect(by_id(a, "screen-panel")).to_be_hidden()
            assert_chat_beside(page, a)
            assert not page_scrolls(page)
            shoot(page, artifacts_dir, f"02-{tool}-1440x900")
        page.keyboard.press("Alt+KeyS")
        expect(a).to_have_attribute("data-tool", "screen")
        expect(viewer).to_have_attribute("data-status", "connected")

        # A smaller window: the screen view follows it, still without scrolling.
        page.set_viewport_size({"width": 1024, "height": 768})
        eventually(lambda: screen_fits_window(page, a), 20, "the screen whole in 1024x768")
        assert_chat_beside(page, a)
        shoot(page, artifacts_dir, "03-screen-1024x768")
        show_tool(a, "shells")
        assert_chat_beside(page, a)
        shoot(page, artifacts_dir, "04-shells-1024x768")
        show_tool(a, "files")
        assert_chat_beside(page, a)
        assert not page_scrolls(page)
        shoot(page, artifacts_dir, "05-files-1024x768")
        show_tool(a, "screen")

        # The shortcuts are listed in the console.
        by_id(page, "shortcuts-help").click()
        listed = by_id(page, "shortcuts-list")
        expect(listed).to_contain_text("Alt+1…9")
        expect(listed).to_contain_text("Alt+H")
        shoot(page, artifacts_dir, "06-shortcuts-1024x768")
        by_id(page, "shortcuts-help").click()
        expect(listed).to_have_count(0)

        # A second customer arrives: announced the same way, accepted into a second tab.
        agents.append(Agent(base, key_b, desktop, artifacts_dir / "agent-b.log"))
        by_id(page, "console-nav-queues").click()
        eventually(lambda: len(notifications(page)) == 2, 20, "the second arrival notified")
        second, b = accept_connected(page)
        assert second != first
        expect(tab_of(page, second)).to_have_attribute("aria-selected", "true")

        # Alt+1 and Alt+2 switch sessions, also while the screen view has the keyboard.
        page.keyboard.press("Alt+Digit1")
        expect(tab_of(page, first)).to_have_attribute("aria-selected", "true")
        expect(a).to_be_visible()
        expect(b).to_be_hidden()
        by_id(a, "screen-canvas").locator("canvas").first.click()
        page.keyboard.press("Alt+KeyH")
        expect(a).to_have_attribute("data-tool", "shells")
        page.keyboard.press("Alt+Digit2")
        expect(tab_of(page, second)).to_have_attribute("aria-selected", "true")
        expect(workspace_of(page, second)).to_be_visible()
        expect(a).to_be_hidden()
        page.keyboard.press("Alt+Digit1")
        expect(a).to_have_attribute("data-tool", "shells")  # each session keeps its tool
        expect(by_id(a, "shell-panel")).to_be_visible()
        assert re.match(r"^A customer is waiting", notifications(page)[1]["title"])

        for session_id, agent in zip((first, second), agents, strict=True):
            end_session(page, base, session_id, agent)
    finally:
        for agent in agents:
            agent.close()
        customer_a.close()
