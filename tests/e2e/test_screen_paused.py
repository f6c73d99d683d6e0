"""A screen view nobody looks at is paused (TOOL-1, ATT-4): headless Chromium, the real server
and relay, two real agents on one Xvfb display where a window repaints a moving picture.

The technician views the first customer's screen (all colours, actual size: the canvas is the X
display pixel for pixel), goes to the queues and accepts a second session, whose tab comes to the
front. While the first session's workspace is hidden its screen view says it is paused and
completes no framebuffer update however much the picture moves, and its connection stays. The
picture then stops; back on the first tab, the view shows at once what the X display shows now,
not the picture it had when it was hidden. Last, the browser tab goes to the background (headless
Chromium keeps every tab visible, so the page is told so as a browser would tell it): the view in
front pauses too, and goes on when the tab is back. Screenshots go to the artifacts directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.fixtures.browser import admin_signs_in, by_id, new_session_key, shoot
from tests.fixtures.screen import (
    Agent,
    Movie,
    canvas_pixels,
    customer_of,
    end_session,
    moving_desktop,  # noqa: F401 - fixture
    settle,
    share_screen,
    wait_for,
)
from tests.fixtures.screen_session import show_exactly
from tests.fixtures.workspace import accept_connected, tab_of
from tests.fixtures.xvfb import x_screenshot

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Paused screen lantern 42"
SETTLING_FRAMES = 30  # movie frames for updates already under way when the view hid
HIDDEN_FRAMES = 45  # movie frames painted while the count must stand still

PAGE_VISIBILITY = """hidden => {
    Object.defineProperty(document, "visibilityState", {
        configurable: true, get: () => (hidden ? "hidden" : "visible"),
    });
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def updates_of(viewer: Locator) -> int:
    """Framebuffer updates the view has completed, as its live indicator counts them."""
    return int(viewer.get_attribute("data-frames") or 0)


def movie_plays(movie: Movie, frames: int) -> None:
    start = movie.frames()
    wait_for(lambda: movie.frames() >= start + frames, 60, f"{frames} more movie frames")


def test_hidden_screen_view_pauses_and_comes_back_current(
    relaydesk_server: Any,
    page: Page,
    moving_desktop: tuple[Any, Movie],  # noqa: F811 - the fixture imported above
    artifacts_dir: Path,
) -> None:
    desktop, movie = moving_desktop
    page.set_viewport_size({"width": 2000, "height": 1500})
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key_a, key_b = new_session_key(page, base), new_session_key(page, base)
    customer_a = customer_of(base, key_a)
    agents = [Agent(base, key_a, desktop, artifacts_dir / "agent-a.log")]
    try:
        page.goto(f"{base}/console/queues")
        first, a = accept_connected(page)
        viewer = share_screen(by_id(a, "screen-panel"), customer_a)
        show_exactly(viewer)
        expect(viewer).to_have_attribute("data-paused", "no")
        shown_before = updates_of(viewer)
        wait_for(lambda: updates_of(viewer) > shown_before + 5, 30, "the movie on the view")
        expect(by_id(viewer, "screen-fps")).to_be_visible()
        shoot(page, artifacts_dir, "01-first-session-screen")

        # The second customer: the technician accepts him from the queues; his tab is in front.
        agents.append(Agent(base, key_b, desktop, artifacts_dir / "agent-b.log"))
        by_id(page, "console-nav-queues").click()
        expect(a).to_be_hidden()
        expect(viewer).to_have_attribute("data-paused", "yes")
        second, b = accept_connected(page)
        expect(a).to_be_hidden()
        expect(viewer).to_have_attribute("data-paused", "yes")
        expect(by_id(viewer, "screen-paused")).to_have_text("Paused while hidden")
        expect(by_id(viewer, "screen-fps")).to_have_count(0)

        # The movie goes on; the hidden view completes no update, its connection stays.
        movie_plays(movie, SETTLING_FRAMES)
        hidden_at = updates_of(viewer)
        movie_plays(movie, HIDDEN_FRAMES)
        assert updates_of(viewer) == hidden_at, (hidden_at, updates_of(viewer))
        expect(viewer).to_have_attribute("data-status", "connected")
        shoot(page, artifacts_dir, "02-second-session-in-front")

        # The picture stops where the view never saw it; back on the first tab the view shows
        # it at once.
        movie.freeze()
        truth = x_screenshot(desktop.display)
        tab_of(page, first).click()
        expect(a).to_be_visible()
        expect(b).to_be_hidden()
        expect(viewer).to_have_attribute("data-paused", "no")
        expect(viewer).to_have_attribute("data-status", "connected")
        expect(by_id(viewer, "screen-fps")).to_be_visible()
        wait_for(lambda: updates_of(viewer) > hidden_at, 30, "an update once shown again")
        settle(page)
        seen = canvas_pixels(page)
        truth = truth[: seen.shape[0], : seen.shape[1]]
        Image.fromarray(seen).save(artifacts_dir / "canvas-shown-again.png")
        Image.fromarray(truth).save(artifacts_dir / "x-display.png")
        assert seen.shape == truth.shape, (seen.shape, truth.shape)
        assert np.array_equal(seen, truth)
        shoot(page, artifacts_dir, "03-first-session-again")

        # The browser tab in the background pauses the view in front; back, it goes on.
        movie.resume()
        page.evaluate(PAGE_VISIBILITY, True)
        expect(viewer).to_have_attribute("data-paused", "yes")
        expect(by_id(viewer, "screen-paused")).to_be_visible()
        page.evaluate(PAGE_VISIBILITY, False)
        expect(viewer).to_have_attribute("data-paused", "no")
        shown_again = updates_of(viewer)
        wait_for(lambda: updates_of(viewer) > shown_again + 5, 30, "the movie on the view again")

        for session_id, agent in zip((first, second), agents, strict=True):
            end_session(page, base, session_id, agent)
    finally:
        for agent in agents:
            agent.close()
        customer_a.close()
