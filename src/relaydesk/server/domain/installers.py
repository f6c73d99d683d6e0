"""Installers (UNA-2, UNA-4): a reusable token that enrols installed (unattended) devices into a
Jump group for a customer company, up to a cap, until it expires or is revoked. Only the
token's SHA-256 is kept; the token is shown once, at creation.

The Jump group is a device group (GOV-3 scope follows it); a user's personal list is not
modelled yet. The cap is exact under concurrency: an enrolment counts itself with one
conditional UPDATE (used = used + 1 WHERE used < max_installations), which both SQLite and
PostgreSQL apply atomically."""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from relaydesk.protocol.codes import RefusalCode
from relaydesk.protocol.messages import Hello
from relaydesk.server.auth.tokens import token_hash
from relaydesk.server.db.models import Device, Installer, User, utcnow
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.device_groups import group_for_key
from relaydesk.server.domain.errors import Forbidden, Invalid, NotFound
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.session_keys import KeyRefusal, _one_line
from relaydesk.server.domain.throttle import AttemptThrottle

DEFAULT_MAX_INSTALLATIONS = 500
TOKEN_PREFIX = "rdi_"
# The install script the command fetches (server/downloads/install_script.py); it takes the
# token as an argument, never in its address.
SCRIPT_PATH = "/portal/install.sh"

UNKNOWN = KeyRefusal(
    RefusalCode.INSTALLER_UNKNOWN,
    "This installer token is not known. Ask your administrator for the current install command.",
)
EXPIRED = KeyRefusal(
    RefusalCode.INSTALLER_EXPIRED,
    "This installer has expired. Ask your administrator for a new one.",
)
REVOKED = KeyRefusal(
    RefusalCode.INSTALLER_REVOKED,
    "This installer was revoked. Ask your administrator for a new one.",
)
CAP_REACHED = KeyRefusal(
    RefusalCode.INSTALLER_CAP_REACHED,
    "This installer has reached its maximum number of installations. Ask your administrator "
    "for a new one.",
)
DEVICE_UNKNOWN = KeyRefusal(
    RefusalCode.DEVICE_UNKNOWN,
    "The server does not know this device (it was deleted, or its key changed). Install it again.",
)


@dataclass(frozen=True)
class IssuedInstaller:
    token: str
    row: Installer
    created_by: str


@dataclass(frozen=True)
class Commands:
    """What the administrator copies: one line for a root shell, and the same for silent mass
    deployment (configuration management: nothing asked); the script's download address."""

    install: str
    silent: str
    download_url: str


def commands(public_url: str, token: str, curl_pin: str | None = None) -> Commands:
    """curl_pin: the server's public key pin (sha256//…) when its certificate is self-signed;
    curl then accepts that key only (the CA check is off), and the script pins the certificate."""
    script = f"{public_url.rstrip('/')}{SCRIPT_PATH}"
    pinned = f"--insecure --pinnedpubkey {shlex.quote(curl_pin)} " if curl_pin else ""
    fetch = f"curl -fsSL {pinned}{shlex.quote(script)} | sh -s -- --installer {shlex.quote(token)}"
    return Commands(install=fetch, silent=f"{fetch} --quiet", download_url=script)


def _judge(row: Installer | None, now: datetime) -> KeyRefusal | None:
    if row is None:
        return UNKNOWN
    if row.revoked_at is not None:
        return REVOKED
    if row.expires_at is not None and row.expires_at <= now:
        return EXPIRED
    if row.used >= row.max_installations:
        return CAP_REACHED
    return None


