"""relaydesk-agent: the program that runs on the supported computer."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from datetime import datetime
from pathlib import Path

from relaydesk import __version__
from relaydesk.agent import link
from relaydesk.agent.desktop import client as desktop
from relaydesk.agent.desktop.client import FACES, default_face
from relaydesk.agent.installed import InstalledMode, StateFolderError, default_state_dir
from relaydesk.agent.modes import EXIT_ERROR, EXIT_OK, AttendedMode
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


def run_installed(args: argparse.Namespace) -> int:
    """An installed (permanent) device: enrols with its installer token the first time, then
    comes back by its device credential, and keeps reconnecting for as long as it runs."""
    try:
        link.control_url(args.server)
        if args.pin_sha256:
            normalised_pin(args.pin_sha256)
        mode = InstalledMode(args.state_dir or default_state_dir(), args.installer)
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


if __name__ == "__main__":
    raise SystemExit(main())
