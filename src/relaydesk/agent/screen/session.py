"""The asyncio runner: RFB core + X11 capture + encoders + XTest input over any byte stream.

    handle = ScreenHandle()
    await serve_rfb(stream, ":0", password=None, view_only=False, name="desk", handle=handle)

and, from anywhere on the same event loop while it runs:

    handle.set_input_allowed(False)   # view only / consent revoked: input ignored at once
    handle.stop("consent revoked")     # the stream ends at once

Flow control: a frame goes out only when the client has asked for one (a pending
FramebufferUpdateRequest) or, with continuous updates, when the fence sent after the previous
frame has come back. Frames are never queued: at send time the screen is grabbed afresh, so
under a slow link intermediate states are skipped and the newest screen wins. Capture is driven
by XDamage (with a slow poll only when the display has no DAMAGE extension): an idle screen
costs no grabs at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from relaydesk.agent.screen import rfb
from relaydesk.agent.screen.encodings import (
    H264Encoder,
    TightEncoder,
    ZrleEncoder,
    copyrect_rect,
    cursor_rect,
    qemu_key_ack_rect,
    raw_rect,
)
from relaydesk.agent.screen.refresh import LossyRegion, photo_tiles
from relaydesk.agent.screen.rfb import RfbServer, Screen

if TYPE_CHECKING:
    from relaydesk.agent.screen.capture import Box
    from relaydesk.agent.screen.input import XTestInput

log = logging.getLogger(__name__)

ENCODING_NAMES = {
    rfb.ENC_OPEN_H264: "Open H.264",
    rfb.ENC_TIGHT: "Tight",
    rfb.ENC_ZRLE: "ZRLE",
    rfb.ENC_RAW: "Raw",
}
DAMAGE_SETTLE = 0.003  # seconds without new damage before a grab ...
DAMAGE_SETTLE_MAX = 0.008  # ... but no later than this after the first damage
POLL_INTERVAL = 0.05  # seconds between grabs when the display has no DAMAGE extension
FENCE_TIMEOUT = 5.0


class ByteStream(Protocol):
    """What serve_rfb talks over: a TCP socket, a WebSocket tunnel..."""

    async def read(self) -> bytes:
        """Some bytes; b"" at end of stream."""
        ...

    async def write(self, data: bytes) -> None: ...


@dataclass
class ScreenStats:
    updates: int = 0
    rects: int = 0
    copyrects: int = 0
    bytes_sent: int = 0
    grabs: int = 0
    refreshes: int = 0  # updates that carried a lossless refresh of JPEG areas
    encode_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)


class ScreenHandle:
    """The caller's remote control for one serve_rfb() run.

    Create it before calling serve_rfb(..., handle=handle); methods may be called before the
    session starts, while it runs and after it ended (then they do nothing)."""

    def __init__(self, *, input_allowed: bool | None = None) -> None:
        self._input_allowed = input_allowed
        self._stop_reason: str | None = None
        self._stopped = asyncio.Event()
        self._session: _Session | None = None
        self.stats = ScreenStats()
        self.close_reason: str | None = None
        # Text the viewer copied (also put on the X CLIPBOARD); both ways need input allowed.
        self.on_clipboard: Callable[[str], None] | None = None

    @property
    def input_allowed(self) -> bool:
        return bool(self._input_allowed)

    def set_input_allowed(self, allowed: bool) -> None:
        """Allow or ignore keyboard and pointer input from now on (held keys are released)."""
        self._input_allowed = allowed
        if self._session is not None:
            self._session.apply_input_allowed(allowed)

    def stop(self, reason: str = "stopped") -> None:
        """End the session now: serve_rfb returns promptly and the stream gets no more data."""
        if self._stop_reason is None:
            self._stop_reason = reason
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def ctrl_alt_del(self) -> None:
        if self._session is not None:
            self._session.ctrl_alt_del()

    def send_clipboard(self, text: str) -> None:
        """Offer text to the viewer's clipboard."""
        if self._session is not None:
            self._session.send_clipboard(text)


