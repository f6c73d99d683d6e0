"""The device list (UNA-5): the installed and attended computers a technician may reach, searched
and filtered on the server one page at a time, their details and inventory, the help desk's
names and notes for them (nickname, comments, tags), moves between Jump groups (device groups),
the frequently used list, and deletion, which uninstalls an installed agent remotely.

Listing follows the queue's rules (issue 13): a page costs the same few statements whatever the
number of devices (the count, the page, the page's tags), and it runs in a reading transaction
(Runtime.reading), so that it never holds SQLite's write lock. Scope (GOV-3): a device outside
the technician's scope is absent from every list and answers device_not_found.

Online means that the device's agent holds a control channel now: `online_since` is set when a
link is welcomed and cleared, with `last_seen_at`, when its last link ends (agents.py); the list
filters on it in SQL. A process that starts holds no link, so it clears what a previous run left
(`no_agent_connected`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.events import DeviceChanged, DeviceOnline
from relaydesk.protocol.messages import Hello, SysinfoRequest, Uninstall
from relaydesk.server.auth.rbac import PermissionSet
from relaydesk.server.db.models import (
    Device,
    DeviceGroup,
    DeviceTag,
    DeviceUse,
    utcnow,
)
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.errors import Conflict, Forbidden, Invalid, NotFound
from relaydesk.server.domain.notifications import announce, device_topic, org_topic
from relaydesk.server.domain.permissions import PERMISSION_LABELS, Permission
from relaydesk.server.domain.presence import Presence

DEVICE_PAGE = 50
MAX_PAGE = 200
FREQUENT = 10
NICKNAME_LENGTH = 100
COMMENTS_LENGTH = 1000
TAG_LENGTH = 50
MAX_TAGS = 20
KINDS = ("temporary", "adhoc", "unattended")
# The system reports the device list asks for; others are a session's (support_sessions).
INVENTORY_REQUEST = "inventory-"
UNINSTALL_REASON = "This computer was deleted from the device list."


@dataclass(frozen=True)
class DeviceFilter:
    """What the technician searched for: `q` in hostname, nickname, comments, tags, public and
    private addresses (case-insensitive, anywhere in them); the others exactly."""

    q: str = ""
    company: str | None = None
    device_group_id: int | None = None
    online: bool | None = None
    kind: str | None = None


@dataclass
class DeviceRow:
    device: Device
    group_name: str | None
    tags: list[str] = field(default_factory=list)
    uses: int = 0


@dataclass(frozen=True)
class DevicePage:
    rows: list[DeviceRow]
    total: int
    limit: int
    offset: int


# --- reading --------------------------------------------------------------------------------
def in_scope(permissions: PermissionSet) -> ColumnElement[bool]:
    """PermissionSet.reaches for a device, as SQL (GOV-3): a device without a group only for
    all-devices assignments."""
    if permissions.reaches_every_group():
        return true()
    return or_(
        Device.device_group_id.in_(sorted(permissions.groups_reached())),
        Device.id.in_(sorted(permissions.ad_hoc_devices)),
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching(q: str) -> ColumnElement[bool]:
    """The search box: anywhere in hostname, nickname, comments and addresses (one lower-cased
    column, Device.search_text), or in a tag."""
    pattern = _like(q.lower())
    tagged = select(DeviceTag.device_id).where(DeviceTag.tag.ilike(pattern, escape="\\"))
    return or_(Device.search_text.like(pattern, escape="\\"), Device.id.in_(tagged))


def _conditions(actor: Actor, where: DeviceFilter) -> list[ColumnElement[bool]]:
    conditions = [
        Device.organisation_id == actor.organisation_id,
        Device.removed_at.is_(None),
        in_scope(actor.permissions),
    ]
    q = " ".join(where.q.split())
    if q:
        conditions.append(_matching(q[:200]))
    if where.company is not None:
        conditions.append(func.lower(Device.company) == where.company.strip().lower())
    if where.device_group_id is not None:
        conditions.append(Device.device_group_id == where.device_group_id)
    if where.online is not None:
        conditions.append(
            Device.online_since.is_not(None) if where.online else Device.online_since.is_(None)
        )
    if where.kind is not None:
        if where.kind not in KINDS:
            raise Invalid(
                "invalid_device_kind",
                f"The kind must be one of {', '.join(KINDS)}.",
                field="kind",
            )
        conditions.append(Device.kind == where.kind)
    return conditions


def _with_group() -> Select[Device, str]:
    return select(Device, DeviceGroup.name).outerjoin(
        DeviceGroup, DeviceGroup.id == Device.device_group_id
    )


async def _tags_of(db: AsyncSession, rows: list[DeviceRow]) -> list[DeviceRow]:
    """The rows' tags, in one statement for the whole page."""
    if not rows:
        return rows
    found = await db.execute(
        select(DeviceTag.device_id, DeviceTag.tag)
        .where(DeviceTag.device_id.in_([r.device.id for r in rows]))
        .order_by(DeviceTag.device_id, func.lower(DeviceTag.tag))
    )
    by_device: dict[int, list[str]] = {}
    for device_id, tag in found.tuples():
        by_device.setdefault(device_id, []).append(tag)
    for row in rows:
        row.tags = by_device.get(row.device.id, [])
    return rows


