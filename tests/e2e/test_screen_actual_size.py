"""The screen view's "actual size" on a device screen wider than the console (TOOL-1): headless
Chromium, the real server, relay and agent on a 1920x1080 Xvfb display.

At actual size the remote screen scrolls inside the screen panel, both ways, while the console
keeps its width: the page never scrolls sideways, in the two-column console (1400 px window) as
in the one-column layout of narrow windows (800 px), where the screen used to widen the page to
the console's full width. Scrolled to a corner the view shows that part of the display, pixel
for pixel in the lossless mode. Scale to fit shows the whole screen inside the panel.
Screenshots go to the test's artifacts directory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.e2e.test_screen_flow import (
    Agent,
    Desktop,
    canvas,
    customer_of,
    end_session,
    new_key,
    open_session_tab,
    paint_background,
    settle,
    share_screen,
    wait_for,
)
from tests.fixtures.browser import admin_signs_in, by_id, shoot
from tests.fixtures.xvfb import XvfbDisplay, start_xvfb, stop_xvfb, x_screenshot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Actual size lantern 42"
WIDE_SCREEN = "1920x1080x24"
WIDE = {"width": 1400, "height": 900}  # the console in two columns, side navigation
NARROW = {"width": 800, "height": 900}  # one column, as on a small laptop or half a screen
CORNER = 12  # pixels: the screen frame's rounded corners, with room


@pytest.fixture
def wide_desktop(artifacts_dir: Path, tmp_path: Path) -> Iterator[Desktop]:
    """A 1920x1080 display of its own (the session's Xvfb is 1280x800), photo-like."""
    display: XvfbDisplay = start_xvfb(artifacts_dir / "xvfb-wide.log", WIDE_SCREEN)
    try:
        paint_background(display.display)
        env = {**display.env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        yield Desktop(display.display, env, tmp_path / "typed.txt", tmp_path / "xev.log")
    finally:
        stop_xvfb(display)


def page_overflow(page: Page) -> int:
    """How far the page reaches past the window sideways (0: no horizontal page scrollbar)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def scroller(page: Page) -> Locator:
    """The element that scrolls the remote screen: noVNC's screen inside the screen canvas."""
    return by_id(page, "screen-canvas").locator(":scope > div").first


def metrics(element: Locator) -> dict[str, int]:
    return dict(
        element.evaluate(
            """e => ({scrollWidth: e.scrollWidth, clientWidth: e.clientWidth,
                      scrollHeight: e.scrollHeight, clientHeight: e.clientHeight,
                      scrollLeft: Math.round(e.scrollLeft), scrollTop: Math.round(e.scrollTop)})"""
        )
    )


def shown_part(page: Page, element: Locator) -> tuple[np.ndarray, tuple[int, int]]:
    """What the technician sees of the remote screen in the element's client area (without its
    scrollbars), and where that is on the remote screen (column, row of its top left pixel)."""
    page.mouse.move(0, 0)  # noVNC's local cursor must not be in the picture
    element.evaluate("e => e.scrollIntoView({block: 'nearest'})")
    area = element.evaluate(
        """e => { const r = e.getBoundingClientRect();
                  const c = e.querySelector('canvas').getBoundingClientRect();
                  return {x: r.x + e.clientLeft, y: r.y + e.clientTop, width: e.clientWidth,
                          height: e.clientHeight, canvasX: c.x, canvasY: c.y}; }"""
    )
    left, top = math.ceil(area["x"]), math.ceil(area["y"])
    right = math.floor(area["x"] + area["width"])
    bottom = math.floor(area["y"] + area["height"])
    png = page.screenshot(clip={"x": left, "y": top, "width": right - left, "height": bottom - top})
    at = (left - round(area["canvasX"]), top - round(area["canvasY"]))
    return np.asarray(Image.open(BytesIO(png)).convert("RGB")), at


def matches(seen: np.ndarray, at: tuple[int, int], truth: np.ndarray) -> bool:
    """Whether the view shows the display's pixels from `at` on, except in the screen frame's
    rounded bottom corners (the panel's border, drawn over the picture)."""
    height, width = seen.shape[:2]
    same = np.all(seen == truth[at[1] : at[1] + height, at[0] : at[0] + width], axis=2)
    corner = CORNER
    same[-corner:, :corner] = True
    same[-corner:, -corner:] = True
    return bool(same.all())


def test_actual_size_scrolls_inside_the_screen_panel(
    relaydesk_server: Any, page: Page, wide_desktop: Desktop, artifacts_dir: Path
) -> None:
    page.set_viewport_size(WIDE)
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = new_key(page, base)
    customer = customer_of(base, key)
    agent = Agent(base, key, wide_desktop, artifacts_dir / "agent.log")
    try:
        workspace = open_session_tab(page, base)
        session_id = workspace.get_attribute("data-session-id")
        viewer = share_screen(by_id(workspace, "screen-panel"), customer)
        by_id(viewer, "screen-colour-mode").select_option("all")  # lossless: pixel for pixel
        scale = by_id(viewer, "screen-scale")
        view = scroller(page)

        # Scale to fit: the whole 1920-pixel screen inside the panel, nothing to scroll.
        if scale.get_attribute("aria-pressed") != "true":
            scale.click()
        expect(scale).to_have_attribute("aria-pressed", "true")
        wait_for(lambda: canvas(page).evaluate("c => c.width") == 1920, 20, "the remote screen")
        settle(page)
        for size in (WIDE, NARROW):
            page.set_viewport_size(size)
            frame = by_id(page, "screen-canvas").bounding_box()
            assert frame is not None
            wait_for(
                lambda frame=frame: (
                    (canvas(page).bounding_box() or {"width": 1e9})["width"] <= frame["width"]
                ),
                10,
                "the screen scaled into the panel",
            )
            assert page_overflow(page) <= 0, (size, page_overflow(page))
            fitted = metrics(view)
            assert fitted["scrollWidth"] <= fitted["clientWidth"], (size, fitted)
            shoot(page, artifacts_dir, f"01-scale-to-fit-{size['width']}")

        # Actual size: the screen scrolls inside the panel, both ways; the page keeps its width.
        page.set_viewport_size(WIDE)
        scale.click()
        expect(scale).to_have_attribute("aria-pressed", "false")
        wait_for(
            lambda: (canvas(page).bounding_box() or {"width": 0})["width"] >= 1919,
            10,
            "the screen at actual size",
        )
        settle(page)
        truth = x_screenshot(wide_desktop.display)
        Image.fromarray(truth).save(artifacts_dir / "x-display.png")
        for size in (WIDE, NARROW):
            page.set_viewport_size(size)
            wait_for(
                lambda size=size: metrics(view)["clientWidth"] < size["width"],
                10,
                f"the screen panel within a {size['width']} px window",
            )
            assert page_overflow(page) <= 0, (size, page_overflow(page))
            actual = metrics(view)
            assert actual["scrollWidth"] > actual["clientWidth"], (size, actual)
            assert actual["scrollHeight"] > actual["clientHeight"], (size, actual)
            seen, at = shown_part(page, view)
            assert max(at) <= 1, at  # the top left (the panel may start between two pixels)
            assert matches(seen, at, truth), f"top left at {size['width']} px"
            shoot(page, artifacts_dir, f"02-actual-size-{size['width']}")

        # Scrolled to the far corner (as the technician drags the panel's scrollbars), the view
        # shows the display's bottom right part; the page still does not scroll sideways.
        view.evaluate("e => e.scrollTo(e.scrollWidth, e.scrollHeight)")
        wait_for(
            lambda: metrics(view)["scrollLeft"] > 0 and metrics(view)["scrollTop"] > 0,
            5,
            "the view scrolled",
        )
        assert page_overflow(page) <= 0, page_overflow(page)
        corner, at = shown_part(page, view)
        Image.fromarray(corner).save(artifacts_dir / "view-bottom-right.png")
        height, width = corner.shape[:2]
        assert abs(at[0] + width - 1920) <= 1 and abs(at[1] + height - 1080) <= 1, (
            at,
            width,
            height,
        )
        assert matches(corner, at, truth), "bottom right"
        shoot(page, artifacts_dir, "03-actual-size-bottom-right")

        end_session(page, base, session_id, agent)
    finally:
        agent.close()
        customer.close()
