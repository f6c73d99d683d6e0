"""The tools this agent serves over tunnels, by kind. A tool whose parts are missing here (no X
display, no screen libraries) is not offered, and the technician is told so."""

from __future__ import annotations

import os

from relaydesk.agent.tunnels import FilesHandler, Handler


def tool_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    if os.name == "posix":
        from relaydesk.agent.shell_tool import serve_shell

        handlers["shell"] = serve_shell
    try:
        from relaydesk.agent.screen_tool import display_available, serve_screen
    except ImportError:
        return handlers
    if display_available():
        handlers["screen"] = serve_screen
    return handlers


def files_handler() -> FilesHandler | None:
    if os.name != "posix":
        return None  # the confinement is written for POSIX paths; Windows is not done yet
    from relaydesk.agent.files.tool import serve_files

    return serve_files
