"""Starting the temporary host (ad hoc support; agent/ad_hoc_host.py says what it is).

    relaydesk-adhoc-<TOKEN>            the downloaded client (server and pin in its trailer, the
                                       token in its file name): installs the service, then runs
                                       the host in the foreground with its window
    relaydesk-agent adhoc --server URL --token TOKEN [--pin-sha256 P]
                                       the same from the command line
    relaydesk-agent adhoc ... --state-dir DIR --no-install
                                       the host without the service (no root, nothing in /etc
                                       or /opt): its state in DIR, removed at the end
    relaydesk-agent adhoc-run          what relaydesk-adhoc.service starts (no window)

Elevation: as agent/jump_client.py decided for Jump clients: a host that is not root and must
install runs itself again with pkexec (a desktop: polkit asks for an administrator's password in
a window) or sudo (a terminal), else says it cannot."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from relaydesk.agent import link, system_install
from relaydesk.agent.ad_hoc_host import (
    ADHOC,
    AdHocMode,
    Typing,
    hold_lock,
    permanent_agent_key,
    previous_session,
    public_key_in,
    release_lock,
)
from relaydesk.agent.installed import StateFolderError
from relaydesk.agent.jump_client import elevation, own_executable
from relaydesk.agent.modes import EXIT_ERROR, EXIT_OK, Outcome
from relaydesk.agent.own_file import own_config, own_paths
from relaydesk.agent.server_tls import normalised_pin
from relaydesk.protocol.messages import AdHocEnd

Status = Callable[[str], None]
TOKEN_IN_NAME = re.compile(r"relaydesk-adhoc-([A-Za-z0-9_-]{20,128})")
# After "End session" or the expiry, how long the host waits for the server's `uninstall`
# before it removes itself anyway (offline).
END_PATIENCE_SECONDS = 15.0
WATCH_SECONDS = 2.0


def token_in_own_name() -> str | None:
    for path in own_paths():
        found = TOKEN_IN_NAME.search(path.name)
        if found:
            return found.group(1)
    return None


def parser() -> argparse.ArgumentParser:
    parsed = argparse.ArgumentParser(
        prog="relaydesk-agent adhoc", description="relaydesk temporary support host"
    )
    parsed.add_argument("--server")
    parsed.add_argument("--token", help="the deployment link's token (default: the file's name)")
    parsed.add_argument("--pin-sha256")
    parsed.add_argument("--state-dir", type=Path)
    parsed.add_argument(
        "--no-install", action="store_true", help="run without the system service (--state-dir)"
    )
    parsed.add_argument("--ui", choices=("auto", "window", "terminal"), default="auto")
    return parsed


async def _run(
    mode: AdHocMode, server: str, pin: str | None, status: Status, watch: bool = True
) -> Outcome:
    """The channel, and beside it the host's own clock: past the expiry (or after "End
    session") the host tells the server if it can, and removes itself within a while anyway."""
    channel = asyncio.create_task(
        link.run(server, mode, status, pin_sha256=pin, give_up_after=float("inf"))
    )
    if mode.typed is not None:
        mode.typed.bind()
    waited = 0.0
    expiry_told = False
    while True:
        done, _ = await asyncio.wait({channel}, timeout=WATCH_SECONDS)
        if done:
            return channel.result()
        if mode.expired() and not expiry_told and mode.typed is not None:
            mode.typed.type(AdHocEnd(type="adhoc_end", reason="expired"))
            expiry_told = True
        if mode.end_asked or mode.expired():
            waited += WATCH_SECONDS
            if waited >= END_PATIENCE_SECONDS:
                channel.cancel()
                mode.remove()
                why = "expired" if mode.expired() else "ended by you"
                return Outcome(EXIT_OK, f"The support session is over ({why}); host removed.")


def host(
    server: str,
    pin: str | None,
    token: str | None,
    state_dir: Path,
    face: str,
    status: Status,
    system_root: Path | None,
    from_service: bool,
    lock: int | None = None,
) -> int:
    """Runs the host until its session is over (or the window closes: the service goes on)."""
    from relaydesk.agent.desktop import host_window

    channel = host_window.HostChannel()
    found: dict[str, str] = {}
    agent_key = permanent_agent_key(system_root or Path("/"))
    if agent_key:
        found["permanent_agent_key"] = agent_key
    try:
        mode = AdHocMode(
            state_dir,
            token,
            channel if face != "none" else host_window.NoFace(status),
            typed=channel,
            system_root=system_root,
            from_service=from_service,
            found=found,
        )
    except (StateFolderError, OSError) as error:
        print(f"relaydesk-agent: {error}", file=sys.stderr)
        return EXIT_ERROR
    lock = lock if lock is not None else hold_lock(mode.folder, wait=from_service)
    if lock is None:
        print("relaydesk-agent: the temporary host is already running.", file=sys.stderr)
        return EXIT_ERROR
    status(f"Temporary support host installed; connecting to {server}.")
    try:
        if face == "none":
            outcome = asyncio.run(_run(mode, server, pin, status))
        else:
            outcome = _with_face(mode, server, pin, status, channel, face)
    finally:
        release_lock(lock)
    stream = sys.stdout if outcome.exit_code == 0 else sys.stderr
    print(outcome.message, file=stream, flush=True)
    return outcome.exit_code


