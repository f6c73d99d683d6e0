"""The `relaydesk` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from relaydesk import __version__
from relaydesk.server.config import Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        tls_certfile=getattr(args, "tls_cert", None),
        tls_keyfile=getattr(args, "tls_key", None),
        tls_self_signed=True if getattr(args, "tls", None) == "self-signed" else None,
    )


def _with_certificate(settings: Settings) -> Settings:
    """Settings whose certificate exists: the given pair, or the self-signed one in the data
    directory (made on the first start). Prints the SHA-256 fingerprint agents pin."""
    from relaydesk.server import tls

    if not settings.serves_tls:
        return settings
    if settings.tls_certfile is not None:
        if settings.tls_keyfile is None:
            raise SystemExit("relaydesk: --tls-cert needs --tls-key (RELAYDESK_TLS_KEYFILE).")
        certfile = settings.tls_certfile
        how = f"TLS certificate: {certfile}"
    else:
        names = [settings.host]
        if settings.public_url:
            names.append(urlsplit(settings.public_url).hostname or "")
        certfile, keyfile, made = tls.self_signed(settings.data_dir, names)
        settings = settings.model_copy(update={"tls_certfile": certfile, "tls_keyfile": keyfile})
        how = f"{'Made a' if made else 'Using the'} self-signed TLS certificate {certfile}"
    try:
        pins = tls.pins_of(certfile)
    except tls.CertificateUnreadable as error:
        raise SystemExit(f"relaydesk: {error}") from None
    print(how, flush=True)
    print(f"TLS certificate SHA-256 fingerprint: {pins.certificate_sha256}", flush=True)
    if not settings.tls_pin:
        print("Agents are not told to pin it (RELAYDESK_TLS_PIN=false).", flush=True)
    return settings


def _prepare(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _migrate_apart(settings.effective_database_url)


def _migrate_apart(database_url: str) -> None:
    """Applies migrations in a forked child, so that the serving process never loads Alembic
    (about 11 MiB of its resident memory for the rest of its life)."""
    if not hasattr(os, "fork"):
        _migrate(database_url)
        return
    child = os.fork()
    if child == 0:
        code = 0
        try:
            _migrate(database_url)
        except BaseException:  # noqa: BLE001 - the parent reports the failure
            logging.getLogger(__name__).exception("migration failed")
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("relaydesk: applying database migrations failed (see the error above)")


def _migrate(database_url: str) -> None:
    from relaydesk.server.db import migrate

    migrate.upgrade(database_url)


def _with_db(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    from relaydesk.server.db.engine import make_engine, make_sessionmaker

    async def run() -> Any:
        engine = make_engine(settings.effective_database_url)
        try:
            async with make_sessionmaker(engine)() as db:
                result = await work(db)
                await db.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _public_url(settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/"
    host = "localhost" if settings.host in ("0.0.0.0", "::") else settings.host
    scheme = "https" if settings.serves_tls else "http"
    return f"{scheme}://{host}:{settings.port}/"


def _portal_address(settings: Settings, organisation_id: int) -> str:
    """Where the organisation's customers start: its portal's unguessable address."""
    from relaydesk.server.domain.session_keys import default_portal

    async def slug(db: Any) -> str:
        return str((await default_portal(db, organisation_id)).slug)

    return f"{_public_url(settings)}?portal={_with_db(settings, slug)}"


def _serve(settings: Settings) -> None:
    import gc

    import uvicorn

    from relaydesk.server.app import create_app
    from relaydesk.server.log_redaction import uvicorn_log_config
    from relaydesk.server.relay.transport import RelayDeskWebSocketProtocol

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # The process is ending: no collection of the cyclic garbage collector any more. With
            # 10,000 agents' links it walked their objects again and again while each link's
            # close frame was written (most of a stop's time, issue 13); what the links leave
            # behind goes when the process exits.
            gc.freeze()
            gc.disable()
            await super().shutdown(sockets)

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        # uvicorn's websockets-sansio, with a lean path and no compression for /relay.
        ws=RelayDeskWebSocketProtocol,
        log_level="info",
        # No query string's values in the log: they may carry keys or tokens.
        log_config=uvicorn_log_config(),
        # Forwarded headers are judged by relaydesk itself (RELAYDESK_TRUSTED_PROXIES).
        proxy_headers=False,
        # Connections the kernel completes while the server is busy wait here rather than have
        # their SYN dropped and retried seconds later: 10,000 agents come back after a restart
        # (the kernel caps it at net.core.somaxconn; docs/deployment.md).
        backlog=16384,
        server_header=False,
        ssl_certfile=str(settings.tls_certfile) if settings.tls_certfile else None,
        ssl_keyfile=str(settings.tls_keyfile) if settings.tls_keyfile else None,
    )
    server = Server(config)
    server.run()
    if not server.started:
        sys.exit(3)  # uvicorn.run's STARTUP_FAILURE


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _prepare(settings)
    settings = _with_certificate(settings)
    print(f"Sign in at: {_public_url(settings)}login", flush=True)
    _serve(settings)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from relaydesk.server.domain.demo import ensure_demo

    settings = _settings(args)
    if not settings.smtp_host:
        settings = settings.model_copy(update={"mail_outbox": True})
    _prepare(settings)
    settings = _with_certificate(settings)
    setup = _with_db(settings, ensure_demo)
    lines = [
        "",
        "relaydesk demo is ready.",
        f"Sign in at: {_public_url(settings)}login",
        f"Administrator e-mail: {setup.admin_email}",
        f"Customer portal: {_portal_address(settings, setup.organisation.id)}",
    ]
    if setup.one_time_password:
        lines.append(f"One-time password: {setup.one_time_password}")
        lines.append("(You will choose your own password at first sign-in.)")
    else:
        lines.append("The administrator already exists; use the password you chose.")
    lines.append(f"Data directory: {settings.data_dir}")
    if settings.mail_outbox:
        lines.append(f"Mail is not sent in the demo; it is written to {settings.outbox_dir}")
    lines.append("")
    print("\n".join(lines), flush=True)
    _serve(settings)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _prepare(settings)
    print("Database is at the latest schema.")
    return 0


def _password_from_stdin() -> str | None:
    """A password piped in (one line); None when stdin is a terminal or empty: generate one."""
    if sys.stdin.isatty():
        return None
    return sys.stdin.readline().rstrip("\n") or None


def _set_up(args: argparse.Namespace, first: bool) -> int:
    from relaydesk.server.domain import installation
    from relaydesk.server.domain.errors import DomainError

    settings = _settings(args)
    _prepare(settings)
    new = installation.NewOrganisation(
        name=args.organisation,
        admin_email=args.email,
        admin_name=args.name,
        admin_password=_password_from_stdin(),
    )
    try:
        done = _with_db(
            settings,
            lambda db: (installation.install if first else installation.add_organisation)(db, new),
        )
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    lines = [
        "",
        "relaydesk is set up." if first else "Organisation created.",
        f"Organisation: {done.organisation.name}",
        f"Sign in at: {_public_url(settings)}login",
        f"Administrator e-mail: {done.admin_email}",
        f"Customer portal: {_portal_address(settings, done.organisation.id)}",
    ]
    if done.one_time_password:
        lines.append(f"One-time password: {done.one_time_password}")
        lines.append("(It is shown only now; you will choose your own password at first sign-in.)")
    else:
        lines.append("Password: the one given on standard input.")
    if first:
        lines.append(
            "Remote support is off until an administrator turns it on in Administration > Settings."
        )
        if not settings.public_url:
            lines.append(
                "Set RELAYDESK_PUBLIC_URL to the address customers and agents use, then start "
                "the server with `relaydesk serve` (see docs/deployment.md)."
            )
        else:
            lines.append("Start the server with `relaydesk serve`.")
    print("\n".join(lines), flush=True)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    return _set_up(args, first=True)


def cmd_create_organisation(args: argparse.Namespace) -> int:
    return _set_up(args, first=False)


def cmd_create_user(args: argparse.Namespace) -> int:
    from relaydesk.server.domain.actor import SystemActor
    from relaydesk.server.domain.errors import DomainError
    from relaydesk.server.domain.installation import organisation_named
    from relaydesk.server.domain.users import (
        NewUser,
        assign_role,
        create_user,
        role_by_name,
    )

    settings = _settings(args)
    _prepare(settings)
    password = _password_from_stdin()

    async def work(db: Any) -> tuple[str, str | None]:
        organisation = await organisation_named(db, args.organisation)
        role = await role_by_name(db, organisation.id, args.role)
        if role is None:
            raise SystemExit(f"No role named '{args.role}' in {organisation.name}.")
        by = SystemActor(organisation.id)
        user, generated = await create_user(
            db, by, NewUser(email=args.email, name=args.name, password=password)
        )
        await assign_role(db, by, user, role, True, [])
        return user.email, generated

    try:
        email, generated = _with_db(settings, work)
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(f"Created {email} with role {args.role}.")
    if generated:
        print(f"One-time password: {generated}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from relaydesk.server.domain import audit

    settings = _settings(args)
    if not settings.database_url and not (settings.data_dir / "relaydesk.sqlite3").exists():
        print(
            f"error: no database in {settings.data_dir}; set RELAYDESK_DATA_DIR.", file=sys.stderr
        )
        return 2
    checked, breaks = _with_db(settings, audit.verify)
    if not breaks:
        print(f"Audit log intact: {checked} entries verified.")
        return 0
    for broken in breaks:
        print(
            f"Audit chain of organisation {broken.organisation_id} broken at entry "
            f"{broken.seq}: {broken.reason}.",
        )
    return 1


def cmd_openapi(args: argparse.Namespace) -> int:
    from relaydesk.server.app import create_app

    settings = load_settings(database_url="sqlite+aiosqlite:///:memory:")
    print(json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True))
    return 0


def cmd_events_schema(args: argparse.Namespace) -> int:
    from relaydesk.protocol.events import events_schema

    print(json.dumps(events_schema(), indent=2, sort_keys=True))
    return 0


def _organisation_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--organisation", required=True, help="the organisation's name")
    command.add_argument("--email", required=True, help="its administrator's e-mail address")
    command.add_argument("--name", required=True, help="its administrator's name")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relaydesk", description="relaydesk server")
    parser.add_argument("--version", action="version", version=f"relaydesk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, handler, text in (
        ("serve", cmd_serve, "apply migrations and serve"),
        ("demo", cmd_demo, "create the demo organisation if needed, print how to sign in, serve"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("--host")
        command.add_argument("--port", type=int)
        command.add_argument("--tls-cert", type=Path, metavar="FILE", help="serve HTTPS: PEM chain")
        command.add_argument("--tls-key", type=Path, metavar="FILE", help="its private key (PEM)")
        command.add_argument(
            "--tls",
            choices=["self-signed"],
            help="serve HTTPS with a self-signed certificate made on the first start and kept "
            "in the data directory; agents pin its fingerprint",
        )
        command.set_defaults(handler=handler)

    for name, handler, text in (
        ("init", cmd_init, "first install: migrations, the organisation and its administrator"),
    ):
        command = sub.add_parser(name, help=text)
        _organisation_arguments(command)
        command.set_defaults(handler=handler)

    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        handler=cmd_migrate
    )
    sub.add_parser("openapi", help="print the OpenAPI schema").set_defaults(handler=cmd_openapi)
    sub.add_parser(
        "events-schema",
        help="print the JSON Schema of the events the console and the portal page receive",
    ).set_defaults(handler=cmd_events_schema)

    admin = sub.add_parser("admin", help="administration").add_subparsers(
        dest="admin_command", required=True
    )
    create = admin.add_parser(
        "create-user", help="create a user (password from stdin, or generated)"
    )
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, help="role name, e.g. 'Help desk operator'")
    create.add_argument("--organisation", help="organisation name (needed when there are several)")
    create.set_defaults(handler=cmd_create_user)
    organisation = admin.add_parser(
        "create-organisation",
        help="another organisation on this server, with its administrator "
        "(password from stdin, or generated)",
    )
    _organisation_arguments(organisation)
    organisation.set_defaults(handler=cmd_create_organisation)

    audit_cmd = sub.add_parser("audit", help="audit log").add_subparsers(
        dest="audit_command", required=True
    )
    audit_cmd.add_parser("verify", help="check the hash chain").set_defaults(
        handler=cmd_audit_verify
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
