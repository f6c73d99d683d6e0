"""relaydesk-agent: the program that runs on the supported computer."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from datetime import datetime
from pathlib import Path

from relaydesk import __version__
from relaydesk.agent import ad_hoc_main, link, system_install
from relaydesk.agent.desktop import client as desktop
from relaydesk.agent.desktop.client import FACES, default_face
from relaydesk.agent.installed import InstalledMode, StateFolderError, default_state_dir
from relaydesk.agent.jump_client import JumpClientInstaller
from relaydesk.agent.modes import EXIT_ERROR, EXIT_KEY_REFUSED, EXIT_OK, AttendedMode
from relaydesk.agent.own_file import key_in_own_name, own_config
from relaydesk.agent.private_folder import PrivateFolderError
from relaydesk.agent.server_tls import normalised_pin


def status(line: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {line}", flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relaydesk-agent", description="relaydesk support client")
    parser.add_argument("--version", action="version", version=f"relaydesk-agent {__version__}")
    parser.add_argument("--server", help="the relaydesk server, e.g. https://support.example.com")
    parser.add_argument("--key", help="the session key your technician gave you")
    parser.add_argument(
        "--installer",
        metavar="TOKEN",
        help="install this computer as a permanent device with your administrator's installer "
        "token (unattended access); it stays connected",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where an installed agent keeps its key and device id (default "
        "/var/lib/relaydesk-agent for root, else ~/.local/state/relaydesk-agent)",
    )
    parser.add_argument(
        "--pin-sha256",
        help="SHA-256 fingerprint of the server TLS certificate; other certificates are refused",
    )
    parser.add_argument(
        "--give-up-after",
        type=float,
        default=600.0,
        help="seconds to keep retrying an unreachable server before exiting (default 600)",
    )
    parser.add_argument(
        "--remove-on-exit",
        action="append",
        type=Path,
        default=[],
        help="a folder to delete when the session ends (used by the portal's download script)",
    )
    parser.add_argument(
        "--ui",
        choices=FACES,
        default=default_face(),
        help="the customer's window (auto: where there is a display, else the terminal)",
    )
    rfb = parser.add_argument_group("local screen sharing (any VNC viewer)")
    rfb.add_argument("--rfb-listen", metavar="HOST:PORT", help="serve the screen over RFB here")
    rfb.add_argument("--display", help="the X display to share (default: $DISPLAY)")
    rfb.add_argument("--password-file", help="VNC password (first line); needed off loopback")
    return parser


def fill_from_own_file(args: argparse.Namespace) -> None:
    """The downloaded client: what the command line leaves out comes from its own file."""
    config = own_config()
    if config and not args.server:
        args.server = config.server
        args.pin_sha256 = args.pin_sha256 or config.pin_sha256
    args.key = args.key or key_in_own_name()


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv)[:1] == ["--jump-prompt"]:
        # The jump prompt's window, which the installed agent runs on the user's desktop.
        from relaydesk.agent.desktop import jump_prompt

        return jump_prompt.main((sys.argv[1:] if argv is None else argv)[1:])
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["adhoc"], ["adhoc-run"]) or (not argv and ad_hoc_main.token_in_own_name()):
        # Ad hoc support's temporary host (agent/ad_hoc_main.py).
        if argv[:1] == ["adhoc-run"]:
            return ad_hoc_main.run_service(status)
        return ad_hoc_main.main(argv[1:], status)
    if argv[:1] and argv[0] in SERVICE_COMMANDS:
        return service_command(argv)
    if not argv and not key_in_own_name() and system_install.paths().config.exists():
        return service_command(["run"])  # the installed agent, started by hand
    args = build_parser().parse_args(argv)
    if args.rfb_listen:
        from relaydesk.agent.screen.listener import run_from_args

        return run_from_args(args, status)
    fill_from_own_file(args)
    if args.server and (args.installer or args.state_dir):
        return run_installed(args)
    if not args.server or not args.key:
        print(
            "relaydesk-agent: give --server and --key (from your technician or the portal).",
            file=sys.stderr,
        )
        return EXIT_ERROR
    try:
        url = link.control_url(args.server)
        if args.pin_sha256:
            normalised_pin(args.pin_sha256)
            if not url.startswith("wss://"):
                raise ValueError("--pin-sha256 needs an https:// server address")
    except ValueError as error:
        print(f"relaydesk-agent: {error}", file=sys.stderr)
        return EXIT_ERROR
    from relaydesk.agent.screen.listener import report_screen_log

    report_screen_log(status)
    try:
        mode = AttendedMode(args.key, url, remove_on_exit=args.remove_on_exit)
    except PrivateFolderError as error:
        print(f"relaydesk-agent: {error}", file=sys.stderr)
        return EXIT_ERROR
    mode.jump_client = JumpClientInstaller(args.server, args.pin_sha256, status)
    status(f"relaydesk-agent {__version__}: connecting to {args.server}")
    if mode.session_id is not None:
        status(f"Coming back to session {mode.session_id} (this computer was in it).")
    try:
        outcome = desktop.run(
            lambda customer: link.run(
                args.server,
                mode,
                status,
                pin_sha256=args.pin_sha256,
                give_up_after=args.give_up_after,
                customer=customer,
            ),
            args.ui,
            status,
        )
    except KeyboardInterrupt:
        mode.cleanup()
        status("Stopped.")
        return EXIT_ERROR
    stream = sys.stdout if outcome.exit_code == 0 else sys.stderr
    print(outcome.message, file=stream, flush=True)
    return outcome.exit_code


def run_installed(args: argparse.Namespace, system_root: Path | None = None) -> int:
    """An installed (permanent) device: enrols with its installer token the first time, then
    comes back by its device credential, and keeps reconnecting for as long as it runs.
    system_root: the system service (`run`), which the server's `uninstall` removes whole."""
    try:
        link.control_url(args.server)
        if args.pin_sha256:
            normalised_pin(args.pin_sha256)
        mode = InstalledMode(args.state_dir or default_state_dir(), args.installer, system_root)
    except (ValueError, StateFolderError, OSError) as error:
        print(f"relaydesk-agent: {error}", file=sys.stderr)
        return EXIT_ERROR
    status(f"relaydesk-agent {__version__}: installed device, connecting to {args.server}")
    try:
        outcome = asyncio.run(
            link.run(args.server, mode, status, pin_sha256=args.pin_sha256, give_up_after=math.inf)
        )
    except KeyboardInterrupt:
        status("Stopped.")
        return EXIT_OK
    stream = sys.stdout if outcome.exit_code == 0 else sys.stderr
    print(outcome.message, file=stream, flush=True)
    return outcome.exit_code


