"""One technician viewing one customer's screen, set up as the screen tests need it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image
from playwright.sync_api import Locator, Page

from tests.e2e.test_screen_flow import (
    Agent,
    Desktop,
    canvas_pixels,
    customer_of,
    new_key,
    share_screen,
)
from tests.e2e.test_session_tabs import accept_connected
from tests.fixtures.browser import admin_signs_in, by_id


@dataclass
class ScreenSession:
    base: str
    session_id: str
    workspace: Locator
    panel: Locator
    viewer: Locator
    customer: httpx.Client
    agent: Agent


@contextmanager
def accepted_session(
    page: Page, server: Any, desktop: Desktop, artifacts_dir: Path, password: str
) -> Iterator[ScreenSession]:
    """The administrator signs in (choosing `password`) and accepts a session from a new key
    whose agent shows `desktop`; the screen is not shared yet. The agent and the customer's
    client go away on leaving."""
    page.set_viewport_size({"width": 2000, "height": 1500})
    base = admin_signs_in(page, server, password)
    key = new_key(page, base)
    customer = customer_of(base, key)
    agent = Agent(base, key, desktop, artifacts_dir / "agent.log")
    try:
        page.goto(f"{base}/console/queues")
        session_id, workspace = accept_connected(page)
        panel = by_id(workspace, "screen-panel")
        viewer = by_id(panel, "screen-viewer")
        yield ScreenSession(base, session_id, workspace, panel, viewer, customer, agent)
    finally:
        agent.close()
        customer.close()


def show_exactly(viewer: Locator) -> None:
    """Actual size in all colours: canvas pixels are X pixels."""
    if by_id(viewer, "screen-scale").get_attribute("aria-pressed") == "true":
        by_id(viewer, "screen-scale").click()
    by_id(viewer, "screen-colour-mode").select_option("all")


@contextmanager
def viewing_exactly(
    page: Page, server: Any, desktop: Desktop, artifacts_dir: Path, password: str
) -> Iterator[ScreenSession]:
    """An accepted session (see accepted_session) whose screen the technician views, with the
    customer's consent, exactly (see show_exactly)."""
    with accepted_session(page, server, desktop, artifacts_dir, password) as screen:
        share_screen(screen.panel, screen.customer)
        show_exactly(screen.viewer)
        yield screen


def assert_view_shows(page: Page, truth: np.ndarray, artifacts_dir: Path, name: str) -> None:
    """The view shows `truth` (the X display, or the part of it chosen) pixel for pixel, as far
    as the view reaches; both pictures are kept as name-canvas.png and name-x.png."""
    seen = canvas_pixels(page)
    truth = truth[: seen.shape[0], : seen.shape[1]]
    Image.fromarray(seen).save(artifacts_dir / f"{name}-canvas.png")
    Image.fromarray(truth).save(artifacts_dir / f"{name}-x.png")
    assert seen.shape == truth.shape, (seen.shape, truth.shape)
    assert np.array_equal(seen, truth)
