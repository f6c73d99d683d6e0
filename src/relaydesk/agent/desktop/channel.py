"""Between the control channel (asyncio, in its own thread) and what the customer sees (Tk's
main thread, or the terminal): thread-safe in both directions, nothing else."""

from __future__ import annotations

import asyncio
import queue
from dataclasses import dataclass

from relaydesk.protocol.messages import (
    ChatEntry,
    ChatSend,
    ConsentAnswer,
    CustomerAction,
    CustomerState,
    JumpClientAnswer,
    JumpClientAsk,
    JumpClientInstall,
)

Said = ConsentAnswer | CustomerAction | ChatSend | JumpClientAnswer


@dataclass(frozen=True)
class LinkDown:
    """The connection to the server is lost (the agent reconnects)."""


@dataclass(frozen=True)
class Told:
    """The server refused what the customer did, or the agent has something to say."""

    message: str


@dataclass(frozen=True)
class Finished:
    """The agent is done; the window closes after saying why."""

    message: str


Shown = CustomerState | ChatEntry | LinkDown | Told | Finished | JumpClientAsk | JumpClientInstall


class CustomerChannel:
    def __init__(self) -> None:
        self.shown: queue.Queue[Shown] = queue.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._said: asyncio.Queue[Said] | None = None
        self._early: list[Said] = []

    # --- the control channel's side (its event loop) ---
    def bind(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._said = asyncio.Queue()
        for message in self._early:
            self._said.put_nowait(message)
        self._early.clear()

    def show(self, item: Shown) -> None:
        self.shown.put(item)

    async def next_said(self) -> Said:
        assert self._said is not None, "bind() first"
        return await self._said.get()

    def put_back(self, message: Said) -> None:
        """Not sent (the connection went away): first out on the next connection."""
        assert self._said is not None
        waiting = [message]
        while not self._said.empty():
            waiting.append(self._said.get_nowait())
        for item in waiting:
            self._said.put_nowait(item)

    # --- the customer's side (any other thread) ---
    def say(self, message: Said) -> None:
        if self._loop is None or self._said is None:
            self._early.append(message)
            return
        said = self._said
        self._loop.call_soon_threadsafe(said.put_nowait, message)