async def create(
    db: AsyncSession,
    actor: Actor,
    *,
    company: str,
    device_group_id: int | None,
    max_installations: int = DEFAULT_MAX_INSTALLATIONS,
    expires_at: datetime | None = None,
) -> IssuedInstaller:
    actor.require(Permission.MANAGE_DEVICES)
    company = _one_line(company, "company", "company", 200)
    if max_installations < 1:
        raise Invalid(
            "invalid_max_installations",
            "The maximum number of installations must be at least 1.",
            field="max_installations",
        )
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise Invalid(
                "invalid_expiry",
                "Give the expiry with its time zone (for example 2027-01-31T18:00:00Z).",
                field="expires_at",
            )
        try:
            expires_at = expires_at.astimezone(UTC)
        except OverflowError:
            raise Invalid(
                "invalid_expiry",
                "The expiry is not a date this server can keep.",
                field="expires_at",
            ) from None
        if expires_at <= utcnow():
            raise Invalid(
                "expiry_in_the_past", "The expiry must be in the future.", field="expires_at"
            )
    group_id = await group_for_key(db, actor, device_group_id)
    if not actor.permissions.has_for_group(Permission.MANAGE_DEVICES, group_id):
        raise Forbidden(
            "permission_denied",
            "Your permission 'Manage devices' does not extend to this device group.",
            permission=Permission.MANAGE_DEVICES.value,
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Installer(
        organisation_id=actor.organisation_id,
        token_hash=token_hash(token),
        company=company,
        device_group_id=group_id,
        max_installations=max_installations,
        used=0,
        created_by_id=actor.user.id,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        actor.who,
        "installer.created",
        target=f"installer:{row.id}",
        details={
            "company": company,
            "device_group_id": group_id,
            "max_installations": max_installations,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return IssuedInstaller(token, row, actor.user.name)


def _managed(actor: Actor, row: Installer) -> bool:
    """Whether the technician manages the devices this installer enrols (GOV-3): installers of
    groups outside his scope are absent from his list and unknown to him."""
    return actor.permissions.has_for_group(Permission.MANAGE_DEVICES, row.device_group_id)


async def listing(db: AsyncSession, actor: Actor) -> list[tuple[Installer, str]]:
    """The organisation's installers that the technician manages (scope: their Jump group),
    newest first, each with the name of who made it."""
    actor.require(Permission.MANAGE_DEVICES)
    rows = await db.execute(
        select(Installer, User.name)
        .outerjoin(User, User.id == Installer.created_by_id)
        .where(Installer.organisation_id == actor.organisation_id)
        .where(Installer.purpose == "installer")  # not the single-use ones (self_service.py)
        .order_by(Installer.id.desc())
    )
    return [(row, name or "") for row, name in rows.tuples() if _managed(actor, row)]


async def revoke(db: AsyncSession, actor: Actor, installer_id: int) -> tuple[Installer, str]:
    """Revoke an installer (devices it enrolled stay); returns it with who made it."""
    actor.require(Permission.MANAGE_DEVICES)
    row = await db.get(Installer, installer_id)
    if row is None or row.organisation_id != actor.organisation_id or not _managed(actor, row):
        raise NotFound("installer_not_found", f"No installer with id {installer_id}.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await audit.record(
            db,
            actor.who,
            "installer.revoked",
            target=f"installer:{row.id}",
            details={"company": row.company, "used": row.used},
        )
    creator = await db.get(User, row.created_by_id) if row.created_by_id else None
    return row, creator.name if creator else ""


async def usable(
    db: AsyncSession, token: str, ip: str, throttle: AttemptThrottle
) -> Installer | KeyRefusal:
    """Judge the token an agent presented. Unknown tokens count against the address like
    session keys (SEC-2), refused before the database is asked once over the limit."""
    await throttle.check(ip)
    row = (
        await db.execute(select(Installer).where(Installer.token_hash == token_hash(token)))
    ).scalar_one_or_none()
    if row is None:
        await throttle.count(ip)
        return UNKNOWN
    return _judge(row, utcnow()) or row


async def enrol(db: AsyncSession, installer_id: int, hello: Hello, ip: str) -> Device | KeyRefusal:
    """The agent proved its key pair: count the installation (exactly, whatever else enrols at
    the same moment) and make the permanent device in the installer's Jump group."""
    now = utcnow()
    counted = await db.execute(
        update(Installer)
        .where(
            Installer.id == installer_id,
            Installer.used < Installer.max_installations,
            Installer.revoked_at.is_(None),
            or_(Installer.expires_at.is_(None), Installer.expires_at > now),
        )
        .values(used=Installer.used + 1)
        .execution_options(synchronize_session=False)
    )
    row = await db.get(Installer, installer_id, populate_existing=True)
    if counted.rowcount != 1:  # type: ignore[attr-defined]
        return _judge(row, now) or CAP_REACHED
    assert row is not None
    device = Device(
        organisation_id=row.organisation_id,
        kind="unattended",
        public_key=hello.public_key,
        hostname=hello.device.hostname,
        os=hello.device.os,
        os_version=hello.device.os_version,
        username=hello.device.username,
        device_group_id=row.device_group_id,
        company=row.company,  # the device list shows and filters it (UNA-5)
        installer_id=row.id,
        last_seen_at=now,
    )
    # A single-use enrolment (self-service, an attended session's conversion) names the device
    # and may carry its jump password; kept where the device list and jumps read them.
    for column in ("nickname", "jump_password_hash"):
        if getattr(row, column) and hasattr(Device, column):
            setattr(device, column, getattr(row, column))
    db.add(device)
    await db.flush()
    await audit.record(
        db,
        Who(row.organisation_id, None, f"agent on {device.hostname}", ip),
        "installer.device_installed",
        target=f"device:{device.id}",
        details={"installer_id": row.id, "company": row.company, "hostname": device.hostname},
    )
    return device


@dataclass(frozen=True)
class Returning:
    """An installed device back with its id and the key pair it enrolled with; deleted, it is
    told to uninstall itself once it has proved the key (device_list.delete)."""

    device_id: int
    uninstall: bool


def _returning(row: Any, device_id: int, public_key: str) -> Returning | KeyRefusal:
    """Judge a device row (id, kind, public key, removed, uninstall requested) or None."""
    if row is None or not secrets.compare_digest(row.public_key, public_key):
        return DEVICE_UNKNOWN
    if row.removed_at is not None:
        due = row.uninstall_requested_at is not None  # as device_list.uninstall_due judges
        return Returning(device_id, uninstall=True) if due else DEVICE_UNKNOWN
    if row.kind != "unattended":
        return DEVICE_UNKNOWN
    return Returning(device_id, uninstall=False)


_RETURNING_COLUMNS = (
    Device.id,
    Device.kind,
    Device.public_key,
    Device.removed_at,
    Device.uninstall_requested_at,
)


async def returning_devices(
    db: AsyncConnection, hellos: list[tuple[int, str]]
) -> list[Returning | KeyRefusal]:
    """Installed devices coming back with their ids: each one's key pair proves it is the same
    device (a deleted one is told to uninstall itself). Many hellos at once (10,000 agents
    coming back after a restart): one plain SELECT of a few columns per 500 of them, no ORM
    objects, on a connection in a reading transaction (server/presence.ReturningDevices). That
    they are online again is written by the device list's link_started, batched
    (server/presence.DeviceLinks)."""
    rows: dict[int, Any] = {}
    ids = sorted({device_id for device_id, _ in hellos})
    for first in range(0, len(ids), 500):
        chunk = ids[first : first + 500]
        found = await db.execute(select(*_RETURNING_COLUMNS).where(Device.id.in_(chunk)))
        rows.update((row.id, row) for row in found)
    return [_returning(rows.get(device_id), device_id, key) for device_id, key in hellos]
