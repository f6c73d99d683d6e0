"""Where there is no display: the same CustomerDesk, in the terminal. It prints the state and the
chat; on a terminal (TTY) the customer answers consent questions and chats on stdin."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable

from relaydesk.agent.desktop.channel import CustomerChannel, Finished, LinkDown, Told
from relaydesk.agent.desktop.state import CustomerDesk, chat_text
from relaydesk.protocol.messages import (
    ChatEntry,
    ChatSend,
    CustomerAction,
    CustomerState,
    JumpClientAsk,
    JumpClientInstall,
)

HELP = (
    "Type a message and press Enter to chat; 'yes' or 'no' answers a request; "
    "'/stop' stops screen sharing, '/back' takes control back, '/end' ends the session."
)


class TerminalDesk:
    def __init__(
        self, channel: CustomerChannel, say: Callable[[str], None], interactive: bool
    ) -> None:
        self.channel = channel
        self.say = say
        self.interactive = interactive
        self.desk = CustomerDesk()
        self._headline = ""
        self._prompt_mode = ""
        self._chat_shown = 0

    def run_until_finished(self) -> None:
        if self.interactive:
            self.say(HELP)
            threading.Thread(target=self._read_stdin, daemon=True).start()
        while True:
            item = self.channel.shown.get()
            if isinstance(item, Finished):
                self.desk.status = "ended"
                self._print_changes()
                return
            self._take(item)

    def _take(self, item: object) -> None:
        if isinstance(item, CustomerState):
            self.desk.apply_state(item)
        elif isinstance(item, ChatEntry):
            self.desk.add_chat(item)
        elif isinstance(item, LinkDown):
            self.desk.disconnected()
        elif isinstance(item, Told):
            self.say(item.message)
        elif isinstance(item, JumpClientAsk | JumpClientInstall):
            self.desk.jump_client(item)
        self._print_changes()

    def _print_changes(self) -> None:
        desk = self.desk
        if desk.headline != self._headline:
            self._headline = desk.headline
            self.say(desk.headline)
        prompt = desk.prompt
        mode = prompt.mode if prompt else ""
        if prompt and mode != self._prompt_mode:
            ask = " Allow? (yes/no)" if self.interactive else " Answer on the portal page."
            self.say(prompt.question + ask)
        self._prompt_mode = mode
        if len(desk.chat) < self._chat_shown:
            self._chat_shown = 0
        for line in desk.chat[self._chat_shown :]:
            self.say(f"[chat] {chat_text(line)}")
        self._chat_shown = len(desk.chat)

    def _read_stdin(self) -> None:
        for raw in sys.stdin:
            self.command(raw.strip())

    def command(self, text: str) -> None:
        if not text:
            return
        prompt = self.desk.prompt
        if prompt and text.lower() in ("y", "yes", "n", "no"):
            answer = self.desk.answer(text.lower().startswith("y"))
            if answer is not None:
                self.channel.say(answer)
                self._print_changes()
        elif text == "/stop":
            self.channel.say(CustomerAction(type="customer_action", action="stop_sharing"))
        elif text == "/back":
            self.channel.say(CustomerAction(type="customer_action", action="take_control_back"))
        elif text == "/end":
            self.channel.say(CustomerAction(type="customer_action", action="end_session"))
        else:
            self.channel.say(ChatSend(type="chat_send", text=text[:4000]))


def drain(shown: queue.Queue[object]) -> None:
    """Forget what nobody will show (no window, no terminal)."""
    while not shown.empty():
        shown.get_nowait()