async def listing(
    db: AsyncSession,
    actor: Actor,
    where: DeviceFilter,
    limit: int = DEVICE_PAGE,
    offset: int = 0,
) -> DevicePage:
    """A page of the devices in the technician's scope that match, in hostname order (then id:
    the order is the same every time), with how many match in all: three statements."""
    conditions = _conditions(actor, where)
    total = await db.scalar(select(func.count()).select_from(Device).where(*conditions))
    found = await db.execute(
        _with_group()
        .where(*conditions)
        .order_by(Device.hostname, Device.id)
        .limit(min(limit, MAX_PAGE))
        .offset(offset)
    )
    rows = [DeviceRow(device, name) for device, name in found.tuples()]
    return DevicePage(await _tags_of(db, rows), total or 0, limit, offset)


async def details(db: AsyncSession, actor: Actor, device_id: int) -> DeviceRow:
    """One device of the list (not a deleted one) with its group's name and tags."""
    found = (
        await db.execute(
            _with_group().where(
                Device.id == device_id,
                Device.organisation_id == actor.organisation_id,
                Device.removed_at.is_(None),
            )
        )
    ).first()
    if found is None or not actor.permissions.reaches(found[0].device_group_id, found[0].id):
        raise NotFound("device_not_found", f"No device with id {device_id}.")
    return (await _tags_of(db, [DeviceRow(found[0], found[1])]))[0]


async def companies(db: AsyncSession, actor: Actor) -> list[str]:
    """The customer companies of the devices the technician may reach (for the filter)."""
    found = await db.execute(
        select(Device.company)
        .where(
            Device.organisation_id == actor.organisation_id,
            Device.removed_at.is_(None),
            Device.company != "",
            in_scope(actor.permissions),
        )
        .distinct()
        .order_by(Device.company)
    )
    return list(found.scalars())


async def frequent(db: AsyncSession, actor: Actor, limit: int = FREQUENT) -> list[DeviceRow]:
    """The devices this technician used most (opened, jumped to), most used first; devices since
    deleted or now outside his scope are left out."""
    found = await db.execute(
        select(Device, DeviceGroup.name, DeviceUse.uses)
        .join(DeviceUse, DeviceUse.device_id == Device.id)
        .outerjoin(DeviceGroup, DeviceGroup.id == Device.device_group_id)
        .where(
            DeviceUse.user_id == actor.user.id,
            Device.organisation_id == actor.organisation_id,
            Device.removed_at.is_(None),
            in_scope(actor.permissions),
        )
        .order_by(DeviceUse.uses.desc(), DeviceUse.last_used_at.desc(), Device.id)
        .limit(limit)
    )
    rows = [DeviceRow(device, name, uses=uses) for device, name, uses in found.tuples()]
    return await _tags_of(db, rows)


async def record_use(db: AsyncSession, user_id: int, device_id: int) -> None:
    """One more use of the device by this technician (the frequently used list): when he opens
    its details or jumps to it. One statement, whoever else counts at the same moment."""
    now = utcnow()
    values = {"user_id": user_id, "device_id": device_id, "uses": 1, "last_used_at": now}
    dialect = db.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(DeviceUse).values(**values)
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[DeviceUse.user_id, DeviceUse.device_id],
            set_={"uses": DeviceUse.uses + 1, "last_used_at": now},
        )
    )


# --- changing -------------------------------------------------------------------------------
def _require_managing(actor: Actor, device: Device) -> None:
    actor.require(Permission.MANAGE_DEVICES)
    if not actor.may(Permission.MANAGE_DEVICES, device):
        raise Forbidden(
            "permission_denied",
            f"Your permission '{PERMISSION_LABELS[Permission.MANAGE_DEVICES]}' does not extend "
            "to this device's group.",
            permission=Permission.MANAGE_DEVICES.value,
        )


