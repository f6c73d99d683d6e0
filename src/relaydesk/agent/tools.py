"""The tools this agent serves over tunnels, by kind. A tool whose parts are not installed here
(for example no X display for the screen) is simply not offered."""

from __future__ import annotations

from relaydesk.agent.tunnels import Handler


def tool_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    try:
        from relaydesk.agent.screen.tunnel import serve_screen
    except ImportError:
        pass
    else:
        handlers["screen"] = serve_screen
    return handlers