def _with_face(
    mode: AdHocMode,
    server: str,
    pin: str | None,
    status: Status,
    channel: Typing,
    face: str,
) -> Outcome:
    from relaydesk.agent.desktop import host_window

    assert isinstance(channel, host_window.HostChannel)
    result: list[Outcome] = []

    def background() -> None:
        try:
            outcome = asyncio.run(_run(mode, server, pin, status))
        except BaseException as error:
            outcome = Outcome(EXIT_ERROR, f"The support host stopped: {error}")
        result.append(outcome)
        channel.show(host_window.Finished(outcome.message))

    root = host_window.open_display() if face in ("auto", "window") else None
    thread = threading.Thread(target=background, name="adhoc-channel", daemon=True)
    thread.start()
    if root is not None:
        host_window.HostWindow(root, channel)
        root.mainloop()
        if not result:  # the window was closed: the session goes on in the background
            status("The window was closed; the support host goes on in the background.")
            return Outcome(EXIT_OK, "The support session stays open (see the service).")
    else:
        host_window.HostTerminal(channel, status).run_until_finished()
    thread.join(timeout=30)
    return result[0] if result else Outcome(EXIT_ERROR, "The support host stopped.")


def main(argv: list[str], status: Status) -> int:
    """`relaydesk-agent adhoc …`, or the downloaded client whose name carries a token."""
    args = parser().parse_args(argv)
    own = own_config()
    server = args.server or (own.server if own else None)
    pin = args.pin_sha256 or (own.pin_sha256 if own and not args.server else None)
    token = args.token or token_in_own_name()
    if not server or not token:
        print("relaydesk-agent: give --server and --token (from the ad hoc link).", file=sys.stderr)
        return EXIT_ERROR
    try:
        link.control_url(server)
        pin = normalised_pin(pin) if pin else None
    except ValueError as error:
        print(f"relaydesk-agent: {error}", file=sys.stderr)
        return EXIT_ERROR
    if args.no_install:
        state = args.state_dir or Path.home() / ".local/state/relaydesk-adhoc"
        return host(server, pin, token, state, args.ui, status, None, False)
    if os.geteuid() != 0:
        return _elevated(argv, server, pin, token, status)
    where = system_install.paths(flavour=ADHOC)
    kept = _token_in(where.state_dir)
    if kept is not None and kept != token:
        earlier = previous_session(where.state_dir, _now())
        if earlier is not None:
            print(
                f"relaydesk-agent: a previous support session is still open on this computer "
                f"({earlier.organisation}, {earlier.technician}); end it in its window first.",
                file=sys.stderr,
            )
            return EXIT_ERROR
        previous_key = public_key_in(where.state_dir)
        system_install.uninstall(flavour=ADHOC)  # an older host whose session is over
        status(f"Removed an older temporary host (key {previous_key or '?'}).")
    try:
        # The state first (token and key, 0600): the service, started next, finds it and waits
        # for this foreground host's lock.
        AdHocMode(where.state_dir, token, NoFace(status))
        lock = hold_lock(where.state_dir, wait=False)
        if lock is None:
            print("relaydesk-agent: the temporary host is already running.", file=sys.stderr)
            return EXIT_ERROR
        system_install.place(
            own_executable(),
            system_install.AgentConfig(server.rstrip("/"), pin),
            ADHOC,
            start=True,  # it waits for this foreground host's lock, then takes over
        )
    except (system_install.InstallError, StateFolderError, OSError) as error:
        print(f"relaydesk-agent: {error}", file=sys.stderr)
        return EXIT_ERROR
    return host(server, pin, token, where.state_dir, args.ui, status, Path("/"), False, lock)


def _token_in(folder: Path) -> str | None:
    try:
        return (folder / "token").read_text().strip()
    except OSError:
        return None


class NoFace:
    def __init__(self, say: Status) -> None:
        self.say = say

    def show(self, item: object) -> None:
        pass


def _now() -> datetime:
    return datetime.now(UTC)


def _elevated(argv: list[str], server: str, pin: str | None, token: str, status: Status) -> int:
    elevate = elevation()
    if elevate is None:
        print(
            "relaydesk-agent: the support host needs an administrator's rights, and there is "
            "no way to ask for them here (no pkexec with a desktop, no terminal for sudo). "
            "Run it again with sudo.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    status("The support host needs an administrator's rights; asking for them.")
    command = [*elevate, str(own_executable()), "adhoc", "--server", server]
    if token_in_own_name() != token:  # else the elevated copy reads it from its own name
        command += ["--token", token]
    if pin:
        command += ["--pin-sha256", pin]
    env_display = os.environ.get("DISPLAY")
    if env_display and elevate[0].endswith("pkexec"):
        command = [elevate[0], "env", f"DISPLAY={env_display}"] + command[1:]
    return subprocess.run(command, check=False).returncode


def run_service(status: Status) -> int:
    """What the unit starts: the host with the installed configuration, no window."""
    where = system_install.paths(flavour=ADHOC)
    try:
        config = system_install.read_config(where.config)
    except system_install.InstallError as error:
        print(f"relaydesk-agent: {error}", file=sys.stderr)
        return EXIT_ERROR
    return host(
        config.server, config.pin_sha256, None, where.state_dir, "none", status, Path("/"), True
    )
