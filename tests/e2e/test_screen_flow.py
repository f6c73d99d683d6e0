"""The screen as the technician and the customer use it (TOOL-1, TOOL-2, GOV-2): headless
Chromium with two browser contexts (the technician's console, the customer's portal page), the
real server and relay, the real agent on an Xvfb display with real X clients.

The X display gets a photo-like background (so that colour modes make a visible difference in
bytes), an xterm that writes whatever reaches it to a file (typed text is read back) and xev, a
small window that logs the mouse and keyboard events it gets. The technician accepts the session,
opens its tab and asks for the screen there; the customer answers on the portal page. The test
checks that the canvas shows the X display (pixel for pixel in the lossless mode, within a bound
in a JPEG mode), that input reaches the device only under full control, that the customer's
revocation stops it, that the link meter shows frames, latency and bandwidth and the colour
modes' different costs, that Ctrl-Alt-Del arrives, and that stopping the share closes the viewer.
A technician whose role lacks full control can only view and ask to view. Screenshots of each
step go to the test's artifacts directory.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from tests.fixtures.browser import admin_signs_in, by_id, first_sign_in, open_page, shoot
from tests.fixtures.common import eventually, require_executable
from tests.fixtures.xvfb import x_screenshot

pytestmark = pytest.mark.e2e

AGENT = str(Path(sys.executable).parent / "relaydesk-agent")
ADMIN_PASSWORD = "Screen share lantern 42"
VIEWER_PASSWORD = "Viewer only lantern 42"
XTERM_GEOMETRY = "80x24+0+0"  # top left: 484x316 pixels or so
XTERM_SPOT = (120, 100)  # a point inside the xterm
XEV_AT = (700, 300)  # xev's window: 300x200 there
XEV_SPOT = (XEV_AT[0] + 150, XEV_AT[1] + 100)
WAIT_MS = 20_000


# --- the customer's X display ------------------------------------------------------------------


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
    rows = 200_000 // (width * 4)  # keeps each PutImage under the core protocol's request size
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
    typed: Path  # what reaches the xterm
    events: Path  # what reaches the xev window

    def typed_text(self) -> str:
        return self.typed.read_text() if self.typed.exists() else ""

    def xev_log(self) -> str:
        return self.events.read_text(errors="replace")

    def clicks(self) -> int:
        return self.xev_log().count("ButtonPress event")


@pytest.fixture
def desktop(xvfb_display: Any, tmp_path: Path) -> Iterator[Desktop]:
    xterm = require_executable("xterm", "apt-get install xterm (or run scripts/setup.sh)")
    xev = require_executable("xev", "apt-get install x11-utils")
    typed = tmp_path / "typed.txt"
    events = tmp_path / "xev.log"
    paint_background(xvfb_display.display)
    env = {**xvfb_display.env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    with events.open("w") as events_out:
        clients = [
            subprocess.Popen(
                [xterm, "-geometry", XTERM_GEOMETRY, "-bg", "black", "-fg", "white"]
                + ["-e", "sh", "-c", f"exec cat > {typed}"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
            subprocess.Popen(
                [xev, "-geometry", f"300x200+{XEV_AT[0]}+{XEV_AT[1]}"]
                + ["-event", "button", "-event", "keyboard"],
                env=env,
                stdout=events_out,
                stderr=subprocess.DEVNULL,
            ),
        ]
    try:
        wait_for(lambda: typed.exists(), 15, "the xterm's shell")
        wait_for(lambda: _mapped(env), 15, "xev's window")
        yield Desktop(xvfb_display.display, env, typed, events)
    finally:
        for client in clients:
            client.kill()
            client.wait(5)


def _mapped(env: dict[str, str]) -> bool:
    """Whether xev's window is on the screen (xwininfo lists it)."""
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True, check=False
    ).stdout
    return "300x200+700+300" in tree


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Polls until predicate() is true (generous timeouts: the machine is shared)."""
    eventually(predicate, timeout, what)


# --- the people --------------------------------------------------------------------------------


def csrf(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "relaydesk_csrf")


def api_post(page: Page, base: str, path: str, body: Any = None) -> Any:
    """The API as the console calls it, with the browser's cookies (set-up and refusals)."""
    return page.request.post(f"{base}{path}", data=body, headers={"x-csrf-token": csrf(page)})


