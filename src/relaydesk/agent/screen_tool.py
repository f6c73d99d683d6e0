"""The screen as a tunnel tool: the RFB server of agent/screen on the tunnel's byte stream,
with input following the customer's consent as it changes."""

from __future__ import annotations

import os
import socket

from relaydesk.agent.screen.session import ScreenHandle, serve_rfb
from relaydesk.agent.tunnels import ByteStream, InputSwitch


def display_available() -> bool:
    return bool(os.environ.get("DISPLAY"))


async def serve_screen(stream: ByteStream, switch: InputSwitch) -> None:
    handle = ScreenHandle(input_allowed=switch.allowed)
    switch.listeners.append(handle.set_input_allowed)
    try:
        await serve_rfb(
            stream,
            os.environ["DISPLAY"],
            password=None,  # the tunnel is already authenticated at both ends
            view_only=not switch.allowed,
            name=socket.gethostname(),
            handle=handle,
        )
    finally:
        switch.listeners.remove(handle.set_input_allowed)
