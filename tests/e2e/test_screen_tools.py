"""The screen view's tools under full control (TOOL-1): special keys, the on-screen keyboard,
typing a text, full screen with keys passed through, and the screenshot saved as PNG and copied.
Headless Chromium, the real server, relay and agent, an Xvfb display with an xterm and a small
window (xev) that logs the keys it gets.
"""

from __future__ import annotations

import base64
import re
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.fixtures.browser import by_id, shoot
from tests.fixtures.screen import (
    XEV_SPOT,
    XTERM_SPOT,
    Desktop,
    click_at,
    desktop,  # noqa: F401 - the fixture
    end_session,
    grant_control,
    settle,
    wait_for,
)
from tests.fixtures.screen_session import assert_view_shows, viewing_exactly
from tests.fixtures.xvfb import x_screenshot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Screen tools toolbox 5"

READ_COPIED_PNG = """async () => {
    const items = await navigator.clipboard.read();
    for (const item of items) {
        if (item.types.includes("image/png")) {
            const bytes = new Uint8Array(await (await item.getType("image/png")).arrayBuffer());
            let text = "";
            for (const byte of bytes) text += String.fromCharCode(byte);
            return btoa(text);
        }
    }
    return null;
}"""


def pressed(device: Desktop, keysym_name: str) -> list[str]:
    """The key presses of `keysym_name` xev logged, as its blocks of lines."""
    events = device.xev_log().split("\n\n")
    return [e for e in events if e.startswith("KeyPress") and f", {keysym_name})" in e]


def state_of(event: str) -> int:
    return int(re.findall(r"state (0x[0-9a-f]+)", event)[0], 16)


def test_special_keys_keyboard_full_screen_and_screenshots(
    relaydesk_server: Any,
    page: Page,
    desktop: Desktop,  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
) -> None:
    with viewing_exactly(page, relaydesk_server, desktop, artifacts_dir, ADMIN_PASSWORD) as screen:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=screen.base)
        viewer, session_id = screen.viewer, screen.session_id
        grant_control(screen.panel, screen.customer)

        # Special keys: the pointer over xev (X gives it the keyboard), then Alt-F4 and Super.
        click_at(page, XEV_SPOT)
        special = by_id(viewer, "screen-special-keys")
        special.select_option("alt_f4")
        wait_for(lambda: bool(pressed(desktop, "F4")), 20, "Alt-F4 in xev")
        assert state_of(pressed(desktop, "F4")[-1]) & 0x8  # Mod1 (Alt) held
        special.select_option("super")
        wait_for(lambda: bool(pressed(desktop, "Super_L")), 20, "the Super key in xev")

        # The on-screen keyboard: F5, then Shift latched and "a" gives "A" (Shift held).
        by_id(viewer, "screen-keyboard-toggle").click()
        keyboard = by_id(viewer, "screen-keyboard")
        keyboard.locator('[data-key="F5"]').click()
        wait_for(lambda: bool(pressed(desktop, "F5")), 20, "F5 from the on-screen keyboard")
        keyboard.locator(".screen-key", has_text=re.compile(r"^Shift$")).click()
        keyboard.locator('[data-key="a"]').click()
        wait_for(lambda: bool(pressed(desktop, "A")), 20, "Shift-a from the on-screen keyboard")
        shoot(page, artifacts_dir, "01-on-screen-keyboard")

        # A whole text typed into the xterm.
        click_at(page, XTERM_SPOT)
        by_id(viewer, "screen-type-text").fill("typed by the console: ok")
        by_id(viewer, "screen-type-text").press("Enter")  # the form's "Type it"
        keyboard.locator('[data-key="Enter"]').click()  # the on-screen Enter ends the line
        wait_for(lambda: "ok" in desktop.typed_text(), 20, "the typed text in the xterm")
        assert "typed by the console: ok" in desktop.typed_text()
        keyboard.get_by_role("button", name="Close").click()
        expect(keyboard).to_have_count(0)

        # Full screen: the view fills the screen, keys the browser would keep go to the device.
        click_at(page, XEV_SPOT)
        by_id(viewer, "screen-fullscreen").click()
        expect(viewer).to_have_class(re.compile(r"\bscreen-frame-full\b"))
        assert page.evaluate("document.fullscreenElement?.dataset.testid") == "screen-viewer"
        f1_before = len(pressed(desktop, "F1"))
        page.keyboard.press("F1")
        wait_for(lambda: len(pressed(desktop, "F1")) > f1_before, 20, "F1 in full screen")
        shoot(page, artifacts_dir, "02-full-screen")
        page.evaluate("document.exitFullscreen()")
        expect(viewer).not_to_have_class(re.compile(r"\bscreen-frame-full\b"))

        # Screenshot saved: a PNG named after the session, the X display's pixels.
        page.mouse.move(0, 0)
        settle(page)
        truth = x_screenshot(desktop.display)
        with page.expect_download() as download:
            by_id(viewer, "screen-screenshot").click()
        name = download.value.suggested_filename
        assert re.fullmatch(rf"relaydesk-session-{session_id}-[\d-]+\.png", name), name
        saved = np.asarray(Image.open(download.value.path()).convert("RGB"))
        Image.fromarray(saved).save(artifacts_dir / "screenshot-saved.png")
        assert saved.shape == truth.shape, (saved.shape, truth.shape)
        assert np.array_equal(saved, truth)

        # Screenshot copied: the browser's clipboard holds the same PNG.
        by_id(viewer, "screen-screenshot-copy").click()
        expect(by_id(viewer, "screen-note")).to_have_text("Screenshot copied to your clipboard.")
        copied = page.evaluate(READ_COPIED_PNG)
        assert copied, "no PNG on the clipboard"
        image = Image.open(BytesIO(base64.b64decode(copied))).convert("RGB")
        assert np.array_equal(np.asarray(image), truth)
        assert_view_shows(page, truth, artifacts_dir, "shown")  # what both screenshots show

        end_session(page, screen.base, session_id, screen.agent)