def _single_line(text: str, name: str, what: str, limit: int, field: str = "") -> str:
    field = field or name
    if any(ord(c) < 32 or ord(c) == 127 for c in text.replace("\t", " ")):
        raise Invalid(f"invalid_{name}", f"The {what} must be a single line of text.", field=field)
    cleaned = " ".join(text.split())
    if len(cleaned) > limit:
        raise Invalid(
            f"{name}_too_long", f"The {what} can be at most {limit} characters.", field=field
        )
    return cleaned


def clean_comments(text: str) -> str:
    cleaned = "\n".join(line.rstrip() for line in text.strip().replace("\r\n", "\n").split("\n"))
    if any((ord(c) < 32 and c not in "\n\t") or ord(c) == 127 for c in cleaned):
        raise Invalid(
            "invalid_comments", "The comments may not hold control characters.", field="comments"
        )
    if len(cleaned) > COMMENTS_LENGTH:
        raise Invalid(
            "comments_too_long",
            f"The comments can be at most {COMMENTS_LENGTH} characters.",
            field="comments",
        )
    return cleaned


def clean_tags(tags: list[str]) -> list[str]:
    """Tags as written, without blanks and without a second copy differing only in case."""
    kept: list[str] = []
    for tag in tags:
        cleaned = _single_line(tag, "tag", "tag", TAG_LENGTH, field="tags")
        if cleaned and cleaned.lower() not in (t.lower() for t in kept):
            kept.append(cleaned)
    if len(kept) > MAX_TAGS:
        raise Invalid("too_many_tags", f"A device can have at most {MAX_TAGS} tags.", field="tags")
    return kept


async def _target_group(db: AsyncSession, actor: Actor, group_id: int | None) -> DeviceGroup | None:
    """The group a device moves to: it must exist, and the mover must manage devices there."""
    group = None
    if group_id is not None:
        group = await db.get(DeviceGroup, group_id)
        if group is None or group.organisation_id != actor.organisation_id:
            raise NotFound(
                "device_group_not_found",
                f"No device group with id {group_id}.",
                field="device_group_id",
            )
    if not actor.permissions.has_for_group(Permission.MANAGE_DEVICES, group_id):
        raise Forbidden(
            "device_group_out_of_scope",
            "You may not manage devices in "
            + (f"the device group '{group.name}'" if group else "no device group")
            + ": choose a group your roles reach.",
            field="device_group_id",
        )
    return group


async def edit(
    db: AsyncSession, actor: Actor, device_id: int, changes: dict[str, Any]
) -> DeviceRow:
    """Rename, comment, tag or move a device (manage devices, on its group and, for a move, on
    the new one); audited with what changed, announced to the consoles."""
    row = await details(db, actor, device_id)
    device = row.device
    _require_managing(actor, device)
    diff: dict[str, Any] = {}
    if "nickname" in changes:
        nickname = _single_line(changes["nickname"] or "", "nickname", "nickname", NICKNAME_LENGTH)
        if nickname != device.nickname:
            diff["nickname"] = {"from": device.nickname, "to": nickname}
            device.nickname = nickname
    if "comments" in changes:
        comments = clean_comments(changes["comments"] or "")
        if comments != device.comments:
            diff["comments"] = {"from": device.comments, "to": comments}
            device.comments = comments
    if "tags" in changes:
        tags = sorted(clean_tags(changes["tags"] or []), key=str.lower)
        if tags != row.tags:
            diff["tags"] = {"from": row.tags, "to": tags}
            for old in row.tags:
                await db.delete(await db.get(DeviceTag, (device.id, old)))
            await db.flush()
            db.add_all(DeviceTag(device_id=device.id, tag=tag) for tag in tags)
            row.tags = tags
    previous_group = device.device_group_id
    if "device_group_id" in changes and changes["device_group_id"] != previous_group:
        group = await _target_group(db, actor, changes["device_group_id"])
        device.device_group_id = group.id if group else None
        row.group_name = group.name if group else None
        await audit.record(
            db,
            actor.who,
            "device.moved",
            target=f"device:{device.id}",
            details={
                "hostname": device.hostname,
                "from_group_id": previous_group,
                "to_group_id": device.device_group_id,
                "to_group": row.group_name,
            },
        )
    if diff:
        await audit.record(
            db,
            actor.who,
            "device.edited",
            target=f"device:{device.id}",
            details={"hostname": device.hostname, **diff},
        )
    await db.flush()
    moved = device.device_group_id != previous_group
    if diff or moved:
        announce(
            db,
            org_topic(device.organisation_id),
            DeviceChanged(
                device_id=device.id,
                change="moved" if moved else "edited",
                device_group_id=device.device_group_id,
                previous_group_id=previous_group if moved else None,
            ),
        )
    return row


