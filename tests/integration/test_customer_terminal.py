"""Where there is no display, the support client falls back to the terminal and says so: the
real agent under a pseudo-terminal without DISPLAY prints the session's state and the chat, the
customer answers the technician's request with 'yes', chats, and ends the session with '/end'."""

from __future__ import annotations

import os
import pty
import subprocess
import threading
from typing import Any

from tests.fixtures.agents import AGENT
from tests.fixtures.common import eventually
from tests.fixtures.technician import Technician, next_event


class Terminal:
    """A pseudo-terminal the agent runs in: what it printed, and typing into it."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.output = ""
        self._reader = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk.decode(errors="replace")

    def shows(self, text: str) -> bool:
        return text in self.output

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())


def test_without_a_display_the_customer_uses_the_terminal(relaydesk_server: Any) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    key = technician.new_key()
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    terminal = Terminal()
    agent = subprocess.Popen(
        [AGENT, "--server", relaydesk_server.url, "--key", key, "--ui", "auto"],
        env={**env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        stdin=terminal.slave,
        stdout=terminal.slave,
        stderr=terminal.slave,
    )
    os.close(terminal.slave)
    terminal.start()
    try:
        eventually(
            lambda: terminal.shows(
                "No desktop to show the support window on (no DISPLAY); "
                "the support client runs in this terminal."
            ),
            30,
            "the fallback announced",
        )
        eventually(lambda: terminal.shows("Waiting in the queue"), 30, "the queue")
        sid = technician.wait_for_waiting_session()["id"]
        assert technician.post(f"/api/v1/sessions/{sid}/accept").is_success
        eventually(lambda: terminal.shows("joined the session"), 30, "the technician's arrival")
        with technician.console() as console:
            technician.post(f"/api/v1/sessions/{sid}/screen/request", json={"mode": "view"})
            eventually(
                lambda: (
                    terminal.shows("asks to see your screen") and terminal.shows("Allow? (yes/no)")
                ),
                30,
                "the question in the terminal",
            )
            terminal.type("yes")
            granted = next_event(console, "session.screen")
            while granted["state"] != "view":
                granted = next_event(console, "session.screen")
            eventually(lambda: terminal.shows("is viewing your screen"), 30, "viewing")

            technician.post(f"/api/v1/sessions/{sid}/chat", json={"text": "Bonjour 你好 😀"})
            eventually(lambda: terminal.shows("[chat] "), 30, "the chat line")
            assert "Bonjour 你好 😀" in terminal.output
            terminal.type("the printer says offline")
            said = next_event(console, "session.chat")
            while said["sender"] != "customer":
                said = next_event(console, "session.chat")
            assert said["text"] == "the printer says offline"

        terminal.type("/end")
        assert agent.wait(30) == 0, terminal.output
        eventually(lambda: terminal.shows("has ended"), 10, "the end in the terminal")
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(10)
        os.close(terminal.master)