async def serve_rfb(
    stream: ByteStream,
    display: str,
    *,
    password: str | None,
    view_only: bool,
    name: str,
    handle: ScreenHandle | None = None,
    monitor: int | None = None,
) -> None:
    """Serve one RFB client over `stream` until EOF, a protocol violation or handle.stop().

    Args:
        stream: the byte stream to the viewer.
        display: the X display, e.g. ":0".
        password: VNC Authentication password, or None for security type None (only behind
            an authenticated tunnel).
        view_only: the initial input state (handle.set_input_allowed changes it later).
        name: the desktop name the viewer shows.
        handle: optional ScreenHandle to flip input and stop the session.
        monitor: serve only this RandR monitor (index into capture.monitors()); None = all.
    """
    from relaydesk.agent.screen.capture import DisplayUnavailable

    handle = handle or ScreenHandle()
    if handle._input_allowed is None:
        handle._input_allowed = not view_only
    try:
        session = _Session(stream, display, password, name, handle, monitor)
    except DisplayUnavailable as error:
        log.warning("no screen to share: %s (%s)", error, error.__cause__)
        handle.close_reason = f"This computer has no screen to share now: {error}."
        await _refuse(stream, handle.close_reason)
        return
    handle._session = session
    try:
        await session.run()
    finally:
        handle._session = None
        session.close()


async def _refuse(stream: ByteStream, reason: str) -> None:
    """Tell the viewer, in RFB's own terms, why there is no screen; then end."""
    core = RfbServer(width=0, height=0, refusal=reason)
    await stream.write(core.data_to_send())
    while not core.closed:
        data = await stream.read()
        if not data:
            return
        core.receive_data(data)
        if reply := core.data_to_send():
            await stream.write(reply)


