"""The shell shows every glyph: `x86_64` keeps its underscore (it showed as "x86 64" when the
terminal's rows were as tall as the font and clipped what sits below the baseline), descenders,
box drawing and double-width CJK. Headless Chromium with xterm.js against the real server and
agent's pty; the check is on the pixels of the screenshot, as the technician's eyes see them."""

from __future__ import annotations

import io
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.fixtures.agents import start_agent
from tests.fixtures.browser import admin_signs_in, api, by_id, shoot
from tests.fixtures.common import eventually

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Glyph lantern harbour 42"
WAIT_MS = 20_000
LINE = "_gjpqy ─│┌┐ 中文"
BACKGROUND = np.array([0x0F, 0x14, 0x20])  # the terminal's theme


def row_showing(terminal: Locator, text: str) -> Locator:
    def find() -> Locator | None:
        rows = terminal.locator(".xterm-rows > div")
        for index, row in enumerate(rows.all_inner_texts()):
            if row.replace("\xa0", " ").rstrip() == text:
                return rows.nth(index)
        return None

    return eventually(find, 20, f"a terminal row showing {text!r}")


def ink(row: Locator, first_cell: int, cells: int, cols: int) -> np.ndarray:
    """The row's pixels under the given cells, as a mask of what is not background."""
    pixels = np.asarray(Image.open(io.BytesIO(row.screenshot())).convert("RGB"), dtype=int)
    box = row.bounding_box()
    assert box is not None
    scale = pixels.shape[1] / box["width"]
    terminal_width = row.evaluate("r => r.parentElement.getBoundingClientRect().width")
    cell = terminal_width / cols * scale
    left, right = int(first_cell * cell), int((first_cell + cells) * cell)
    part = pixels[:, left:right]
    return np.abs(part - BACKGROUND).sum(axis=2) > 120


def test_underscores_descenders_box_drawing_and_cjk_are_drawn(
    relaydesk_server: Any, page: Page, artifacts_dir: Path
) -> None:
    page.set_viewport_size({"width": 1200, "height": 900})
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = api(page, "POST", "/api/v1/session-keys", {"validity_minutes": 15})["key"]
    agent = start_agent(base, key)
    try:
        waiting = eventually(
            lambda: api(page, "GET", "/api/v1/queue")["personal"], 20, "the session"
        )
        sid = waiting[0]["id"]
        api(page, "POST", f"/api/v1/sessions/{sid}/accept")
        by_id(page, "console-nav-sessions").click()
        workspace = by_id(page, "session-workspace")
        expect(workspace).to_have_attribute("data-session-id", str(sid), timeout=WAIT_MS)
        shells_tab = workspace.locator('[data-testid="tool-tab"][data-tool="shells"]')
        if shells_tab.count():  # the workspace with the session's tools as tabs
            shells_tab.click()
        panel = by_id(page, "shell-panel")
        by_id(panel, "shell-open").click()
        expect(by_id(panel, "shell-tab").nth(0)).to_have_attribute(
            "data-shell-state", "open", timeout=WAIT_MS
        )
        terminal = by_id(panel, "shell-terminal").nth(0)
        terminal.click()
        page.keyboard.type(f"clear; uname -m; printf '{LINE}\\n'", delay=5)
        page.keyboard.press("Enter")
        machine = platform.machine()
        machine_row = row_showing(terminal, machine)
        glyph_row = row_showing(terminal, LINE)
        shoot(page, artifacts_dir, "01-glyphs")
        (artifacts_dir / "02-glyph-row.png").write_bytes(glyph_row.screenshot())
        (artifacts_dir / "03-machine-row.png").write_bytes(machine_row.screenshot())
        cols = int(terminal.get_attribute("data-cols") or 0)
        assert cols > 40, cols

        # Every underscore of `uname -m` is drawn: ink in its cell's lower part.
        for index, char in enumerate(machine):
            if char == "_":
                mask = ink(machine_row, index, 1, cols)
                assert mask.any(), f"the underscore of {machine!r} is not drawn"
                assert mask[mask.shape[0] // 2 :].any(), "the underscore is not below the middle"
        # The line's underscore too, and the descenders of g j p q y reach below the x-height.
        underscore = ink(glyph_row, 0, 1, cols)
        assert underscore.any(), "the underscore of the glyph line is not drawn"
        descenders = ink(glyph_row, 1, 5, cols)
        lowest_ink = np.nonzero(descenders.any(axis=1))[0].max()
        assert lowest_ink >= underscore.shape[0] * 0.7, (lowest_ink, underscore.shape)
        # Box drawing: the vertical bar is a line over most of the row (xterm.js's DOM renderer
        # draws it with the font, so it does not reach into the 1.2 line height's spacing).
        bar = ink(glyph_row, 8, 1, cols)
        tall = np.nonzero(bar.any(axis=1))[0]
        assert tall.size and tall.max() - tall.min() >= bar.shape[0] * 0.6, "│ is not drawn"
        assert ink(glyph_row, 9, 2, cols).any(), "┌┐ are not drawn"
        # CJK characters take two cells each: 中文 ends at the line's last column (16).
        wide = ink(glyph_row, 12, 4, cols)
        width = wide.shape[1]
        assert wide[:, : width // 2].any() and wide[:, width // 2 :].any()
        assert not ink(glyph_row, 16, 2, cols).any(), "something drawn after 中文's four cells"
    finally:
        agent.kill()
        agent.wait()
