"""The support client's window on the customer's desktop (Tk/ttk): who is helping, the
session's state, the consent question, the buttons, and the chat. It renders a CustomerDesk
(state.py) and hands what the customer does to the control channel (channel.py); it decides
nothing itself. Tk runs in the main thread; the control channel in its own."""

from __future__ import annotations

import base64
import binascii
import queue
import tkinter as tk
from collections.abc import Callable
from tkinter import messagebox, ttk

from relaydesk.agent.desktop.channel import CustomerChannel, Finished, LinkDown, Told
from relaydesk.agent.desktop.indicator import SharingIndicator
from relaydesk.agent.desktop.state import CustomerDesk, chat_text
from relaydesk.protocol.messages import (
    ChatEntry,
    ChatSend,
    CustomerAction,
    CustomerState,
    JumpClientAsk,
    JumpClientInstall,
)

TITLE = "relaydesk support"
# The name other Tk programs on the display know this window's interpreter by.
APP_NAME = "relaydesk-support"
POLL_MS = 100
CLOSE_AFTER_END_MS = 4000
FONT = ("Noto Sans", 11)
BIG_FONT = ("Noto Sans", 13, "bold")


def open_display() -> tk.Tk | None:
    """Tk on $DISPLAY, or None where there is none (or it cannot be opened)."""
    try:
        root = tk.Tk(className="RelaydeskSupport")
    except tk.TclError:
        return None
    root.tk.call("tk", "appname", APP_NAME)
    return root


