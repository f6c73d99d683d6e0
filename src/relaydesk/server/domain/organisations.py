"""Organisations and their settings (GOV-1, GOV-4)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.events import ChatSwitch, SessionState
from relaydesk.protocol.states import SessionStatus
from relaydesk.server.db.models import Organisation, Portal, Role, SupportSession
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.errors import Forbidden, Invalid, NotFound
from relaydesk.server.domain.notifications import announce, org_topic, session_topic
from relaydesk.server.domain.permissions import BUILTIN_ROLES, Permission
from relaydesk.server.domain.portal import unguessable_slug

SETTING_FIELDS = (
    "name",
    "remote_support_enabled",
    "allow_unmanaged_devices",
    "chat_disabled",
    "adhoc_limit_per_user",
    "adhoc_limit_per_organisation",
    "access_password_min_length",
    "recording_enabled",
    "retention_days",
    "console_ip_ranges",
    "mfa_required",
    "unattended_access_enabled",
    "device_seats",
)


async def create_organisation(
    db: AsyncSession, name: str, *, remote_support_enabled: bool = False
) -> Organisation:
    organisation = Organisation(
        name=name, remote_support_enabled=remote_support_enabled, console_ip_ranges=[]
    )
    db.add(organisation)
    await db.flush()
    for key, (role_name, description, permissions) in BUILTIN_ROLES.items():
        db.add(
            Role(
                organisation_id=organisation.id,
                name=role_name,
                description=description,
                permissions=[p.value for p in permissions],
                allowed_paths=[],
                builtin=key,
            )
        )
    db.add(
        Portal(
            organisation_id=organisation.id,
            name="Support portal",
            slug=unguessable_slug(),
            is_default=True,
        )
    )
    await audit.record(db, Who.system(organisation.id), "organisation.created", target=name)
    await db.flush()
    return organisation


async def get_organisation(db: AsyncSession, organisation_id: int) -> Organisation:
    organisation = await db.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation_not_found", "This organisation does not exist.")
    return organisation


def normalise_ip_ranges(ranges: list[str]) -> list[str]:
    result = []
    for raw in ranges:
        text = raw.strip()
        if not text:
            continue
        try:
            result.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise Invalid(
                "invalid_ip_range",
                f"'{text}' is not an IP address or range "
                "(write e.g. 192.0.2.0/24 or 2001:db8::/32).",
                field="console_ip_ranges",
            ) from None
    return result


def ip_allowed(ranges: list[str], ip: str) -> bool:
    if not ranges:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(r) for r in ranges)


def check_console_address(organisation: Organisation, ip: str) -> None:
    if not ip_allowed(organisation.console_ip_ranges, ip):
        raise Forbidden(
            "ip_not_allowed",
            f"Your organisation does not allow console access from your address ({ip}).",
        )


async def check_console_address_of(db: AsyncSession, organisation_id: int, ip: str) -> None:
    check_console_address(await get_organisation(db, organisation_id), ip)


@dataclass(frozen=True)
class Bounds:
    low: int
    high: int
    label: str


INTEGER_BOUNDS = {
    "adhoc_limit_per_user": Bounds(0, 100, "Ad hoc sessions per user"),
    "adhoc_limit_per_organisation": Bounds(0, 100_000, "Ad hoc sessions per organisation"),
    "access_password_min_length": Bounds(8, 128, "Minimum access password length"),
    "retention_days": Bounds(1, 3650, "Retention (days)"),
    "device_seats": Bounds(0, 1_000_000, "Device seats"),
}


async def update_settings(db: AsyncSession, actor: Actor, changes: dict[str, Any]) -> Organisation:
    actor.require(Permission.ADMINISTER)
    organisation = await get_organisation(db, actor.organisation_id)
    unknown = set(changes) - set(SETTING_FIELDS)
    if unknown:
        raise Invalid("unknown_setting", f"Unknown setting: {', '.join(sorted(unknown))}.")
    for key, bounds in INTEGER_BOUNDS.items():
        if key in changes and not bounds.low <= changes[key] <= bounds.high:
            raise Invalid(
                "setting_out_of_range",
                f"{bounds.label} must be between {bounds.low} and {bounds.high}.",
                field=key,
            )
    if changes.get("device_seats") == 0:
        changes["device_seats"] = None  # the licence's count of devices: 0 is unlimited
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise Invalid("name_required", "The organisation needs a name.", field="name")
    if "console_ip_ranges" in changes:
        changes["console_ip_ranges"] = normalise_ip_ranges(changes["console_ip_ranges"])
        if not ip_allowed(changes["console_ip_ranges"], actor.ip):
            raise Invalid(
                "ip_ranges_exclude_you",
                f"These ranges do not include your own address ({actor.ip}); saving them would "
                "lock you out of the console.",
                field="console_ip_ranges",
            )
    if changes.get("adhoc_limit_per_user", organisation.adhoc_limit_per_user) > changes.get(
        "adhoc_limit_per_organisation", organisation.adhoc_limit_per_organisation
    ):
        raise Invalid(
            "adhoc_limits_inconsistent",
            "The per-user ad hoc limit cannot exceed the organisation's limit.",
            field="adhoc_limit_per_user",
        )
    diff = {
        key: {"from": getattr(organisation, key), "to": value}
        for key, value in changes.items()
        if getattr(organisation, key) != value
    }
    for key, value in changes.items():
        setattr(organisation, key, value)
    if diff:
        await audit.record(db, actor.who, "settings.changed", target="organisation", details=diff)
    if "chat_disabled" in diff:
        await _announce_chat_switch(db, organisation)
    return organisation


async def _announce_chat_switch(db: AsyncSession, organisation: Organisation) -> None:
    """Chat turned off or on (TOOL-6): the consoles and the customers' pages of the sessions
    still open show or hide their chat at once."""
    enabled = not organisation.chat_disabled
    announce(db, org_topic(organisation.id), ChatSwitch(enabled=enabled))
    open_sessions = await db.execute(
        select(SupportSession.id).where(
            SupportSession.organisation_id == organisation.id,
            SupportSession.status != SessionStatus.ENDED,
        )
    )
    for session_id in open_sessions.scalars():
        announce(db, session_topic(session_id), SessionState())


async def all_organisations(db: AsyncSession) -> list[Organisation]:
    return list((await db.execute(select(Organisation).order_by(Organisation.id))).scalars())
