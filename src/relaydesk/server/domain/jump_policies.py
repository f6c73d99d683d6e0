"""Jump policies (UNA-6, issue 13 items 6 and 7): what happens on a device when a technician jumps
to it — ask the logged-in user or not, what to do when nobody answers, and the weekly windows in
which jumps are allowed. A policy belongs to a Jump group (a device group) or to one device; a
device's own policy wins over its group's; without either, jumps need no prompt at any time.
Editing policies needs the permission "Manage devices" on what they apply to (GOV-3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import Device, DeviceGroup, JumpPolicy, utcnow
from relaydesk.server.domain import audit, schedules
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.errors import Invalid, NotFound
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.schedules import Schedule

Prompt = Literal["none", "ask"]
NobodyAnswers = Literal["deny", "allow"]
Source = Literal["device", "group", "default"]
MIN_ANSWER_SECONDS = 5
MAX_ANSWER_SECONDS = 600


@dataclass(frozen=True)
class PolicyInput:
    prompt: str
    when_nobody_answers: str
    answer_seconds: int
    schedule_timezone: str
    schedule_windows: list[dict[str, Any]]


@dataclass(frozen=True)
class Effective:
    """The policy that applies to a device now, and where it comes from."""

    prompt: Prompt
    when_nobody_answers: NobodyAnswers
    answer_seconds: int
    schedule: Schedule | None
    source: Source
    policy: JumpPolicy | None


DEFAULT = Effective("none", "deny", 30, None, "default", None)


def effective_of(policy: JumpPolicy | None, source: Source) -> Effective:
    if policy is None:
        return DEFAULT
    return Effective(
        prompt="ask" if policy.prompt == "ask" else "none",
        when_nobody_answers="allow" if policy.when_nobody_answers == "allow" else "deny",
        answer_seconds=policy.answer_seconds,
        schedule=schedules.parse(policy.schedule_timezone, policy.schedule_windows),
        source=source,
        policy=policy,
    )


async def effective(db: AsyncSession, device: Device) -> Effective:
    """The device's own policy, else its Jump group's, else none (no prompt, any time)."""
    rows = await db.execute(
        select(JumpPolicy).where(
            JumpPolicy.organisation_id == device.organisation_id,
            or_(
                JumpPolicy.device_id == device.id,
                JumpPolicy.device_group_id == device.device_group_id
                if device.device_group_id is not None
                else JumpPolicy.id.is_(None),
            ),
        )
    )
    found = list(rows.scalars())
    own = next((p for p in found if p.device_id == device.id), None)
    if own is not None:
        return effective_of(own, "device")
    group = next((p for p in found if p.device_group_id is not None), None)
    return effective_of(group, "group")


def validated(body: PolicyInput) -> PolicyInput:
    if body.prompt not in ("none", "ask"):
        raise Invalid("invalid_prompt", "The prompt is 'none' or 'ask'.", field="prompt")
    if body.when_nobody_answers not in ("deny", "allow"):
        raise Invalid(
            "invalid_when_nobody_answers",
            "When nobody answers, the jump is 'deny'-ed or 'allow'-ed.",
            field="when_nobody_answers",
        )
    if not MIN_ANSWER_SECONDS <= body.answer_seconds <= MAX_ANSWER_SECONDS:
        raise Invalid(
            "invalid_answer_seconds",
            f"The user gets between {MIN_ANSWER_SECONDS} and {MAX_ANSWER_SECONDS} seconds "
            "to answer.",
            field="answer_seconds",
        )
    timezone = body.schedule_timezone.strip()
    if body.schedule_windows or timezone:
        schedules.zone_of(timezone)
    schedules.parse(timezone, body.schedule_windows)
    return PolicyInput(
        body.prompt,
        body.when_nobody_answers,
        body.answer_seconds,
        timezone,
        schedules.normalised(body.schedule_windows),
    )


def _details(policy: JumpPolicy) -> dict[str, Any]:
    return {
        "prompt": policy.prompt,
        "when_nobody_answers": policy.when_nobody_answers,
        "answer_seconds": policy.answer_seconds,
        "schedule_timezone": policy.schedule_timezone,
        "schedule_windows": policy.schedule_windows,
    }


def _apply(policy: JumpPolicy, body: PolicyInput) -> None:
    policy.prompt = body.prompt
    policy.when_nobody_answers = body.when_nobody_answers
    policy.answer_seconds = body.answer_seconds
    policy.schedule_timezone = body.schedule_timezone
    policy.schedule_windows = body.schedule_windows
    policy.updated_at = utcnow()


async def _group_in_reach(db: AsyncSession, actor: Actor, group_id: int) -> DeviceGroup:
    actor.require(Permission.MANAGE_DEVICES)
    group = await db.get(DeviceGroup, group_id)
    if (
        group is None
        or group.organisation_id != actor.organisation_id
        or not actor.permissions.has_for_group(Permission.MANAGE_DEVICES, group.id)
    ):
        raise NotFound("device_group_not_found", f"No Jump group with id {group_id}.")
    return group


async def _device_in_reach(db: AsyncSession, actor: Actor, device_id: int) -> Device:
    from relaydesk.server.domain.devices import get_visible

    actor.require(Permission.MANAGE_DEVICES)
    device = await get_visible(db, actor, device_id)
    actor.require_on(Permission.MANAGE_DEVICES, device)
    return device


async def list_policies(db: AsyncSession, actor: Actor) -> list[JumpPolicy]:
    """The organisation's policies that the administrator may edit (Jump groups and devices in
    his scope)."""
    actor.require(Permission.MANAGE_DEVICES)
    rows = await db.execute(
        select(JumpPolicy, Device.device_group_id)
        .outerjoin(Device, Device.id == JumpPolicy.device_id)
        .where(JumpPolicy.organisation_id == actor.organisation_id)
        .order_by(JumpPolicy.id)
    )
    result = []
    for policy, device_group in rows.all():
        group = policy.device_group_id if policy.device_id is None else device_group
        if actor.permissions.has_for_group(Permission.MANAGE_DEVICES, group):
            result.append(policy)
    return result


async def set_for_group(
    db: AsyncSession, actor: Actor, group_id: int, body: PolicyInput
) -> JumpPolicy:
    group = await _group_in_reach(db, actor, group_id)
    return await _save(db, actor, _of_group(group), body)


async def set_for_device(
    db: AsyncSession, actor: Actor, device_id: int, body: PolicyInput
) -> JumpPolicy:
    device = await _device_in_reach(db, actor, device_id)
    return await _save(db, actor, _of_device(device), body)


async def remove_for_group(db: AsyncSession, actor: Actor, group_id: int) -> None:
    group = await _group_in_reach(db, actor, group_id)
    await _remove(db, actor, _of_group(group), "This Jump group has no policy of its own.")


async def remove_for_device(db: AsyncSession, actor: Actor, device_id: int) -> None:
    device = await _device_in_reach(db, actor, device_id)
    await _remove(db, actor, _of_device(device), "This device has no policy of its own.")


@dataclass(frozen=True)
class _Owner:
    """Whose policy it is, a Jump group's or a device's: its column in jump_policies, the audit
    entry's target and the name the entry shows."""

    column: dict[str, int]
    target: str
    named: dict[str, str]