async def request_inventory(
    db: AsyncSession, actor: Actor, device_id: int, devices_online: Presence
) -> str:
    """Ask the device's agent for a system report; it is kept as the inventory when it arrives
    (inventory_arrived) and the consoles hear device.changed. Only a connected agent can
    answer: an offline device is refused with device_offline."""
    row = await details(db, actor, device_id)
    device = row.device
    if not (
        actor.may(Permission.MANAGE_DEVICES, device)
        or actor.may(Permission.UNATTENDED_ACCESS, device)
    ):
        raise Forbidden(
            "permission_denied",
            "You need the permission 'Manage devices' or 'Unattended access' on this device's "
            "group to refresh its inventory.",
            permission=Permission.MANAGE_DEVICES.value,
        )
    if not devices_online.is_online(device.id):
        raise Conflict(
            "device_offline",
            f"{device.nickname or device.hostname} is offline: its inventory can be refreshed "
            "when its agent is connected again.",
        )
    request_id = INVENTORY_REQUEST + secrets.token_hex(8)
    await audit.record(
        db,
        actor.who,
        "device.inventory_requested",
        target=f"device:{device.id}",
        details={"hostname": device.hostname},
    )
    announce(
        db, device_topic(device.id), SysinfoRequest(type="sysinfo_request", request_id=request_id)
    )
    return request_id


def _text(value: Any, limit: int = 200) -> str:
    return str(value)[:limit] if isinstance(value, str | int | float) else ""


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _part(info: dict[str, Any], key: str) -> dict[str, Any]:
    part = info.get(key)
    return part if isinstance(part, dict) else {}


def inventory_of(info: dict[str, Any]) -> dict[str, Any]:
    """What the device list keeps of a system report (the agent's, so checked field by field):
    the operating system, processor, memory and disks."""
    system = _part(info, "os")
    cpu = _part(info, "cpu")
    memory = _part(info, "memory")
    disks = info.get("disks")
    if not isinstance(disks, list):
        disks = []
    return {
        "hostname": _text(info.get("hostname")),
        "os": {
            "name": _text(system.get("name")),
            "version": _text(system.get("version")),
            "release": _text(system.get("release")),
            "architecture": _text(system.get("architecture")),
        },
        "cpu": {
            "model": _text(cpu.get("model")),
            "physical_cores": _number(cpu.get("physical_cores")),
            "logical_cores": _number(cpu.get("logical_cores")),
        },
        "memory": {
            "total_bytes": _number(memory.get("total_bytes")),
            "available_bytes": _number(memory.get("available_bytes")),
        },
        "disks": [
            {
                "mountpoint": _text(disk.get("mountpoint"), 500),
                "filesystem": _text(disk.get("filesystem")),
                "total_bytes": _number(disk.get("total_bytes")),
                "free_bytes": _number(disk.get("free_bytes")),
            }
            for disk in disks[:32]
            if isinstance(disk, dict)
        ],
        "uptime_seconds": _number(info.get("uptime_seconds")),
    }


async def inventory_arrived(db: AsyncSession, device_id: int, info: dict[str, Any]) -> None:
    """A system report of the device arrived (asked by the list or in a session): keep its
    summary as the device's inventory, with when it was taken."""
    device = await db.get(Device, device_id)
    if device is None or device.removed_at is not None:
        return
    device.inventory = inventory_of(info)
    device.inventory_at = utcnow()
    announce(
        db,
        org_topic(device.organisation_id),
        DeviceChanged(
            device_id=device.id, change="inventory", device_group_id=device.device_group_id
        ),
    )


