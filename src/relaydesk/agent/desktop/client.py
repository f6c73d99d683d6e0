"""Runs the control channel with the customer's face: the window where there is a display, else
the terminal (and says so). The channel runs in its own thread with its own event loop; the
window's Tk loop keeps the main thread, as Tk wants."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from relaydesk.agent.desktop.channel import CustomerChannel, Finished
from relaydesk.agent.modes import Outcome

Face = Literal["auto", "window", "terminal", "none"]
FACES = ("auto", "window", "terminal", "none")
Connect = Callable[[CustomerChannel | None], Coroutine[Any, Any, Outcome]]


def default_face() -> str:
    """--ui's default: RELAYDESK_AGENT_UI, else auto (the test rig sets none for agents whose
    window would stand in front of what a test draws)."""
    face = os.environ.get("RELAYDESK_AGENT_UI", "auto")
    return face if face in FACES else "auto"


def run(connect: Connect, face: str, status: Callable[[str], None]) -> Outcome:
    if face == "none":
        return asyncio.run(connect(None))
    channel = CustomerChannel()
    if face in ("auto", "window"):
        from relaydesk.agent.desktop.window import open_display

        root = open_display()
        if root is not None:
            return _with_window(connect, channel, root)
        where = os.environ.get("DISPLAY")
        why = f"cannot open display {where}" if where else "no DISPLAY"
        status(
            f"No desktop to show the support window on ({why}); "
            "the support client runs in this terminal."
        )
    return _in_terminal(connect, channel, status)


def _background(
    connect: Connect, channel: CustomerChannel
) -> tuple[threading.Thread, list[Outcome]]:
    result: list[Outcome] = []

    def link() -> None:
        try:
            outcome = asyncio.run(connect(channel))
        except BaseException as error:  # shown, then re-raised in the main thread
            outcome = Outcome(1, f"The support client stopped: {error}")
            result.append(outcome)
            channel.show(Finished(outcome.message))
            raise
        result.append(outcome)
        channel.show(Finished(outcome.message))

    thread = threading.Thread(target=link, name="control-channel", daemon=True)
    thread.start()
    return thread, result


def _with_window(connect: Connect, channel: CustomerChannel, root: Any) -> Outcome:
    from relaydesk.agent.desktop.window import SupportWindow

    SupportWindow(root, channel)
    thread, result = _background(connect, channel)
    root.mainloop()
    thread.join()
    return result[0] if result else Outcome(1, "The support client stopped.")


def _in_terminal(
    connect: Connect, channel: CustomerChannel, status: Callable[[str], None]
) -> Outcome:
    from relaydesk.agent.desktop.terminal import TerminalDesk

    thread, result = _background(connect, channel)
    TerminalDesk(channel, status, interactive=sys.stdin.isatty()).run_until_finished()
    thread.join()
    return result[0] if result else Outcome(1, "The support client stopped.")
