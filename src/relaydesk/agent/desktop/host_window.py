"""The temporary host's window (ad hoc support): asks the recipient for the security code, says
when the session is activated and until when, who connected and when, and has "End session".
Without a display the same runs in the terminal: the code is typed on a line of its own
(standard input, also when it is not a TTY), `/end` ends the session. The host's channel
(asyncio, in its own thread) and this face (Tk's main thread) talk through HostChannel."""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from relaydesk.agent.ad_hoc_host import (
    Activated,
    AskCode,
    Connected,
    Said,
    activated_text,
    connected_text,
)
from relaydesk.agent.ad_hoc_texts import text
from relaydesk.protocol.messages import AdHocCode, AdHocEnd

if TYPE_CHECKING:  # Tk is loaded only to open the window: a server without X has no libxcb
    import tkinter as tk

TITLE = "relaydesk: temporary support host"
APP_NAME = "relaydesk-adhoc"
FONT = ("Noto Sans", 11)
BIG_FONT = ("Noto Sans", 13, "bold")
WIDTH, HEIGHT = 560, 360
# Fixed places (fractions of the window) the test rig clicks.
CODE_AT = (0.40, 0.36)
SEND_AT = (0.82, 0.36)
END_AT = (0.80, 0.90)


@dataclass(frozen=True)
class Finished:
    message: str


Shown = AskCode | Activated | Connected | Said | Finished
Typed = AdHocCode | AdHocEnd


class HostChannel:
    """Thread-safe both ways: what the host shows, what the recipient typed or pressed."""

    def __init__(self) -> None:
        self.shown: queue.Queue[Shown] = queue.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._typed: asyncio.Queue[Typed] | None = None
        self._early: list[Typed] = []
        self._lock = threading.Lock()

    def show(self, item: AskCode | Activated | Connected | Said | Finished) -> None:
        self.shown.put(item)

    def bind(self) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._typed = asyncio.Queue()
            for item in self._early:
                self._typed.put_nowait(item)
            self._early.clear()

    async def next_typed(self) -> Typed:
        assert self._typed is not None, "bind() first"
        return await self._typed.get()

    def put_back(self, item: Typed) -> None:
        assert self._typed is not None
        waiting = [item]
        while not self._typed.empty():
            waiting.append(self._typed.get_nowait())
        for one in waiting:
            self._typed.put_nowait(one)

    def type(self, item: Typed) -> None:
        with self._lock:
            if self._loop is None or self._typed is None:
                self._early.append(item)
                return
            self._loop.call_soon_threadsafe(self._typed.put_nowait, item)