def _of_group(group: DeviceGroup) -> _Owner:
    return _Owner({"device_group_id": group.id}, f"device_group:{group.id}", {"group": group.name})


def _of_device(device: Device) -> _Owner:
    return _Owner({"device_id": device.id}, f"device:{device.id}", {"device": device.hostname})


async def _own_policy(db: AsyncSession, owner: _Owner) -> JumpPolicy | None:
    return (await db.execute(select(JumpPolicy).filter_by(**owner.column))).scalar_one_or_none()


async def _save(db: AsyncSession, actor: Actor, owner: _Owner, body: PolicyInput) -> JumpPolicy:
    clean = validated(body)
    policy = await _own_policy(db, owner)
    if policy is None:
        policy = JumpPolicy(organisation_id=actor.organisation_id, **owner.column)
        db.add(policy)
    _apply(policy, clean)
    await db.flush()
    await audit.record(
        db,
        actor.who,
        "jump_policy.saved",
        target=owner.target,
        details={**owner.named, **_details(policy)},
    )
    return policy


async def _remove(db: AsyncSession, actor: Actor, owner: _Owner, missing: str) -> None:
    policy = await _own_policy(db, owner)
    if policy is None:
        raise NotFound("jump_policy_not_found", missing)
    await db.delete(policy)
    await audit.record(
        db, actor.who, "jump_policy.removed", target=owner.target, details=owner.named
    )
