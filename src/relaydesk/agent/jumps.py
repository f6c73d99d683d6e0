"""The installed agent's side of a jump (UNA-6): find the logged-in user's desktop, ask him when
the policy says so (agent/desktop/jump_prompt.py), answer the server, and share that desktop's
screen while the jump lasts. The agent stays connected before, during and after a jump."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable

from relaydesk.agent import graphical_session
from relaydesk.agent.graphical_session import Desktop
from relaydesk.agent.tunnels import ByteStream, InputSwitch
from relaydesk.protocol.messages import JumpAnswer, JumpEnd, JumpStart

Reply = Callable[[JumpAnswer], Awaitable[None]]
Status = Callable[[str], None]


class JumpDesk:
    def __init__(self, status: Status) -> None:
        self.status = status
        self.desktop: Desktop | None = None
        self._asking: dict[int, asyncio.Task[None]] = {}

    def command(self, message: JumpStart | JumpEnd, reply: Reply) -> None:
        if isinstance(message, JumpStart):
            task = asyncio.create_task(self._start(message, reply))
            self._asking[message.session_id] = task
            task.add_done_callback(lambda _: self._asking.pop(message.session_id, None))
        else:
            asking = self._asking.pop(message.session_id, None)
            if asking is not None:
                asking.cancel()  # the prompt window closes with it
            self.status(f"Jump ended: {message.reason}")

    async def _start(self, message: JumpStart, reply: Reply) -> None:
        desktop = await asyncio.to_thread(graphical_session.find)
        self.desktop = desktop
        where = (
            f"{desktop.user or 'a user'}'s desktop on {desktop.display}"
            if desktop
            else "nobody is logged in (no screen)"
        )
        self.status(f"{message.technician} jumps to this computer; {where}.")
        outcome, user = "not_asked", ""
        if message.prompt == "ask":
            if desktop is None:
                outcome = "no_answer"  # nobody can answer: the policy's rule applies
            else:
                from relaydesk.agent.desktop import jump_prompt

                outcome = await jump_prompt.ask(
                    desktop,
                    message.technician,
                    message.company,
                    message.answer_seconds,
                    message.when_nobody_answers,
                )
                user = desktop.user if outcome in ("allowed", "denied") else ""
            self.status(f"Jump prompt answered: {outcome}{f' by {user}' if user else ''}.")
        await reply(
            JumpAnswer(
                type="jump_answer",
                session_id=message.session_id,
                outcome=outcome,  # type: ignore[arg-type]
                user=user[:500],
                desktop="user" if desktop else "none",
            )
        )

    def close(self) -> None:
        for task in list(self._asking.values()):
            task.cancel()

    async def serve_screen(self, stream: ByteStream, switch: InputSwitch) -> None:
        """The screen tool of a jump: the logged-in user's display, with his X authority."""
        from relaydesk.agent.screen.session import ScreenHandle, serve_rfb

        desktop = self.desktop or await asyncio.to_thread(graphical_session.find)
        if desktop is None:
            self.status("The screen was asked for, but nobody is logged in on this computer.")
            return
        if desktop.xauthority:
            os.environ["XAUTHORITY"] = desktop.xauthority  # the X library reads it to connect
        handle = ScreenHandle(input_allowed=switch.allowed)
        switch.listeners.append(handle.set_input_allowed)
        try:
            await serve_rfb(
                stream,
                desktop.display,
                password=None,  # the tunnel is authenticated at both ends
                view_only=not switch.allowed,
                name=socket.gethostname(),
                handle=handle,
            )
        finally:
            with contextlib.suppress(ValueError):
                switch.listeners.remove(handle.set_input_allowed)