class _Session:
    def __init__(
        self,
        stream: ByteStream,
        display: str,
        password: str | None,
        name: str,
        handle: ScreenHandle,
        monitor: int | None,
    ) -> None:
        from relaydesk.agent.screen.capture import TILE, ChangeWatcher, X11Capture

        self.stream = stream
        self.display = display
        self.handle = handle
        self.stats = handle.stats
        self.loop = asyncio.get_running_loop()
        self.capture = X11Capture(display)
        self.monitor = monitor
        self.area = self._area()
        x0, y0, w, h = self.area
        self.core = RfbServer(
            width=w, height=h, name=name, password=password, screens=self._screens()
        )
        self.input: XTestInput | None = None
        self._input_error: str | None = None
        self.wake = asyncio.Event()
        self.damaged = True
        self.first_damage_at: float | None = None  # damage not grabbed yet: since when
        self.last_damage_at = 0.0
        self.cursor_changed = True
        self.resized = False
        self.watcher = None
        try:
            self.watcher = ChangeWatcher(display, self._notify_threadsafe)
        except Exception as error:
            log.warning("no X change notification (%s): polling every %.0f ms", error, 50)
        self.has_damage = self.watcher is not None and self.watcher.has_damage
        self.clipboard = None
        try:
            from relaydesk.agent.screen.clipboard import X11Clipboard

            self.clipboard = X11Clipboard(display, self._clipboard_threadsafe)
        except Exception as error:
            log.warning("no clipboard sharing: %s", error)
        self.tight = TightEncoder()
        self.zrle = ZrleEncoder()
        self.h264 = H264Encoder()
        self._scroll_cache: dict[str, object] = {}
        self._h264_in_sync = False  # the H.264 encoder's picture equals client_frame
        self._h264_before = False  # what the last SetEncodings asked for
        self._quality_before: int | None = None
        self._h264_available: bool | None = None
        self.client_frame: np.ndarray | None = None  # what the client shows
        self.lossy = LossyRegion(tile=TILE)
        self._refresh_timer: asyncio.TimerHandle | None = None
        self.request_pending = False
        self.full_request = False
        self.fence_outstanding = False
        self.fence_sent_at = 0.0
        self.send_qemu_ack = False
        self.send_eds = False
        self.last_cursor_serial = -1
        self.format_generation = 0
        self._write_lock = asyncio.Lock()
        self._closed = False

    # -- geometry --------------------------------------------------------------------------

    def _area(self) -> tuple[int, int, int, int]:
        width, height = self.capture.size
        if self.monitor is not None:
            monitors = self.capture.monitors()
            if 0 <= self.monitor < len(monitors):
                m = monitors[self.monitor]
                x, y = max(0, m.x), max(0, m.y)
                return x, y, min(m.width, width - x), min(m.height, height - y)
        return 0, 0, width, height

    def _screens(self) -> list[Screen]:
        x0, y0, w, h = self.area
        if self.monitor is not None:
            return [Screen(0, 0, 0, w, h)]
        screens = []
        for m in self.capture.monitors():
            sx, sy = max(0, m.x), max(0, m.y)
            sw, sh = min(m.width, w - sx), min(m.height, h - sy)
            if sw > 0 and sh > 0:
                screens.append(Screen(m.index, sx, sy, sw, sh))
        return screens or [Screen(0, 0, 0, w, h)]

    # -- notifications ---------------------------------------------------------------------

    def _notify_threadsafe(self, kind: str) -> None:
        with contextlib.suppress(RuntimeError):  # loop closed
            self.loop.call_soon_threadsafe(self._notify, kind)

    def _notify(self, kind: str) -> None:
        if kind == "damage":
            self.damaged = True
            self.last_damage_at = time.monotonic()
            if self.first_damage_at is None:
                self.first_damage_at = self.last_damage_at
        elif kind == "cursor":
            self.cursor_changed = True
        elif kind == "resize":
            self.resized = True
            self.damaged = True
        elif kind == "lost":
            self.handle.stop("the X display went away")
        self.wake.set()

    def _clipboard_threadsafe(self, text: str) -> None:
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._clipboard_changed, text)

    def _clipboard_changed(self, text: str) -> None:
        """The device's clipboard changed: offer it to the viewer (full control only)."""
        if self.handle.input_allowed and self.core.ready and not self._closed:
            self.send_clipboard(text)

    # -- handle operations -----------------------------------------------------------------

    def _ensure_input(self) -> None:
        if self.input is None and self._input_error is None:
            from relaydesk.agent.screen.input import XTestInput

            try:
                self.input = XTestInput(self.display, allowed=self.handle.input_allowed)
                self.input.offset = (self.area[0], self.area[1])
            except Exception as error:
                self._input_error = str(error)
                log.warning("input disabled: %s", error)

    def apply_input_allowed(self, allowed: bool) -> None:
        if self.input is not None:
            self.input.set_input_allowed(allowed)

    def ctrl_alt_del(self) -> None:
        if self.handle.input_allowed:
            self._ensure_input()
            if self.input is not None:
                self.input.ctrl_alt_del()

    def send_clipboard(self, text: str) -> None:
        self.core.send_cut_text(text)
        self.loop.create_task(self._flush())

    # -- main ------------------------------------------------------------------------------

    async def run(self) -> None:
        reader = asyncio.create_task(self._reader(), name="rfb-reader")
        updater = asyncio.create_task(self._updater(), name="rfb-updater")
        stopper = asyncio.create_task(self.handle._stopped.wait(), name="rfb-stop")
        try:
            await self._flush()
            done, _ = await asyncio.wait(
                {reader, updater, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task is not stopper and not task.cancelled() and task.exception():
                    error = task.exception()
                    log.warning("screen session failed: %r", error)
                    self.handle.close_reason = f"error: {error!r}"
        finally:
            for task in (reader, updater, stopper):
                task.cancel()
            for task in (reader, updater, stopper):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.handle.close_reason is None:
            self.handle.close_reason = (
                self.handle._stop_reason or self.core.close_reason or "client closed"
            )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
        if self.input is not None:
            self.input.close()
        if self.watcher is not None:
            self.watcher.close()
        if self.clipboard is not None:
            self.clipboard.close()
        self.capture.close()

    async def _flush(self) -> None:
        async with self._write_lock:
            data = self.core.data_to_send()
            if data and not self.handle.stopped:
                await self.stream.write(data)
                self.stats.bytes_sent += len(data)

    async def _reader(self) -> None:
        while True:
            data = await self.stream.read()
            if not data:
                return
            events = self.core.receive_data(data)
            for event in events:
                self._handle_event(event)
            await self._flush()
            if self.core.closed:
                return

    def _handle_event(self, event: rfb.Event) -> None:  # noqa: C901 - dispatch
        if isinstance(event, rfb.UpdateRequested):
            self.request_pending = True
            if not event.incremental:
                self.full_request = True
                if self.core.caps.extended_desktop_size:
                    self.send_eds = True
            self.wake.set()
        elif isinstance(event, (rfb.KeyEvent, rfb.QemuKeyEvent, rfb.PointerEvent)):
            if not self.handle.input_allowed:
                return
            self._ensure_input()
            if self.input is None:
                return
            if isinstance(event, rfb.PointerEvent):
                self.input.pointer(event.buttons, event.x, event.y)
            elif isinstance(event, rfb.QemuKeyEvent):
                self.input.key(event.down, event.keysym, event.keycode)
            else:
                self.input.key(event.down, event.keysym)
        elif isinstance(event, rfb.PixelFormatSet):
            self.format_generation += 1
            self.client_frame = None  # resend everything in the new format
            self.cursor_changed = True
        elif isinstance(event, rfb.EncodingsSet):
            caps = self.core.caps
            self.tight.set_compression(caps.compression)
            self._log_encoding()
            # Leaving H.264, or JPEG for lossless: the viewer's picture is an approximation,
            # so the next update repaints everything in the new encoding.
            h264_now = self._h264_preferred()
            if (self._h264_before and not h264_now) or (
                self._quality_before is not None and caps.quality is None and not h264_now
            ):
                # Not client_frame = None: an encode running in the worker thread would set it
                # back when it ends; the flag survives it.
                self.full_request = True
                self.wake.set()
            self._h264_before, self._quality_before = h264_now, caps.quality
            if caps.qemu_key:
                self.send_qemu_ack = True
            self.cursor_changed = True
        elif isinstance(event, rfb.ClientCutText):
            if not self.handle.input_allowed:
                return
            if self.clipboard is not None:
                self.clipboard.set_text(event.text)
            if self.handle.on_clipboard is not None:
                self.handle.on_clipboard(event.text)
        elif isinstance(event, rfb.FenceReceived):
            if not event.flags & rfb.FENCE_REQUEST:
                self.fence_outstanding = False
                self.wake.set()
        elif isinstance(event, rfb.EnableContinuousUpdates):
            self.wake.set()
        elif isinstance(event, rfb.SetDesktopSize):
            self.core.deny_desktop_size()
        elif isinstance(event, rfb.ProtocolViolation):
            log.info("RFB client closed for a protocol violation: %s", event.reason)
        elif isinstance(event, rfb.AuthenticationFailed):
            log.info("RFB client failed VNC authentication")

    # -- updates ---------------------------------------------------------------------------

    def _may_send(self) -> bool:
        if not self.core.ready:
            return False
        if self.request_pending:
            return True
        if self.core.continuous_updates:
            if self.fence_outstanding:
                return time.monotonic() - self.fence_sent_at > FENCE_TIMEOUT
            return True
        return False

    def _has_work(self) -> bool:
        return (
            self.damaged
            or self.full_request
            or self.client_frame is None
            or self.send_eds
            or self.send_qemu_ack
            or (self.cursor_changed and self.core.caps.cursor)
            or not self.has_damage
            or self._refresh_due()
        )

    def _refresh_due(self) -> bool:
        due_at = self.lossy.next_due()
        return due_at is not None and due_at <= time.monotonic()

    def _schedule_refresh(self) -> None:
        """Wake the updater when the earliest JPEG-approximated tile is due for exact pixels."""
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
            self._refresh_timer = None
        due_at = self.lossy.next_due()
        if due_at is not None:
            delay = max(0.0, due_at - time.monotonic()) + 0.001
            self._refresh_timer = self.loop.call_later(delay, self.wake.set)

    async def _updater(self) -> None:
        while True:
            if not (self._may_send() and self._has_work()):
                self.wake.clear()
                await self.wake.wait()
                continue
            await self._settle()
            sent = await self._send_update()
            self._schedule_refresh()
            if not sent and not self.has_damage:
                # No DAMAGE extension: poll at a modest rate while a request is pending.
                self.wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), POLL_INTERVAL)

    async def _settle(self) -> None:
        """Let a burst of drawing finish before grabbing: wait until the X server has reported
        no new damage for DAMAGE_SETTLE (at most DAMAGE_SETTLE_MAX after the first report), so
        that a picture painted in strips goes out once, whole, not torn in two updates."""
        if not self.has_damage or self.first_damage_at is None:
            return
        deadline = self.first_damage_at + DAMAGE_SETTLE_MAX
        while True:
            now = time.monotonic()
            wait = min(self.last_damage_at + DAMAGE_SETTLE, deadline) - now
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _send_update(self) -> bool:
        """Grab, diff, encode and send one update; False when there was nothing to send."""
        core = self.core
        caps = core.caps
        pseudo: list[bytes] = []
        if self.resized:
            self.resized = False
            await self._check_resize()
        if self.send_eds:
            self.send_eds = False
            rect = core.desktop_size_rect(rfb.EDS_REASON_SERVER)
            if rect is not None:
                core.send_update([rect])  # an update of its own, as the spec wants
        if self.send_qemu_ack:
            self.send_qemu_ack = False
            pseudo.append(qemu_key_ack_rect())
        if self.cursor_changed and caps.cursor:
            self.cursor_changed = False
            cursor = await asyncio.to_thread(self.capture.cursor)
            if cursor is not None and cursor.serial != self.last_cursor_serial:
                self.last_cursor_serial = cursor.serial
                pseudo.append(
                    cursor_rect(cursor.rgba, cursor.hot_x, cursor.hot_y, core.pixel_format)
                )
        rects: list[bytes] = []
        need_grab = (
            self.damaged or self.client_frame is None or self.full_request or self._refresh_due()
        )
        if need_grab or not self.has_damage:
            self.damaged = False
            self.first_damage_at = None
            full = self.full_request or self.client_frame is None
            self.full_request = False
            generation = self.format_generation
            rects = await asyncio.to_thread(self._grab_and_encode, full)
            if generation != self.format_generation:  # SetPixelFormat meanwhile: redo
                self.client_frame = None
                rects = []
        if not rects and not pseudo:
            if core.pending_output:
                await self._flush()
            return False
        core.send_update(pseudo + rects)
        self.request_pending = False
        self.stats.updates += 1
        self.stats.rects += len(pseudo) + len(rects)
        if core.continuous_updates and core.send_fence(b"f"):
            self.fence_outstanding = True
            self.fence_sent_at = time.monotonic()
        await self._flush()
        return True

    async def _check_resize(self) -> None:
        area = self._area()
        if area == self.area:
            return
        self.area = area
        _, _, w, h = area
        self.core.set_screen(w, h, self._screens())
        if self.input is not None:
            self.input.offset = (area[0], area[1])
        rect = self.core.desktop_size_rect(rfb.EDS_REASON_SERVER)
        if rect is not None:
            self.core.send_update([rect])
        self.client_frame = None

    def _grab_and_encode(self, full: bool) -> list[bytes]:
        """In a worker thread: grab the screen and encode what the client lacks."""
        from relaydesk.agent.screen.capture import (
            TILE,
            changed_tiles,
            detect_vertical_scroll,
            shrink_to_changes,
            tiles_to_rects,
        )

        damaged = self.watcher.rearm() if self.watcher is not None else None
        previous = None if full else self.client_frame
        width, height = self.core.width, self.core.height
        grabbed = self._grab_damage(previous, damaged) if self.has_damage else None
        if grabbed is None:
            frame = self._grab_area()
            grid = changed_tiles(previous, frame)
        else:
            frame, grid = grabbed
        now = time.monotonic()
        if previous is None or self.lossy.lossy.shape != grid.shape:
            self.lossy.reset(grid.shape)
        # JPEG tiles that have stayed still long enough go out again, exactly (photos excepted).
        refresh = self.lossy.due(now) & ~grid
        if refresh.any():
            photos = photo_tiles(frame, refresh, TILE)
            self.lossy.refreshed(photos)
            refresh &= ~photos
        if not grid.any() and not refresh.any():
            return []
        started = time.perf_counter()
        if self._use_h264():
            # Every H.264 picture repaints the whole screen from the decoder's own reference, so
            # an exact refresh would not last: H.264 mode stays lossy.
            self.lossy.reset(grid.shape)
            if not grid.any():
                return []
            # Only the changed areas go to the encoder's YUV picture, if that picture saw
            # every earlier frame (no updates in another encoding since).
            in_sync = previous is not None and self._h264_in_sync
            changed = tiles_to_rects(grid, width, height) if in_sync else None
            rects = self._encode_h264(frame, previous, changed)
            self.lossy.reset(grid.shape)
            self._h264_in_sync = True
            self.stats.encode_seconds += time.perf_counter() - started
            self.client_frame = frame
            return rects
        self._h264_in_sync = False
        self.lossy.changed(grid, now)
        copies: list[bytes] = []
        copy_ok = rfb.ENC_COPYRECT in self.core.caps.encodings
        if previous is not None and copy_ok and grid.any():
            rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
            bx, by = int(cols[0]) * 64, int(rows[0]) * 64
            bw = min(width, (int(cols[-1]) + 1) * 64) - bx
            bh = min(height, (int(rows[-1]) + 1) * 64) - by
            scroll = detect_vertical_scroll(
                previous, frame, (bx, by, bw, bh), cache=self._scroll_cache
            )
            if scroll is not None:
                dy, first, count = scroll
                copies.append(copyrect_rect(bx, first, bw, count, bx, first + dy))
                self.stats.copyrects += 1
                # The client's view after the copy, in place: `previous` is the last frame
                # sent, replaced by `frame` below. Only tiles in the copied band can change.
                previous[first : first + count, bx : bx + bw] = previous[
                    first + dy : first + dy + count, bx : bx + bw
                ].copy()
                top, bottom = first // TILE, -(-(first + count) // TILE)
                left, right = bx // TILE, -(-(bx + bw) // TILE)
                band = (slice(top * TILE, bottom * TILE), slice(left * TILE, right * TILE))
                grid[top:bottom, left:right] = changed_tiles(previous[band], frame[band])
                self.lossy.copied(slice(top, bottom), slice(left, right), now)
        rect_list = tiles_to_rects(grid, width, height)
        if previous is not None:  # only what changed inside the tiles
            shrunk = (shrink_to_changes(previous, frame, rect) for rect in rect_list)
            rect_list = [rect for rect in shrunk if rect is not None]
        rects = copies + self._encode(frame, rect_list, now)
        if refresh.any():
            rects += self._encode(frame, tiles_to_rects(refresh, width, height), now, exact=True)
            self.lossy.refreshed(refresh)
            self.stats.refreshes += 1
        self.stats.encode_seconds += time.perf_counter() - started
        self.client_frame = frame
        return rects

    def _grab_area(self) -> np.ndarray:
        """The whole area shown (a monitor or the screen), fitted to the client's size."""
        frame = self.capture.grab()
        self.stats.grabs += 1
        x0, y0, w, h = self.area
        width, height = self.core.width, self.core.height
        frame = frame[y0 : y0 + h, x0 : x0 + w]
        if frame.shape[0] != height or frame.shape[1] != width:  # client can't resize: fit
            fitted = np.zeros((height, width, 4), np.uint8)
            ch, cw = min(height, frame.shape[0]), min(width, frame.shape[1])
            fitted[:ch, :cw] = frame[:ch, :cw]
            frame = fitted
        return np.ascontiguousarray(frame)

    def _grab_damage(
        self, previous: np.ndarray | None, damaged: Box | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The client's frame with the damaged tiles grabbed anew, and the changed-tile grid;
        None when the whole area must be grabbed (no frame sent yet, or a fitted one)."""
        from relaydesk.agent.screen.capture import TILE, changed_tiles

        x0, y0, w, h = self.area
        if previous is None or previous.shape[:2] != (h, w):
            return None
        frame = previous.copy()
        grid = np.zeros((-(-h // TILE), -(-w // TILE)), bool)
        if damaged is None:
            return frame, grid
        # The damaged box in the area's coordinates, widened to whole tiles.
        left, top = max(damaged[0] - x0, 0) // TILE, max(damaged[1] - y0, 0) // TILE
        right = -(-min(damaged[0] + damaged[2] - x0, w) // TILE)
        bottom = -(-min(damaged[1] + damaged[3] - y0, h) // TILE)
        if right <= left or bottom <= top:
            return frame, grid
        bx, by = left * TILE, top * TILE
        bw, bh = min(right * TILE, w) - bx, min(bottom * TILE, h) - by
        try:
            pixels = self.capture.grab((x0 + bx, y0 + by, bw, bh))
        except Exception as error:  # the screen shrank under the box: grab it all
            log.debug("partial grab failed (%s): grabbing the whole area", error)
            return None
        self.stats.grabs += 1
        frame[by : by + bh, bx : bx + bw] = pixels
        band = (slice(by, by + bh), slice(bx, bx + bw))
        grid[top:bottom, left:right] = changed_tiles(previous[band], frame[band])
        return frame, grid

    def _log_encoding(self) -> None:
        """One line per SetEncodings: what this viewer gets (diagnostics, interop tests)."""
        caps = self.core.caps
        supported = (rfb.ENC_OPEN_H264, rfb.ENC_TIGHT, rfb.ENC_ZRLE, rfb.ENC_RAW)
        name = ENCODING_NAMES[caps.preferred(supported)]
        if name == "Tight":
            name += " lossless" if caps.quality is None else f" JPEG quality {caps.quality}"
        copyrect = ", CopyRect" if rfb.ENC_COPYRECT in caps.encodings else ""
        log.info("viewer encoding: %s%s", name, copyrect)

    def _h264_preferred(self) -> bool:
        """The client put Open H.264 before the other encodings we speak (video mode)."""
        caps = self.core.caps
        preferred = caps.preferred((rfb.ENC_OPEN_H264, rfb.ENC_TIGHT, rfb.ENC_ZRLE, rfb.ENC_RAW))
        return preferred == rfb.ENC_OPEN_H264

    def _use_h264(self) -> bool:
        """H.264 preferred by the client and available here."""
        if not self._h264_preferred():
            return False
        if self._h264_available is None:
            from relaydesk.agent.screen.encodings import h264

            self._h264_available = h264.available()
            if not self._h264_available:
                log.warning("the viewer asks for H.264 but PyAV with libx264 is missing")
        return self._h264_available

    def _encode_h264(
        self,
        frame: np.ndarray,
        previous: np.ndarray | None,
        changed: list[tuple[int, int, int, int]] | None,
    ) -> list[bytes]:
        """The whole (even-cut) framebuffer as one H.264 picture (unchanged areas cost next to
        nothing in a P-frame; the client keeps one decoder context), a keyframe on a full
        request; an odd last column or row goes lossless when it changed."""
        from relaydesk.agent.screen.encodings.h264 import even_size

        height, width = frame.shape[:2]
        out: list[bytes] = []
        rect = self.h264.encode(
            frame, self.core.caps.quality, keyframe=previous is None, changed=changed
        )
        if rect is not None:
            out.append(rect)
        w, h = even_size(width, height)
        strips = []
        if width > w:
            strips.append((w, 0, width - w, height))
        if height > h:
            strips.append((0, h, w, height - h))
        changed = [
            (x, y, sw, sh)
            for x, y, sw, sh in strips
            if previous is None
            or not np.array_equal(previous[y : y + sh, x : x + sw], frame[y : y + sh, x : x + sw])
        ]
        return out + self._encode(frame, changed, time.monotonic())

    def _encode(
        self,
        frame: np.ndarray,
        rect_list: list[tuple[int, int, int, int]],
        now: float,
        *,
        exact: bool = False,
    ) -> list[bytes]:
        """Encode in the client's preferred encoding; `exact` forbids JPEG (lossless refresh).
        JPEG rectangles are recorded as lossy for a later refresh."""
        caps = self.core.caps
        pf = self.core.pixel_format
        encoding = caps.preferred((rfb.ENC_TIGHT, rfb.ENC_ZRLE, rfb.ENC_RAW))
        quality = None if exact else caps.quality
        out: list[bytes] = []
        self.tight.jpeg_rects.clear()
        for x, y, w, h in rect_list:
            if encoding == rfb.ENC_TIGHT:
                out.extend(self.tight.encode(frame, x, y, w, h, pf, quality))
            elif encoding == rfb.ENC_ZRLE:
                out.extend(self.zrle.encode(frame, x, y, w, h, pf))
            else:
                out.append(raw_rect(frame, x, y, w, h, pf))
        self.lossy.mark(self.tight.jpeg_rects, now)
        return out