class NoFace:
    """The service with nobody to show anything to: the journal says it."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say

    def show(self, item: AskCode | Activated | Connected | Said) -> None:
        self.say(describe(item))


def describe(item: Shown) -> str:
    if isinstance(item, AskCode):
        return text("ask_code")
    if isinstance(item, Activated):
        return activated_text(item.organisation, item.until)
    if isinstance(item, Connected):
        return connected_text(item)
    return item.text if isinstance(item, Said) else item.message


class HostWindow:
    def __init__(self, root: tk.Tk, channel: HostChannel) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.root = root
        self.channel = channel
        root.title(TITLE)
        root.geometry(f"{WIDTH}x{HEIGHT}+40+40")
        root.resizable(False, False)
        root.option_add("*Font", FONT)
        frame = ttk.Frame(root, padding=16, name="main")
        frame.place(relx=0, rely=0, relwidth=1, relheight=1)
        self.headline = ttk.Label(
            frame,
            text=text("setting_up"),
            font=BIG_FONT,
            name="headline",
            wraplength=WIDTH - 40,
            justify="left",
        )
        self.headline.place(relx=0.0, rely=0.0)
        self.ask = ttk.Label(frame, text=text("code_label"), name="ask", wraplength=WIDTH - 40)
        self.ask.place(relx=0.0, rely=0.18)
        self.code = tk.StringVar()
        self.entry = ttk.Entry(frame, textvariable=self.code, name="code", width=24)
        self.entry.place(relx=CODE_AT[0], rely=CODE_AT[1], anchor="center", width=260, height=32)
        self.entry.bind("<Return>", lambda _event: self._send_code())
        self.send = ttk.Button(frame, text=text("send_code"), command=self._send_code, name="send")
        self.send.place(relx=SEND_AT[0], rely=SEND_AT[1], anchor="center", width=130, height=34)
        self.note = ttk.Label(frame, text="", name="note", wraplength=WIDTH - 40, justify="left")
        self.note.place(relx=0.0, rely=0.48)
        self.history = ttk.Label(
            frame, text="", name="history", wraplength=WIDTH - 40, justify="left"
        )
        self.history.place(relx=0.0, rely=0.62)
        self.end = ttk.Button(frame, text=text("end_session"), command=self._end, name="end")
        self.end.place(relx=END_AT[0], rely=END_AT[1], anchor="center", width=150, height=36)
        self._lines: list[str] = []
        root.protocol("WM_DELETE_WINDOW", self._close)
        self._code_shown(False)
        root.after(100, self._poll)

    def _code_shown(self, shown: bool) -> None:
        for widget in (self.entry, self.send):
            widget.configure(state="normal" if shown else "disabled")
        if shown:
            self.entry.focus_force()

    def _send_code(self) -> None:
        code = self.code.get().strip()
        if not code:
            return
        self.code.set("")
        self.note.configure(text=text("checking"))
        self._code_shown(False)
        self.channel.type(AdHocCode(type="adhoc_code", code=code[:64]))

    def _end(self) -> None:
        self.end.configure(state="disabled")
        self.note.configure(text=text("ending"))
        self.channel.type(AdHocEnd(type="adhoc_end", reason="recipient"))

    def _close(self) -> None:
        """Closing the window does not end the session: the host goes on in the background."""
        self.root.destroy()

    def _poll(self) -> None:
        try:
            while True:
                item = self.channel.shown.get_nowait()
                if isinstance(item, Finished):
                    self.headline.configure(text=text("over"))
                    self.note.configure(text=item.message)
                    self._code_shown(False)
                    self.end.configure(state="disabled")
                    self.root.after(3000, self.root.destroy)
                    return
                self._take(item)
        except queue.Empty:
            pass
        self.root.after(100, self._poll)

    def _take(self, item: AskCode | Activated | Connected | Said) -> None:
        if isinstance(item, AskCode):
            self.headline.configure(text=text("installed"))
            self.ask.configure(text=text("ask_code"))
            self._code_shown(True)
        elif isinstance(item, Activated):
            self.headline.configure(text=activated_text(item.organisation, item.until))
            self.ask.configure(text=text("may_connect"))
            self.note.configure(text="")
            self._code_shown(False)
            self.entry.place_forget()  # no code is asked any more
            self.send.place_forget()
        elif isinstance(item, Connected):
            self._lines = [*self._lines, connected_text(item)][-4:]
            self.history.configure(text="\n".join(self._lines))
        else:
            self.note.configure(text=item.text)


def open_display() -> tk.Tk | None:
    """Tk on $DISPLAY, or None where there is none (no display, or no Tk libraries at all)."""
    try:
        import tkinter as tk
    except ImportError:
        return None
    try:
        root = tk.Tk(className="RelaydeskAdhoc")
    except tk.TclError:
        return None
    root.tk.call("tk", "appname", APP_NAME)
    return root


class HostTerminal:
    """The same in the terminal: prints what the window shows; a line of its own is the code,
    `/end` ends the session."""

    def __init__(self, channel: HostChannel, say: Callable[[str], None]) -> None:
        self.channel = channel
        self.say = say

    def run_until_finished(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()
        while True:
            item = self.channel.shown.get()
            self.say(describe(item))
            if isinstance(item, Finished):
                return

    def _read(self) -> None:
        for line in sys.stdin:
            typed = line.strip()
            if typed == "/end":
                self.channel.type(AdHocEnd(type="adhoc_end", reason="recipient"))
            elif typed:
                self.channel.type(AdHocCode(type="adhoc_code", code=typed[:64]))