def new_key(page: Page, base: str) -> str:
    response = api_post(page, base, "/api/v1/session-keys", {"validity_minutes": 15})
    assert response.ok, response.text()
    return str(response.json()["key"])


def customer_of(base: str, key: str) -> httpx.Client:
    """The customer's side of a key, through the portal API (answers and chat)."""
    token = httpx.post(f"{base}/api/v1/portal/keys", json={"key": key}).json()["customer_token"]
    return httpx.Client(base_url=base, headers={"x-customer-token": token})


def share_screen(panel: Locator, customer: httpx.Client) -> Locator:
    """The technician asks to view the screen, the customer allows: the connected viewer."""
    by_id(panel, "screen-request-view").click()
    expect(panel).to_have_attribute("data-screen-phase", "waiting")
    answered = customer.post("/api/v1/portal/session/screen/answer", json={"allow": True})
    assert answered.is_success, answered.text
    viewer = by_id(panel, "screen-viewer")
    expect(viewer).to_have_attribute("data-status", "connected", timeout=WAIT_MS)
    return viewer


def grant_control(panel: Locator, customer: httpx.Client) -> None:
    """The technician asks for control, the customer allows: the technician's input counts."""
    by_id(panel, "screen-request-control").click()
    expect(by_id(panel, "screen-waiting")).to_contain_text("control")
    answered = customer.post("/api/v1/portal/session/screen/answer", json={"allow": True})
    assert answered.is_success, answered.text
    expect(panel).to_have_attribute("data-screen-phase", "control")
    expect(by_id(panel, "screen-viewer")).to_have_attribute("data-control", "yes")


def end_session(page: Page, base: str, session_id: str | None, agent: Agent) -> None:
    """The technician ends the session; the agent leaves cleanly."""
    ended = api_post(page, base, f"/api/v1/sessions/{session_id}/end")
    assert ended.ok, ended.text()
    assert agent.process.wait(30) == 0, agent.log_path.read_text()


@pytest.fixture
def portal(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path) -> Iterator[Page]:
    """The customer's own browser: a second context, no cookies shared with the console."""
    with open_page(browser, request, artifacts_dir / "portal", width=1100, height=900) as customer:
        yield customer


class Agent:
    def __init__(self, base: str, key: str, desktop: Desktop, log: Path) -> None:
        self.log_path = log
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [AGENT, "--server", base, "--key", key],
            env=desktop.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()


def open_session_tab(page: Page, base: str) -> Locator:
    """The queue shows the arrival; the technician accepts it and works in its tab."""
    page.goto(f"{base}/console/queues")
    item = by_id(page, "queue-item").first
    expect(item).to_be_visible(timeout=WAIT_MS)
    item.click()
    by_id(page, "session-accept").click()
    expect(page).to_have_url(re.compile(r"/console/sessions"))
    workspace = by_id(page, "session-workspace")
    session_id = workspace.get_attribute("data-session-id")
    by_id(page, "session-tab").and_(page.locator(f'[data-session-id="{session_id}"]')).click()
    expect(by_id(workspace, "screen-panel")).to_be_visible()
    return workspace


# --- the screen view ---------------------------------------------------------------------------


def canvas(page: Page) -> Locator:
    return by_id(page, "screen-canvas").locator("canvas").first


def canvas_pixels(page: Page) -> np.ndarray:
    """What the technician sees of the device's screen: at actual size the view shows the
    canvas's top left part (the rest scrolls), scaled the whole canvas."""
    page.mouse.move(0, 0)  # noVNC's local cursor must not be in the picture
    element = canvas(page)
    element.scroll_into_view_if_needed()
    box = element.bounding_box()
    frame = by_id(page, "screen-canvas").bounding_box()
    assert box is not None and frame is not None
    # The page's pixels where the canvas shows (its box may start between two pixels).
    left, top = round(box["x"]), round(box["y"])
    right = min(box["x"] + box["width"], frame["x"] + frame["width"])
    bottom = min(box["y"] + box["height"], frame["y"] + frame["height"])
    png = page.screenshot(
        clip={"x": left, "y": top, "width": int(right) - left, "height": int(bottom) - top}
    )
    return np.asarray(Image.open(BytesIO(png)).convert("RGB"))