def _photo(picture: str | None) -> tk.PhotoImage | None:
    """The technician's picture when it is a PNG or GIF data: URL (Tk reads those itself)."""
    if not picture or not picture.startswith(("data:image/png;base64,", "data:image/gif;base64,")):
        return None
    try:
        data = base64.b64decode(picture.split(",", 1)[1], validate=True)
        image = tk.PhotoImage(data=base64.b64encode(data).decode())
    except (binascii.Error, tk.TclError, ValueError):
        return None
    factor = max(1, image.height() // 64, image.width() // 64)
    return image.subsample(factor) if factor > 1 else image


class SupportWindow:
    def __init__(self, root: tk.Tk, channel: CustomerChannel) -> None:
        self.root = root
        self.channel = channel
        self.desk = CustomerDesk()
        self.indicator = SharingIndicator(root)
        self._picture: tk.PhotoImage | None = None
        self._picture_source: str | None = None
        self._chat_shown = 0
        self._ended = False
        root.title(TITLE)
        root.geometry("460x620+40+40")
        root.minsize(380, 480)
        root.option_add("*Font", FONT)
        root.protocol("WM_DELETE_WINDOW", self._on_close)
        self._build()
        self.render()
        root.after(POLL_MS, self._poll)

    # --- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        root = self.root
        outer = ttk.Frame(root, padding=12, name="main")
        outer.pack(fill="both", expand=True)

        who = ttk.Frame(outer, name="who")
        who.pack(fill="x")
        self.picture = ttk.Label(who, name="picture")
        self.picture.pack(side="left", padx=(0, 10))
        self.helper = ttk.Label(who, name="helper", justify="left", font=FONT)
        self.helper.pack(side="left", fill="x")

        self.state = ttk.Label(outer, name="state", font=BIG_FONT, wraplength=420)
        self.state.pack(fill="x", pady=(12, 8))

        self.consent = ttk.Frame(outer, name="consent", padding=8, relief="ridge")
        self.question = ttk.Label(self.consent, name="question", wraplength=400, justify="left")
        self.question.pack(fill="x")
        answers = ttk.Frame(self.consent, name="answers")
        answers.pack(fill="x", pady=(8, 0))
        self.allow = ttk.Button(answers, text="Allow", name="allow", command=self._allow)
        self.allow.pack(side="left")
        self.deny = ttk.Button(answers, text="Deny", name="deny", command=self._deny)
        self.deny.pack(side="left", padx=8)

        self.actions = ttk.Frame(outer, name="actions")
        self.actions.pack(fill="x", pady=(4, 8))
        self.stop = ttk.Button(
            self.actions, text="Stop sharing", name="stop", command=self._stop_sharing
        )
        self.stop.pack(side="left")
        self.take_back = ttk.Button(
            self.actions, text="Take control back", name="takeback", command=self._take_back
        )
        self.take_back.pack(side="left", padx=6)
        self.end = ttk.Button(self.actions, text="End session", name="end", command=self._end)
        self.end.pack(side="right")

        ttk.Label(outer, text="Chat").pack(anchor="w")
        log_frame = ttk.Frame(outer, name="chat")
        log_frame.pack(fill="both", expand=True)
        self.log = tk.Text(
            log_frame, name="log", height=10, wrap="word", state="disabled", font=FONT
        )
        scroll = ttk.Scrollbar(log_frame, command=self.log.yview)
        self.log.configure(yscrollcommand=scroll.set)
        scroll.pack(side="right", fill="y")
        self.log.pack(side="left", fill="both", expand=True)
        self.log.tag_configure("mine", foreground="#1d4ed8")
        self.log.tag_configure("system", foreground="#6b7280")

        typing = ttk.Frame(outer, name="typing")
        typing.pack(fill="x", pady=(8, 0))
        self.entry = ttk.Entry(typing, name="entry")
        self.entry.pack(side="left", fill="x", expand=True)
        self.entry.bind("<Return>", lambda _event: self._send_chat())
        self.send = ttk.Button(typing, text="Send", name="send", command=self._send_chat)
        self.send.pack(side="left", padx=(6, 0))

        self.note = ttk.Label(outer, name="note", foreground="#b91c1c", wraplength=420)
        self.note.pack(fill="x", pady=(6, 0))

    # --- what the server says ----------------------------------------------------------------
    def _poll(self) -> None:
        try:
            while True:
                self._take(self.channel.shown.get_nowait())
        except queue.Empty:
            pass
        if not self._ended:
            self.root.after(POLL_MS, self._poll)

    def _take(self, item: object) -> None:
        if isinstance(item, CustomerState):
            self.desk.apply_state(item)
            self.note.configure(text="")
        elif isinstance(item, ChatEntry):
            self.desk.add_chat(item)
        elif isinstance(item, LinkDown):
            self.desk.disconnected()
        elif isinstance(item, Told):
            self.note.configure(text=item.message)
        elif isinstance(item, JumpClientAsk | JumpClientInstall):
            self.desk.jump_client(item)
        elif isinstance(item, Finished):
            self._finish(item.message)
            return
        self.render()

    def render(self) -> None:
        desk = self.desk
        self.helper.configure(text="\n".join(desk.helper_lines))
        source = desk.helper.picture if desk.helper else None
        if source != self._picture_source:
            self._picture_source = source
            self._picture = _photo(source)
            self.picture.configure(image=self._picture or "")
        self.state.configure(text=desk.headline)
        prompt = desk.prompt
        if prompt:
            self.question.configure(text=prompt.question)
            self.consent.pack(fill="x", pady=(0, 8), before=self.actions)
        else:
            self.consent.pack_forget()
        self._enable(self.stop, desk.sharing)
        self._enable(self.take_back, desk.may_take_control_back)
        self._enable(self.end, desk.connected and desk.status != "ended")
        self._enable(self.send, desk.may_chat)
        self._enable(self.entry, desk.may_chat)
        self._render_chat()
        self.indicator.show(desk.indicator, desk.screen_state == "control")

    def _render_chat(self) -> None:
        lines = self.desk.chat
        if len(lines) < self._chat_shown:
            self._chat_shown = 0
            self._write(lambda: self.log.delete("1.0", "end"))
        for line in lines[self._chat_shown :]:
            tag = {"customer": "mine", "system": "system"}.get(line.sender, "")

            def add(line: ChatEntry = line, tag: str = tag) -> None:
                self.log.insert("end", chat_text(line) + "\n", tag)

            self._write(add)
        self._chat_shown = len(lines)
        self.log.see("end")

    def _write(self, change: Callable[[], None]) -> None:
        self.log.configure(state="normal")
        change()
        self.log.configure(state="disabled")

    @staticmethod
    def _enable(widget: ttk.Widget, enabled: bool) -> None:
        widget.state(["!disabled"] if enabled else ["disabled"])

    # --- what the customer does --------------------------------------------------------------
    def _answer(self, allow: bool) -> None:
        answer = self.desk.answer(allow)
        if answer is not None:
            self.channel.say(answer)
            self.render()

    def _allow(self) -> None:
        self._answer(True)

    def _deny(self) -> None:
        self._answer(False)

    def _stop_sharing(self) -> None:
        self.channel.say(CustomerAction(type="customer_action", action="stop_sharing"))

    def _take_back(self) -> None:
        self.channel.say(CustomerAction(type="customer_action", action="take_control_back"))

    def _end(self) -> None:
        self.channel.say(CustomerAction(type="customer_action", action="end_session"))

    def _send_chat(self) -> None:
        text = self.entry.get().strip()
        if text and self.desk.may_chat:
            self.channel.say(ChatSend(type="chat_send", text=text[:4000]))
            self.entry.delete(0, "end")

    def _on_close(self) -> None:
        if self._ended or not self.desk.connected:
            self.root.destroy()
            return
        if messagebox.askyesno(TITLE, "End the support session?", parent=self.root):
            self._end()

    def _finish(self, message: str) -> None:
        self._ended = True
        self.desk.status = "ended"
        self.render()
        self.note.configure(text=message, foreground="#374151")
        self.indicator.hide()
        for button in (self.stop, self.take_back, self.end, self.send, self.allow, self.deny):
            self._enable(button, False)
        self.root.after(CLOSE_AFTER_END_MS, self.root.destroy)
