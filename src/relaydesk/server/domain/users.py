"""The organisation's users and their role assignments (GOV-2, GOV-3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.auth import passwords
from relaydesk.server.db.models import (
    DeviceGroup,
    Role,
    RoleAssignment,
    TeamMember,
    User,
)
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor, SystemActor
from relaydesk.server.domain.credentials import check_account_password
from relaydesk.server.domain.errors import Conflict, Invalid, NotFound
from relaydesk.server.domain.live_sockets import Because
from relaydesk.server.domain.ownership import get_owned
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.profiles import check_language, check_picture, check_verified_domain
from relaydesk.server.domain.sign_outs import close_sockets_of_rights_change, end_sign_ins


@dataclass(frozen=True)
class NewUser:
    email: str
    name: str
    title: str = ""
    company: str = ""
    verified_domain: str = ""
    picture: str | None = None
    language: str = "en"
    password: str | None = None


PROFILE_FIELDS = ("name", "title", "company", "verified_domain", "picture", "language")


def _clean_profile(changes: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(changes)
    if "name" in cleaned:
        cleaned["name"] = " ".join(cleaned["name"].split())
        if not cleaned["name"]:
            raise Invalid("name_required", "The user needs a name.", field="name")
    for key in ("title", "company"):
        if key in cleaned:
            cleaned[key] = cleaned[key].strip()
    if "verified_domain" in cleaned:
        cleaned["verified_domain"] = check_verified_domain(cleaned["verified_domain"])
    if "picture" in cleaned:
        cleaned["picture"] = check_picture(cleaned["picture"])
    if "language" in cleaned:
        check_language(cleaned["language"])
    return cleaned


async def create_user(
    db: AsyncSession, by: Actor | SystemActor, new: NewUser
) -> tuple[User, str | None]:
    """Create a user; returns the one-time password when none was given."""
    if isinstance(by, Actor):
        by.require(Permission.ADMINISTER)
    email = new.email.strip().lower()
    if (await db.execute(select(User.id).where(User.email == email))).first() is not None:
        raise Conflict(
            "email_taken", f"The e-mail address {email} is already in use.", field="email"
        )
    generated = None
    password = new.password
    if password is None:
        password = generated = passwords.generate_password()
    else:
        check_account_password(password, email)
    profile = _clean_profile(
        {
            "name": new.name,
            "title": new.title,
            "company": new.company,
            "verified_domain": new.verified_domain,
            "picture": new.picture,
            "language": new.language,
        }
    )
    user = User(
        organisation_id=by.organisation_id,
        email=email,
        password_hash=passwords.hash_password(password),
        must_change_password=True,
        is_active=True,
        role_assignments=[],
        **profile,
    )
    db.add(user)
    await db.flush()
    await audit.record(
        db,
        by.who,
        "user.created",
        target=f"user:{user.id}",
        details={"email": email, "name": user.name},
    )
    return user, generated


async def list_users(db: AsyncSession, actor: Actor) -> list[User]:
    actor.require(Permission.ADMINISTER)
    rows = await db.execute(
        select(User).where(User.organisation_id == actor.organisation_id).order_by(User.name)
    )
    return list(rows.scalars())


async def get_user(db: AsyncSession, actor: Actor, user_id: int) -> User:
    actor.require(Permission.ADMINISTER)
    return await get_owned(db, User, user_id, actor.organisation_id, "user")


async def team_ids_of(db: AsyncSession, user_ids: list[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    if user_ids:
        rows = await db.execute(
            select(TeamMember.user_id, TeamMember.team_id).where(TeamMember.user_id.in_(user_ids))
        )
        for uid, tid in rows:
            result[uid].append(tid)
    return result


async def _administrators(db: AsyncSession, organisation_id: int) -> set[int]:
    rows = await db.execute(
        select(User.id, Role.permissions)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(User.organisation_id == organisation_id, User.is_active.is_(True))
    )
    return {uid for uid, perms in rows if Permission.ADMINISTER.value in perms}


async def _keep_an_administrator(db: AsyncSession, organisation_id: int) -> None:
    await db.flush()
    if not await _administrators(db, organisation_id):
        raise Conflict(
            "last_administrator",
            "This would leave the organisation without an active administrator.",
        )


async def update_user(
    db: AsyncSession, actor: Actor, user_id: int, changes: dict[str, Any]
) -> User:
    user = await get_user(db, actor, user_id)
    allowed = set(PROFILE_FIELDS) | {"is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise Invalid(
            "unknown_field", f"These fields cannot be changed: {', '.join(sorted(unknown))}."
        )
    cleaned = _clean_profile(changes)
    diff = {
        k: {"from": getattr(user, k), "to": v} for k, v in cleaned.items() if getattr(user, k) != v
    }
    for key, value in cleaned.items():
        setattr(user, key, value)
    if cleaned.get("is_active") is False:
        await _keep_an_administrator(db, actor.organisation_id)
    if diff:
        if "picture" in diff:
            diff["picture"] = {"changed": True}
        await audit.record(db, actor.who, "user.updated", target=f"user:{user.id}", details=diff)
    if "is_active" in diff and cleaned["is_active"] is False:
        # Every sign-in, API token and live socket of the user ends (a reactivated user signs in
        # again and makes new tokens).
        await end_sign_ins(db, user, actor.who, Because.DEACTIVATED, revoke_api_tokens=True)
    return user


async def reset_password(db: AsyncSession, actor: Actor, user_id: int) -> str:
    """An administrator gives the user a new one-time password (he chooses his own at the next
    sign-in); every sign-in and API token of the user ends. Returns the one-time password."""
    user = await get_user(db, actor, user_id)
    password = passwords.generate_password()
    user.password_hash = passwords.hash_password(password)
    user.must_change_password = True
    await audit.record(db, actor.who, "user.password_reset", target=f"user:{user.id}")
    await end_sign_ins(
        db,
        user,
        actor.who,
        Because.PASSWORD_RESET,
        keep_login_id=actor.login_id if user.id == actor.user.id else None,
        revoke_api_tokens=True,
    )
    return password


async def delete_user(db: AsyncSession, actor: Actor, user_id: int) -> None:
    user = await get_user(db, actor, user_id)
    if user.id == actor.user.id:
        raise Conflict("cannot_delete_self", "You cannot delete your own account.")
    email = user.email
    await end_sign_ins(db, user, actor.who, Because.DELETED, revoke_api_tokens=True)
    await db.delete(user)
    await _keep_an_administrator(db, actor.organisation_id)
    await audit.record(
        db, actor.who, "user.deleted", target=f"user:{user_id}", details={"email": email}
    )


async def assign_role(
    db: AsyncSession,
    by: Actor | SystemActor,
    user: User,
    role: Role,
    all_devices: bool,
    device_group_ids: list[int],
) -> RoleAssignment:
    if isinstance(by, Actor):
        by.require(Permission.ADMINISTER)
    if role.organisation_id != user.organisation_id:
        raise Invalid("role_not_found", f"No role with id {role.id}.", field="role_id")
    if all_devices and device_group_ids:
        raise Invalid(
            "scope_conflict",
            "Choose either all devices or some device groups, not both.",
            field="device_group_ids",
        )
    if not all_devices and not device_group_ids:
        raise Invalid(
            "scope_empty",
            "Choose at least one device group, or all devices.",
            field="device_group_ids",
        )
    groups = sorted(set(device_group_ids))
    for group_id in groups:
        await get_owned(db, DeviceGroup, group_id, user.organisation_id, "device_group")
    existing = [a for a in user.role_assignments if a.role_id == role.id]
    if existing:
        raise Conflict(
            "role_already_assigned",
            f"{user.name} already has the role '{role.name}'; remove it first to change its scope.",
        )
    assignment = RoleAssignment(
        user_id=user.id, role_id=role.id, all_devices=all_devices, device_group_ids=groups
    )
    assignment.role = role
    user.role_assignments.append(assignment)
    await db.flush()
    close_sockets_of_rights_change(db, [user.id])
    await audit.record(
        db,
        by.who,
        "role.assigned",
        target=f"user:{user.id}",
        details={
            "role": role.name,
            "scope": "all devices" if all_devices else {"device_groups": groups},
        },
    )
    return assignment


async def assign_role_by_id(
    db: AsyncSession,
    actor: Actor,
    user_id: int,
    role_id: int,
    all_devices: bool,
    device_group_ids: list[int],
) -> RoleAssignment:
    user = await get_user(db, actor, user_id)
    role = await get_owned(db, Role, role_id, actor.organisation_id, "role")
    return await assign_role(db, actor, user, role, all_devices, device_group_ids)


async def unassign_role(db: AsyncSession, actor: Actor, user_id: int, assignment_id: int) -> None:
    user = await get_user(db, actor, user_id)
    matches = [a for a in user.role_assignments if a.id == assignment_id]
    if not matches:
        raise NotFound("role_assignment_not_found", f"No role assignment with id {assignment_id}.")
    assignment = matches[0]
    role_name = assignment.role.name
    user.role_assignments.remove(assignment)
    await _keep_an_administrator(db, actor.organisation_id)
    await audit.record(
        db, actor.who, "role.unassigned", target=f"user:{user.id}", details={"role": role_name}
    )
    close_sockets_of_rights_change(db, [user.id])


async def role_by_builtin(db: AsyncSession, organisation_id: int, key: str) -> Role:
    row = await db.execute(
        select(Role).where(Role.organisation_id == organisation_id, Role.builtin == key)
    )
    return row.scalar_one()


async def role_by_name(db: AsyncSession, organisation_id: int, name: str) -> Role | None:
    row = await db.execute(
        select(Role).where(Role.organisation_id == organisation_id, Role.name == name)
    )
    return row.scalar_one_or_none()


SELF_EDITABLE = ("name", "title", "company", "language")


async def update_own_profile(db: AsyncSession, actor: Actor, changes: dict[str, Any]) -> User:
    """What a user may change about himself without administrator rights."""
    refused = set(changes) - set(SELF_EDITABLE)
    if refused:
        raise Invalid("unknown_field", f"You cannot change: {', '.join(sorted(refused))}.")
    user = actor.user
    cleaned = _clean_profile(changes)
    diff = {
        k: {"from": getattr(user, k), "to": v} for k, v in cleaned.items() if getattr(user, k) != v
    }
    for key, value in cleaned.items():
        setattr(user, key, value)
    if diff:
        await audit.record(
            db, actor.who, "user.profile_changed", target=f"user:{user.id}", details=diff
        )
    return user