def region(truth: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The part of the X display the view shows (its top left part at actual size)."""
    assert seen.shape[0] >= 400 and seen.shape[1] >= 600, seen.shape
    return truth[: seen.shape[0], : seen.shape[1]]


def received_bytes(page: Page) -> int:
    """Bytes the viewer has received, as the link meter counts them."""
    return int(page.evaluate("window.__relaydeskScreen.snapshot().totalBytesIn"))


UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def shown_received(page: Page) -> float:
    """The link meter's "Received …" as the technician reads it, in bytes."""
    text = by_id(page, "screen-received").inner_text()
    match = re.fullmatch(r"Received ([\d.]+) (B|kB|MB|GB)", text.strip())
    assert match, text
    return float(match.group(1)) * UNITS[match.group(2)]


def settle(page: Page) -> None:
    """Waits until no bytes have arrived for half a second (the last full refresh is drawn)."""
    last = -1
    quiet_since = time.monotonic()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        total = received_bytes(page)
        if total != last:
            last, quiet_since = total, time.monotonic()
        elif time.monotonic() - quiet_since > 0.5:
            return
        time.sleep(0.1)
    raise AssertionError("the screen never went quiet")


def bytes_for_full_refresh(page: Page, mode: str) -> int:
    """Switching the colour mode asks for the whole screen again: the bytes that costs."""
    settle(page)
    before = received_bytes(page)
    by_id(page, "screen-colour-mode").select_option(mode)
    wait_for(lambda: received_bytes(page) > before + 1000, 20, f"a refresh in mode {mode}")
    settle(page)
    return received_bytes(page) - before


def click_at(page: Page, spot: tuple[int, int]) -> None:
    canvas(page).click(position={"x": spot[0], "y": spot[1]})


def type_into_xterm(page: Page, text: str) -> None:
    # A click on the xterm moves the device's pointer there (X gives the window under the
    # pointer the keyboard) and gives the canvas the browser's focus; in view-only mode it only
    # does the latter.
    click_at(page, XTERM_SPOT)
    page.keyboard.type(text, delay=15)
    page.keyboard.press("Enter")


def customer_allows(portal: Page, mode: str, artifacts_dir: Path, name: str) -> None:
    prompt = by_id(portal, "screen-prompt")
    expect(prompt).to_be_visible(timeout=WAIT_MS)
    expect(prompt).to_have_attribute("data-mode", mode)
    asks = "asks to control your screen" if mode == "control" else "asks to see your screen"
    expect(prompt).to_contain_text(asks)
    shoot(portal, artifacts_dir, name)
    by_id(prompt, "screen-allow").click()
    expect(by_id(portal, "screen-sharing")).to_have_attribute("data-state", mode)


# --- the tests ---------------------------------------------------------------------------------


def test_technician_views_and_controls_the_customers_screen(
    relaydesk_server: Any, page: Page, portal: Page, desktop: Desktop, artifacts_dir: Path
) -> None:
    page.set_viewport_size({"width": 2000, "height": 1500})
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = new_key(page, base)
    portal.goto(f"{base}/")
    by_id(portal, "session-key-input").fill(key)
    by_id(portal, "session-key-submit").click()
    expect(by_id(portal, "portal-session")).to_have_attribute("data-status", "waiting_for_agent")
    agent = Agent(base, key, desktop, artifacts_dir / "agent.log")
    try:
        workspace = open_session_tab(page, base)
        session_id = workspace.get_attribute("data-session-id")
        panel = by_id(workspace, "screen-panel")
        expect(panel).to_have_attribute("data-screen-phase", "idle")
        expect(by_id(portal, "portal-session")).to_have_attribute("data-status", "active")

        # The technician asks for control in the session tab; the customer, on the portal page,
        # sees who asks and declines; the console shows the answer (pushed, not polled).
        by_id(panel, "screen-request-control").click()
        expect(panel).to_have_attribute("data-screen-phase", "waiting")
        expect(by_id(panel, "screen-waiting")).to_contain_text("control")
        prompt = by_id(portal, "screen-prompt")
        expect(prompt).to_have_attribute("data-mode", "control")
        technician = by_id(page, "current-user-name").inner_text().strip()
        expect(prompt).to_contain_text(f"{technician} asks to control your screen")
        by_id(prompt, "screen-deny").click()
        expect(prompt).to_have_count(0)
        expect(by_id(portal, "screen-sharing")).to_have_count(0)
        expect(panel).to_have_attribute("data-screen-phase", "idle")
        expect(by_id(panel, "screen-change")).to_contain_text("declined to share the screen")
        expect(by_id(panel, "screen-viewer")).to_have_count(0)
        shoot(page, artifacts_dir, "00-console-control-declined")

        # View only: asked in the session tab, allowed on the portal.
        by_id(panel, "screen-request-view").click()
        expect(panel).to_have_attribute("data-screen-phase", "waiting")
        expect(by_id(panel, "screen-waiting")).to_be_visible()
        shoot(page, artifacts_dir, "01-console-waiting-for-consent")
        customer_allows(portal, "view", artifacts_dir, "02-portal-asked-to-view")
        expect(panel).to_have_attribute("data-screen-phase", "view")
        expect(by_id(panel, "screen-change")).to_contain_text("allowed you to view")
        viewer = by_id(panel, "screen-viewer")
        expect(viewer).to_have_attribute("data-status", "connected", timeout=WAIT_MS)
        expect(viewer).to_have_attribute("data-control", "no")
        expect(by_id(viewer, "screen-input")).to_have_text(re.compile("View only"))
        expect(by_id(viewer, "screen-ctrl-alt-del")).to_be_disabled()

        # Actual size, lossless: the canvas is the X display, pixel for pixel.
        if by_id(viewer, "screen-scale").get_attribute("aria-pressed") == "true":
            by_id(viewer, "screen-scale").click()
        lossless_bytes = bytes_for_full_refresh(page, "all")
        # The live indicator names what arrives (JPEG is checked over a moving picture in
        # test_screen_video_mode: on a still screen the agent soon sends the exact pixels).
        expect(by_id(viewer, "screen-encoding")).to_have_text(
            "Encoding Tight (lossless)", timeout=WAIT_MS
        )
        seen = canvas_pixels(page)
        truth = region(x_screenshot(desktop.display), seen)
        Image.fromarray(seen).save(artifacts_dir / "canvas-lossless.png")
        Image.fromarray(truth).save(artifacts_dir / "x-display.png")
        assert np.array_equal(seen, truth)
        shoot(page, artifacts_dir, "03-console-view-only-lossless")

        # The colour modes: black & white costs a fraction of lossless for the same screen, JPEG
        # ("more colours") less than lossless and close to the truth; the link meter shows it.
        bw_bytes = bytes_for_full_refresh(page, "bw")
        assert bw_bytes * 4 < lossless_bytes, (bw_bytes, lossless_bytes)
        shoot(page, artifacts_dir, "04-console-black-and-white")
        more_bytes = bytes_for_full_refresh(page, "more")
        assert more_bytes < lossless_bytes, (more_bytes, lossless_bytes)
        lossy = canvas_pixels(page).astype(np.int16)
        assert lossy.shape == truth.shape
        Image.fromarray(lossy.astype(np.uint8)).save(artifacts_dir / "canvas-more-colours.png")
        error = np.abs(lossy - truth.astype(np.int16))
        assert error.mean() < 12, error.mean()
        # The xterm is flat black: all but a few pixels near its text cursor come out exact.
        terminal = error[0:300, 0:480].max(axis=2)
        assert (terminal > 2).mean() < 0.005, (terminal > 2).mean()
        expect(by_id(viewer, "screen-fps")).to_have_text(re.compile(r"^\d+ frames/s$"))
        expect(by_id(viewer, "screen-latency")).to_have_text(
            re.compile(r"^Latency \d+ ms$"), timeout=WAIT_MS
        )
        expect(by_id(viewer, "screen-bandwidth")).to_have_text(
            re.compile(r"^Bandwidth [\d.]+ [kMG]?bit/s$")
        )
        # What the meter shows is what arrived (it rounds to two or three digits).
        wait_for(
            lambda: abs(shown_received(page) - received_bytes(page)) <= received_bytes(page) * 0.06,
            5,
            "the link meter's received bytes",
        )
        shoot(page, artifacts_dir, "05-console-more-colours-link-meter")
        by_id(viewer, "screen-colour-mode").select_option("all")

        # View only: neither keys nor clicks reach the device (proved below: the first text and
        # click under control are the first the device gets).
        type_into_xterm(page, "seen only")
        click_at(page, XEV_SPOT)
        clicks_before = desktop.clicks()

        # Full control, asked from view and allowed by the customer: typing lands in the xterm,
        # a click in the test window, Ctrl-Alt-Del as one action.
        by_id(panel, "screen-request-control").click()
        expect(by_id(panel, "screen-waiting")).to_be_visible()
        customer_allows(portal, "control", artifacts_dir, "06-portal-asked-for-control")
        expect(panel).to_have_attribute("data-screen-phase", "control")
        expect(viewer).to_have_attribute("data-control", "yes")
        expect(by_id(viewer, "screen-input")).to_have_text(re.compile("reach the device"))
        type_into_xterm(page, "hello relaydesk")
        wait_for(lambda: "\n" in desktop.typed_text(), 20, "typed text in the xterm")
        assert desktop.typed_text() == "hello relaydesk\n"
        click_at(page, XEV_SPOT)
        wait_for(lambda: desktop.clicks() > clicks_before, 20, "a click in the test window")
        assert desktop.clicks() == clicks_before + 1
        cad = by_id(viewer, "screen-ctrl-alt-del")
        expect(cad).to_be_enabled()
        cad.click()  # the device's pointer is still over xev, which gets the keys
        wait_for(lambda: "(keysym 0xffff, Delete)" in desktop.xev_log(), 20, "Ctrl-Alt-Del")
        events = desktop.xev_log().split("\n\n")
        delete_press = next(e for e in events if e.startswith("KeyPress") and "Delete)" in e)
        state = int(re.findall(r"state (0x[0-9a-f]+)", delete_press)[0], 16)
        assert state & 0x4 and state & 0x8, hex(state)  # Control and Mod1 (Alt) held
        shoot(page, artifacts_dir, "07-console-control")
        shoot(portal, artifacts_dir, "08-portal-sharing-control")

        # The customer takes control back on the portal: the technician sees it at once, his
        # input no longer reaches the device.
        by_id(portal, "screen-revoke-control").click()
        expect(by_id(portal, "screen-sharing")).to_have_attribute("data-state", "view")
        expect(panel).to_have_attribute("data-screen-phase", "view")
        expect(by_id(panel, "screen-change")).to_contain_text("took back control")
        expect(viewer).to_have_attribute("data-control", "no")
        type_into_xterm(page, "after revoke")
        click_at(page, XEV_SPOT)
        clicks_before = desktop.clicks()
        shoot(page, artifacts_dir, "09-console-control-revoked")

        # Control once more: what arrives next is only what was typed under control again.
        by_id(panel, "screen-request-control").click()
        customer_allows(portal, "control", artifacts_dir, "10-portal-asked-again")
        expect(viewer).to_have_attribute("data-control", "yes")
        type_into_xterm(page, "back again")
        wait_for(lambda: desktop.typed_text().count("\n") >= 2, 20, "typed text once more")
        assert desktop.typed_text() == "hello relaydesk\nback again\n"
        click_at(page, XEV_SPOT)
        wait_for(lambda: desktop.clicks() > clicks_before, 20, "a click once more")
        assert desktop.clicks() == clicks_before + 1

        # The customer stops sharing: the viewer closes.
        by_id(portal, "screen-stop-sharing").click()
        expect(by_id(portal, "screen-sharing")).to_have_count(0)
        expect(panel).to_have_attribute("data-screen-phase", "idle")
        expect(by_id(panel, "screen-viewer")).to_have_count(0)
        expect(by_id(panel, "screen-change")).to_contain_text("stopped sharing")
        expect(by_id(panel, "screen-request-view")).to_be_visible()
        shoot(page, artifacts_dir, "11-console-sharing-stopped")
        shoot(portal, artifacts_dir, "12-portal-sharing-stopped")

        end_session(page, base, session_id, agent)
    finally:
        agent.close()


def test_technician_without_full_control_can_only_view(
    relaydesk_server: Any, page: Page, desktop: Desktop, artifacts_dir: Path
) -> None:
    base = relaydesk_server.url
    with httpx.Client(base_url=base, timeout=30) as admin:
        # The administrator makes a role that views screens but lacks full control.
        first = admin.post(
            "/api/v1/auth/login",
            json={
                "email": relaydesk_server.admin_email,
                "password": relaydesk_server.admin_password,
            },
        )
        assert first.is_success, first.text
        admin.headers["x-csrf-token"] = admin.cookies["relaydesk_csrf"]
        changed = admin.post(
            "/api/v1/me/password",
            json={
                "current_password": relaydesk_server.admin_password,
                "new_password": ADMIN_PASSWORD,
            },
        )
        assert changed.is_success, changed.text
        role = admin.post(
            "/api/v1/roles",
            json={
                "name": "Screen watcher",
                "permissions": ["view_screen", "generate_session_keys"],
            },
        )
        assert role.status_code == 201, role.text
        made = admin.post(
            "/api/v1/users",
            json={
                "email": "watcher@example.com",
                "name": "Wendy Watcher",
                "password": "Handed out 42 once",
            },
        )
        assert made.status_code == 201, made.text
        user_id = made.json()["user"]["id"]
        assigned = admin.post(
            f"/api/v1/users/{user_id}/role-assignments", json={"role_id": role.json()["id"]}
        )
        assert assigned.is_success, assigned.text

    page.set_viewport_size({"width": 2000, "height": 1500})
    first_sign_in(page, base, "watcher@example.com", "Handed out 42 once", VIEWER_PASSWORD)
    key = new_key(page, base)
    customer = customer_of(base, key)
    agent = Agent(base, key, desktop, artifacts_dir / "agent.log")
    try:
        workspace = open_session_tab(page, base)
        session_id = workspace.get_attribute("data-session-id")
        panel = by_id(workspace, "screen-panel")
        expect(panel).to_have_attribute("data-screen-phase", "idle")
        expect(by_id(panel, "screen-request-view")).to_be_visible()
        expect(by_id(panel, "screen-request-control")).to_have_count(0)
        expect(by_id(panel, "screen-view-only-role")).to_contain_text(
            "does not include full control"
        )

        # The server refuses what the page does not offer.
        refused = api_post(
            page, base, f"/api/v1/sessions/{session_id}/screen/request", {"mode": "control"}
        )
        assert refused.status == 403, refused.text()
        assert refused.json()["code"] == "permission_denied"
        assert "Full control" in refused.json()["detail"]

        by_id(panel, "screen-request-view").click()
        expect(panel).to_have_attribute("data-screen-phase", "waiting")
        answered = customer.post("/api/v1/portal/session/screen/answer", json={"allow": True})
        assert answered.is_success, answered.text
        expect(panel).to_have_attribute("data-screen-phase", "view")
        viewer = by_id(panel, "screen-viewer")
        expect(viewer).to_have_attribute("data-status", "connected", timeout=WAIT_MS)
        expect(viewer).to_have_attribute("data-control", "no")
        expect(by_id(viewer, "screen-ctrl-alt-del")).to_be_disabled()
        expect(by_id(panel, "screen-request-control")).to_have_count(0)
        wait_for(lambda: canvas_pixels(page).std() > 20, 20, "the screen on the canvas")
        shoot(page, artifacts_dir, "01-console-view-only-role")

        end_session(page, base, session_id, agent)
    finally:
        agent.close()
        customer.close()