SERVICE_COMMANDS = ("install", "uninstall", "run")


def service_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relaydesk-agent",
        description="relaydesk agent as a system service (unattended access; run as root)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    install = commands.add_parser(
        "install",
        help="install this computer as a permanent device: /opt/relaydesk-agent, "
        "/etc/relaydesk-agent/agent.conf, /var/lib/relaydesk-agent and the systemd unit "
        "relaydesk-agent.service, enrolled with the installer token and started",
    )
    install.add_argument("--installer", metavar="TOKEN", required=True, help="installer token")
    install.add_argument("--server", help="the relaydesk server (default: the one it came from)")
    install.add_argument("--pin-sha256", help="SHA-256 fingerprint of the server's certificate")
    install.add_argument(
        "--no-start", action="store_true", help="enable the service; it starts at the next boot"
    )
    install.add_argument("--quiet", action="store_true", help="print only errors")
    uninstall = commands.add_parser(
        "uninstall", help="stop and remove the service, its files, configuration and key"
    )
    uninstall.add_argument("--quiet", action="store_true", help="print only errors")
    run = commands.add_parser("run", help="run as the installed service (what the unit starts)")
    run.add_argument(
        "--config", type=Path, default=system_install.paths().config, help="agent.conf to read"
    )
    return parser


def own_executable() -> Path:
    """What install copies to /opt: the one-file executable, or this console script."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable)
    return Path(sys.argv[0]).resolve()


def service_command(argv: list[str]) -> int:
    args = service_parser().parse_args(argv)
    say = (lambda line: None) if getattr(args, "quiet", False) else status
    try:
        if args.command == "run":
            config = system_install.read_config(args.config)
            run_args = argparse.Namespace(
                server=config.server,
                pin_sha256=config.pin_sha256,
                installer=None,
                state_dir=system_install.paths().state_dir,
            )
            return run_installed(run_args, system_root=Path("/"))
        if args.command == "uninstall":
            installed = system_install.is_installed()
            system_install.uninstall_and_tell(
                say=say, warn=lambda line: print(f"relaydesk-agent: {line}", file=sys.stderr)
            )
            say(
                "relaydesk-agent is uninstalled: service, files, configuration and key removed."
                if installed
                else "relaydesk-agent was not installed here; nothing to remove."
            )
            return EXIT_OK
        own = own_config()
        server = args.server or (own.server if own else None)
        if not server:
            raise system_install.InstallError("Give the server: --server https://…")
        pin = args.pin_sha256 or (own.pin_sha256 if own and not args.server else None)
        done = system_install.install(
            own_executable(), server, pin, args.installer, start=not args.no_start, say=say
        )
    except system_install.EnrolmentRefused as refused:
        print(f"relaydesk-agent: not installed: {refused} ({refused.code})", file=sys.stderr)
        return EXIT_KEY_REFUSED
    except system_install.InstallError as error:
        print(f"relaydesk-agent: {error}", file=sys.stderr)
        return EXIT_ERROR
    say(
        f"relaydesk-agent is installed as device {done.device_id} "
        + (
            "and running (systemctl status relaydesk-agent)."
            if done.started
            else "and enabled; it starts with the computer (systemctl start relaydesk-agent)."
        )
    )
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
