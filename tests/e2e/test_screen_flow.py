"""The technician's screen view as he uses it: headless Chromium with noVNC, the real server and
relay, the real agent on an Xvfb display with a real xterm, the customer's consent through the
portal API.

The X display gets a colourful background (a gradient with noise, like a photo) so that colour
modes make a visible difference in bytes, and an xterm that writes whatever is typed into it to
a file, so that typed text can be read back. The test checks that the canvas shows the X display
(pixel for pixel in the lossless mode, within a bound in a JPEG mode), that typing reaches the
xterm only under full control, that a revocation stops input within a second, that the live
indicator reports frames, latency and bandwidth, and that stopping the share closes the viewer.
Screenshots go to the test's artifacts directory.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.fixtures.common import require_executable

pytestmark = pytest.mark.e2e

AGENT = str(Path(sys.executable).parent / "relaydesk-agent")
ADMIN_PASSWORD = "Screen share lantern 42"
SCREEN_PATH = "/console/sessions?screen={sid}"
XTERM_GEOMETRY = "80x24+0+0"


def by_id(page: Page, testid: str) -> Locator:
    return page.get_by_test_id(testid)


def shoot(page: Page, artifacts_dir: Path, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)


def x_screenshot(display: str) -> np.ndarray:
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    root = d.screen().root
    geometry = root.get_geometry()
    raw = root.get_image(0, 0, geometry.width, geometry.height, X.ZPixmap, 0xFFFFFFFF)
    pixels = np.frombuffer(raw.data, dtype=np.uint8).reshape(geometry.height, geometry.width, 4)
    d.close()
    return pixels[:, :, [2, 1, 0]]  # BGRX → RGB


def paint_background(display: str) -> None:
    """A photo-like root background: smooth colour gradients plus noise (JPEG's best case,
    lossless compression's worst)."""
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    screen = d.screen()
    root = screen.root
    geometry = root.get_geometry()
    width, height = geometry.width, geometry.height
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 127 + 100 * np.sin(xx / 97.0) + rng.normal(0, 18, (height, width))
    green = 127 + 100 * np.cos(yy / 71.0) + rng.normal(0, 18, (height, width))
    blue = 127 + 100 * np.sin((xx + yy) / 131.0) + rng.normal(0, 18, (height, width))
    rgb = np.clip(np.stack([red, green, blue], axis=-1), 0, 255).astype(np.uint8)
    bgrx = np.zeros((height, width, 4), dtype=np.uint8)
    bgrx[:, :, 0], bgrx[:, :, 1], bgrx[:, :, 2] = rgb[:, :, 2], rgb[:, :, 1], rgb[:, :, 0]
    pixmap = root.create_pixmap(width, height, screen.root_depth)
    gc = pixmap.create_gc()
    rows = 40  # keeps each PutImage under the core protocol's request size
    for top in range(0, height, rows):
        band = bgrx[top : top + rows]
        pixmap.put_image(gc, 0, top, width, band.shape[0], X.ZPixmap, 24, 0, band.tobytes())
    root.change_attributes(background_pixmap=pixmap)
    root.clear_area(0, 0, width, height)
    d.sync()
    d.close()


@dataclass
class Desktop:
    display: str
    env: dict[str, str]
    typed: Path  # what the xterm receives


@pytest.fixture
def desktop(xvfb_display: Any, tmp_path: Path) -> Iterator[Desktop]:
    xterm = require_executable("xterm", "apt-get install xterm (or run scripts/setup.sh)")
    typed = tmp_path / "typed.txt"
    paint_background(xvfb_display.display)
    terminal = subprocess.Popen(
        [
            xterm,
            "-geometry",
            XTERM_GEOMETRY,
            "-bg",
            "black",
            "-fg",
            "white",
            "-e",
            "sh",
            "-c",
            f"exec cat > {typed}",
        ],
        env=xvfb_display.env,
    )
    deadline = time.monotonic() + 10
    while not typed.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    try:
        yield Desktop(xvfb_display.display, xvfb_display.env, typed)
    finally:
        terminal.kill()
        terminal.wait(5)


def sign_in_as_admin(page: Page, server: Any) -> None:
    page.goto(f"{server.url}/console")
    by_id(page, "signin-email").fill(server.admin_email)
    by_id(page, "signin-password").fill(server.admin_password)
    by_id(page, "signin-submit").click()
    expect(by_id(page, "password-change-form")).to_be_visible()
    by_id(page, "password-new").fill(ADMIN_PASSWORD)
    by_id(page, "password-confirm").fill(ADMIN_PASSWORD)
    by_id(page, "password-change-submit").click()
    expect(page).to_have_url(re.compile(r"/console"))


class BrowserApi:
    """The API with the browser's own cookies and CSRF token, as the console calls it."""

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

    def post(self, path: str, body: Any = None) -> Any:
        response = self.page.request.post(
            f"{self.base}{path}", data=body, headers={"x-csrf-token": self._csrf()}
        )
        assert response.ok, response.text()
        return response.json() if response.status != 204 else None


def wait_for(predicate: Any, timeout: float, what: str) -> float:
    """Polls until predicate() is true; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def canvas_pixels(page: Page) -> np.ndarray:
    page.mouse.move(0, 0)  # noVNC's local cursor must not be in the picture
    png = by_id(page, "screen-canvas").locator("canvas").first.screenshot()
    return np.asarray(Image.open(BytesIO(png)).convert("RGB"))


def settle(page: Page) -> None:
    """Waits until no bytes have arrived for half a second (the last full refresh is drawn)."""
    last = -1
    quiet_since = time.monotonic()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        total = page.evaluate("window.__relaydeskScreen.snapshot().totalBytesIn")
        if total != last:
            last, quiet_since = total, time.monotonic()
        elif time.monotonic() - quiet_since > 0.5:
            return
        time.sleep(0.1)


def bytes_for_full_refresh(page: Page, mode: str) -> int:
    """Switching mode asks for the whole screen again: the bytes that refresh costs."""
    before = page.evaluate("window.__relaydeskScreen.snapshot().totalBytesIn")
    by_id(page, "screen-colour-mode").select_option(mode)
    time.sleep(0.3)
    settle(page)
    return int(page.evaluate("window.__relaydeskScreen.snapshot().totalBytesIn")) - int(before)


def type_into_screen(page: Page, text: str) -> None:
    # A click on the xterm moves the device's pointer there (X gives it the keyboard focus) and
    # gives the canvas the browser's keyboard focus; in view-only mode it only does the latter.
    canvas = by_id(page, "screen-canvas").locator("canvas").first
    canvas.click(position={"x": 120, "y": 100})
    page.keyboard.type(text, delay=15)
    page.keyboard.press("Enter")


def test_technician_views_and_controls_the_customers_screen(
    relaydesk_server: Any, page: Page, desktop: Desktop, artifacts_dir: Path
) -> None:
    base = relaydesk_server.url
    page.set_viewport_size({"width": 2000, "height": 1400})
    sign_in_as_admin(page, relaydesk_server)
    console = BrowserApi(page, base)
    key = console.post("/api/v1/session-keys", {"validity_minutes": 15})["key"]
    customer_token = httpx.post(f"{base}/api/v1/portal/keys", json={"key": key}).json()[
        "customer_token"
    ]
    customer = httpx.Client(base_url=base, headers={"x-customer-token": customer_token})
    agent_log = (artifacts_dir / "agent.log").open("w")
    agent = subprocess.Popen(
        [AGENT, "--server", base, "--key", key],
        env=desktop.env,
        stdout=agent_log,
        stderr=subprocess.STDOUT,
    )
    try:
        sid = wait_for_session(console)
        console.post(f"/api/v1/sessions/{sid}/accept")
        page.goto(base + SCREEN_PATH.format(sid=sid))
        panel = by_id(page, "screen-panel")
        expect(panel).to_have_attribute("data-screen-phase", "idle")

        # View only: ask, wait for the customer, who allows.
        by_id(page, "screen-request-view").click()
        expect(panel).to_have_attribute("data-screen-phase", "waiting")
        expect(by_id(page, "screen-waiting")).to_be_visible()
        shoot(page, artifacts_dir, "01-waiting-for-consent")
        assert customer.post("/api/v1/portal/session/screen/answer", json={"allow": True}).is_success
        expect(panel).to_have_attribute("data-screen-phase", "view")
        viewer = by_id(page, "screen-viewer")
        expect(viewer).to_have_attribute("data-status", "connected", timeout=15_000)
        expect(by_id(page, "screen-ctrl-alt-del")).to_be_disabled()

        # Actual size, lossless: the canvas is the X display, pixel for pixel.
        if by_id(page, "screen-scale").get_attribute("aria-pressed") == "true":
            by_id(page, "screen-scale").click()
        lossless_bytes = bytes_for_full_refresh(page, "all")
        truth = x_screenshot(desktop.display)
        seen = canvas_pixels(page)
        Image.fromarray(seen).save(artifacts_dir / "canvas-lossless.png")
        Image.fromarray(truth).save(artifacts_dir / "x-display.png")
        assert seen.shape == truth.shape
        assert np.array_equal(seen, truth)
        shoot(page, artifacts_dir, "02-view-only-lossless")

        # Black & white costs a fraction of the bytes of lossless for the same screen, and
        # JPEG stays close to the truth.
        bw_bytes = bytes_for_full_refresh(page, "bw")
        assert bw_bytes * 4 < lossless_bytes, (bw_bytes, lossless_bytes)
        more_bytes = bytes_for_full_refresh(page, "more")
        assert more_bytes < lossless_bytes, (more_bytes, lossless_bytes)
        lossy = canvas_pixels(page).astype(np.int16)
        error = np.abs(lossy - truth.astype(np.int16))
        assert error.mean() < 12, error.mean()
        terminal = (slice(0, 300), slice(0, 480))  # the xterm: few colours, sent losslessly
        assert np.abs(error[terminal]).max() <= 2
        expect(by_id(page, "screen-fps")).to_have_text(re.compile(r"\d+ frames/s"))
        expect(by_id(page, "screen-latency")).to_have_text(
            re.compile(r"Latency \d+ ms"), timeout=5_000
        )
        expect(by_id(page, "screen-bandwidth")).to_have_text(re.compile(r"Bandwidth [\d.]+ \w?bit/s"))
        shoot(page, artifacts_dir, "03-more-colours-indicator")
        by_id(page, "screen-colour-mode").select_option("all")

        # In view-only mode typed keys do not arrive.
        type_into_screen(page, "seen only")
        time.sleep(1.0)
        assert desktop.typed.read_text() == ""

        # Control: asked from view, allowed by the customer; typing lands in the xterm.
        by_id(page, "screen-request-control").click()
        expect(by_id(page, "screen-waiting")).to_be_visible()
        assert customer.post("/api/v1/portal/session/screen/answer", json={"allow": True}).is_success
        expect(panel).to_have_attribute("data-screen-phase", "control")
        expect(viewer).to_have_attribute("data-control", "yes")
        type_into_screen(page, "hello relaydesk")
        wait_for(
            lambda: "hello relaydesk\n" in desktop.typed.read_text(), 5, "typed text in the xterm"
        )
        shoot(page, artifacts_dir, "04-control-typed")

        # The customer takes control back: within a second the viewer is view-only and typed
        # keys no longer arrive.
        assert customer.post("/api/v1/portal/session/screen/revoke-control").is_success
        took = wait_for(
            lambda: panel.get_attribute("data-screen-phase") == "view", 1.0, "view-only after revoke"
        )
        assert took < 1.0
        expect(by_id(page, "screen-change")).to_contain_text("took back control")
        type_into_screen(page, "after revoke")
        time.sleep(1.0)
        assert desktop.typed.read_text() == "hello relaydesk\n"
        shoot(page, artifacts_dir, "05-control-revoked")

        # The customer stops sharing: the viewer goes within a second.
        assert customer.post("/api/v1/portal/session/screen/stop").is_success
        wait_for(
            lambda: panel.get_attribute("data-screen-phase") == "idle", 1.0, "idle after stop"
        )
        expect(by_id(page, "screen-viewer")).to_have_count(0)
        expect(by_id(page, "screen-change")).to_contain_text("stopped sharing")
        shoot(page, artifacts_dir, "06-sharing-stopped")

        console.post(f"/api/v1/sessions/{sid}/end")
        assert agent.wait(30) == 0, (artifacts_dir / "agent.log").read_text()
    finally:
        agent.kill()
        agent_log.close()
        customer.close()


def wait_for_session(console: BrowserApi, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        personal = console.get("/api/v1/queue")["personal"]
        if personal:
            return int(personal[0]["id"])
        time.sleep(0.1)
    raise AssertionError("no session arrived in the personal queue")
