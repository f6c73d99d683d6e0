"""The X CLIPBOARD selection, both ways, for the RFB session's cut text.

`X11Clipboard.set_text()` makes the agent own CLIPBOARD (and PRIMARY) and serve the text to
X clients (UTF8_STRING, STRING, TEXT, TARGETS). When another X client takes CLIPBOARD (XFixes
selection notification), its text is fetched and handed to `on_change`. One thread with its own
X connection; it sleeps in select() on the X socket and a wake-up pipe: no polling.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

MAX_TEXT = 4 * 1024 * 1024


class X11Clipboard:
    def __init__(self, display: str, on_change: Callable[[str], None]) -> None:
        from Xlib import X
        from Xlib import display as xdisplay

        self._on_change = on_change
        self._xd = xdisplay.Display(display)
        if not self._xd.has_extension("XFIXES"):
            raise RuntimeError("no XFIXES extension: cannot follow the clipboard")
        self._xd.xfixes_query_version()
        root = self._xd.screen().root
        self._win = root.create_window(0, 0, 1, 1, 0, X.CopyFromParent, X.InputOnly)
        atom = self._xd.intern_atom
        self.CLIPBOARD = atom("CLIPBOARD")
        self.UTF8 = atom("UTF8_STRING")
        self.TARGETS = atom("TARGETS")
        self.TEXT = atom("TEXT")
        self.PRIMARY = atom("PRIMARY")
        self.PROP = atom("RELAYDESK_CLIPBOARD")
        self.ATOM = atom("ATOM")
        self._xd.xfixes_select_selection_input(root, self.CLIPBOARD, 1)  # SetSelectionOwner
        self._xd.flush()
        self._text: str | None = None
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._running = True
        self._thread = threading.Thread(target=self._run, name="x11-clipboard", daemon=True)
        self._thread.start()

    def set_text(self, text: str) -> None:
        """Own the clipboard with this text (from the viewer)."""
        with self._lock:
            self._pending.append(text[:MAX_TEXT])
        os.write(self._wake_w, b"x")

    def close(self) -> None:
        self._running = False
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"q")
        self._thread.join(2)
        with contextlib.suppress(Exception):
            self._xd.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            owner_code = self._xd.extension_event.SetSelectionOwnerNotify[0]
        except Exception:
            owner_code = -1
        fd = self._xd.fileno()
        while self._running:
            try:
                # Own the clipboard first, then drain every event, and sleep only when
                # python-xlib's queue is empty too: an event read during a round trip waits in
                # that queue, not on the socket, and select() would not wake for it.
                self._take_pending()
                while self._xd.pending_events():
                    self._handle(self._xd.next_event(), owner_code)
                self._xd.flush()
                if self._xd.pending_events():
                    continue
                ready, _, _ = select.select([fd, self._wake_r], [], [])
                if self._wake_r in ready:
                    os.read(self._wake_r, 64)
            except Exception as error:
                if self._running:
                    log.warning("clipboard thread stopped: %s", error)
                return

    def _take_pending(self) -> None:
        from Xlib import X

        with self._lock:
            pending, self._pending = self._pending, []
        if pending:
            self._text = pending[-1]
            for selection in (self.CLIPBOARD, self.PRIMARY):
                self._win.set_selection_owner(selection, X.CurrentTime)

    def _handle(self, event: object, owner_code: int) -> None:
        from Xlib import X

        etype = getattr(event, "type", None)
        if etype == X.SelectionRequest:
            self._serve(event)
        elif etype == X.SelectionClear:
            if getattr(event, "atom", None) == self.CLIPBOARD:
                self._text = None
        elif etype == X.SelectionNotify:
            if getattr(event, "property", X.NONE) != X.NONE:
                prop = self._win.get_full_property(self.PROP, X.AnyPropertyType, MAX_TEXT)
                self._win.delete_property(self.PROP)
                if prop is not None and prop.value is not None:
                    raw = prop.value
                    data = raw if isinstance(raw, bytes) else bytes(raw)
                    self._on_change(data.decode("utf-8", "replace"))
        elif etype == owner_code:
            owner = getattr(event, "owner", 0)
            owner_id = owner.id if hasattr(owner, "id") else owner
            if owner_id and owner_id != self._win.id:
                self._win.convert_selection(self.CLIPBOARD, self.UTF8, self.PROP, X.CurrentTime)

    def _serve(self, request: object) -> None:
        from Xlib import X, Xatom
        from Xlib.protocol import event as xevent

        requestor = request.requestor  # type: ignore[attr-defined]
        target = request.target  # type: ignore[attr-defined]
        prop = request.property or target  # type: ignore[attr-defined]
        text = self._text
        ok = text is not None
        if ok and target == self.TARGETS:
            requestor.change_property(
                prop, Xatom.ATOM, 32, [self.TARGETS, self.UTF8, Xatom.STRING, self.TEXT]
            )
        elif ok and text is not None and target in (self.UTF8, self.TEXT):
            requestor.change_property(prop, self.UTF8, 8, text.encode("utf-8"))
        elif ok and text is not None and target == Xatom.STRING:
            requestor.change_property(prop, Xatom.STRING, 8, text.encode("latin-1", "replace"))
        else:
            ok = False
        reply = xevent.SelectionNotify(
            time=request.time,  # type: ignore[attr-defined]
            requestor=requestor,
            selection=request.selection,  # type: ignore[attr-defined]
            target=target,
            property=prop if ok else X.NONE,
        )
        requestor.send_event(reply)