async def delete(db: AsyncSession, actor: Actor, device_id: int, devices_online: Presence) -> bool:
    """Delete an installed device (manage devices on its group): it leaves every list, its
    credentials are refused from now on, and its agent is told to uninstall itself: now when it
    is connected, else at its next hello (uninstall_requested_at). Returns whether it was
    connected."""
    row = await details(db, actor, device_id)
    device = row.device
    _require_managing(actor, device)
    if device.kind != "unattended":
        raise Conflict(
            "device_not_installed",
            "Only installed devices can be deleted: a temporary one goes away when its session "
            "ends.",
        )
    online = devices_online.is_online(device.id)
    device.removed_at = device.uninstall_requested_at = utcnow()
    await audit.record(
        db,
        actor.who,
        "device.deleted",
        target=f"device:{device.id}",
        details={
            "hostname": device.hostname,
            "nickname": device.nickname,
            "company": device.company,
            "uninstall": "sent now" if online else "at its next connection",
        },
    )
    announce(db, device_topic(device.id), Uninstall(type="uninstall", reason=UNINSTALL_REASON))
    announce(
        db,
        org_topic(device.organisation_id),
        DeviceChanged(
            device_id=device.id, change="removed", device_group_id=device.device_group_id
        ),
    )
    return online


# --- the agent's links ----------------------------------------------------------------------
async def uninstall_due(db: AsyncSession, device_id: int, public_key: str) -> bool:
    """Whether an installed agent saying hello with this id is a deleted device that must
    uninstall itself (it still proves its key pair before it is told, and is never welcomed)."""
    device = await db.get(Device, device_id)
    return (
        device is not None
        and device.removed_at is not None
        and device.uninstall_requested_at is not None
        and secrets.compare_digest(device.public_key, public_key)
    )


async def uninstall_told(db: AsyncSession, device_id: int, ip: str, *, at_hello: bool) -> None:
    device = await db.get(Device, device_id)
    if device is None:
        return
    await audit.record(
        db,
        Who(device.organisation_id, None, f"agent on {device.hostname}", ip),
        "device.uninstall_sent",
        target=f"device:{device.id}",
        details={
            "hostname": device.hostname,
            "when": "at its hello after the deletion" if at_hello else "while connected",
        },
    )


UNINSTALLED_REASONS = {
    "on_device": "uninstalled on the device",
    "deleted": "deleted from the device list",
}
UNINSTALL_NOTED = "This computer is removed from the device list."


async def uninstalled(db: AsyncSession, device_id: int, ip: str, reason: str) -> None:
    """An installed agent says it is going away (Uninstalled): removed on the device by an
    administrator (`relaydesk-agent uninstall`), or done obeying the server's `uninstall`. The
    device leaves every list as a deletion from the console makes it (its credential is refused
    from now on: it has no key left to come back with), the consoles hear it, and the audit log
    has `device.uninstalled`, by the device."""
    device = await db.get(Device, device_id)
    if device is None:
        return
    if device.removed_at is None:
        device.removed_at = utcnow()
        announce(
            db,
            org_topic(device.organisation_id),
            DeviceChanged(
                device_id=device.id, change="removed", device_group_id=device.device_group_id
            ),
        )
    await audit.record(
        db,
        Who(device.organisation_id, None, f"agent on {device.hostname}", ip),
        "device.uninstalled",
        target=f"device:{device.id}",
        details={
            "hostname": device.hostname,
            "nickname": device.nickname,
            "company": device.company,
            "reason": UNINSTALLED_REASONS.get(reason, reason),
        },
    )


async def link_started(db: AsyncSession, device_id: int, hello: Hello, ip: str) -> None:
    """An agent's link was welcomed: the device is online (since now, unless another link
    already was), and what it said of itself and where it connects from are kept."""
    device = await db.get(Device, device_id)
    if device is None:
        return
    now = utcnow()
    device.last_seen_at = now
    device.public_ip = ip[:64]
    device.private_ips = " ".join(hello.device.private_ips)[:1100]
    device.agent_version = hello.agent_version[:100]
    if device.online_since is None:
        device.online_since = now
        announce(
            db,
            org_topic(device.organisation_id),
            DeviceOnline(
                device_id=device.id, online=True, at=now, device_group_id=device.device_group_id
            ),
        )


async def link_ended(db: AsyncSession, device_id: int) -> None:
    """The device's last link ended: offline, last seen now."""
    now = utcnow()
    device = await db.get(Device, device_id)
    if device is None:
        return
    device.last_seen_at = now
    if device.online_since is not None:
        device.online_since = None
        announce(
            db,
            org_topic(device.organisation_id),
            DeviceOnline(
                device_id=device.id, online=False, at=now, device_group_id=device.device_group_id
            ),
        )


async def no_agent_connected(db: AsyncSession) -> None:
    """At start no agent holds a link to this process: devices a previous run left online
    (a crash, a kill) are offline, last seen when that run last knew them."""
    await db.execute(
        update(Device)
        .where(Device.online_since.is_not(None))
        .values(online_since=None)
        .execution_options(synchronize_session=False)
    )
