"""Roles: named permission sets (GOV-2). Built-in roles are fixed; custom ones are the
organisation's to shape."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import Role, RoleAssignment
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.errors import Conflict, Invalid
from relaydesk.server.domain.ownership import clean_name, ensure_name_free, get_owned
from relaydesk.server.domain.permissions import PERMISSION_KEYS, Permission
from relaydesk.server.domain.sign_outs import close_sockets_of_rights_change

MAX_ALLOWED_PATHS = 50


def _clean_permissions(permissions: list[str]) -> list[str]:
    unknown = [p for p in permissions if p not in PERMISSION_KEYS]
    if unknown:
        raise Invalid(
            "unknown_permission",
            f"Unknown permission: {', '.join(unknown)}.",
            field="permissions",
        )
    return [p.value for p in Permission if p.value in set(permissions)]


def _clean_paths(paths: list[str]) -> list[str]:
    cleaned = []
    for raw in paths:
        path = raw.strip()
        if not path:
            continue
        if "\x00" in path or not (path.startswith("/") or (len(path) > 2 and path[1:3] == ":\\")):
            raise Invalid(
                "invalid_path",
                f"'{path}' is not an absolute path (e.g. /home/shared or C:\\Users\\Public).",
                field="allowed_paths",
            )
        cleaned.append(path)
    if len(cleaned) > MAX_ALLOWED_PATHS:
        raise Invalid(
            "too_many_paths", f"At most {MAX_ALLOWED_PATHS} allowed paths.", field="allowed_paths"
        )
    return sorted(set(cleaned))


async def assignment_counts(db: AsyncSession, role_ids: list[int]) -> dict[int, int]:
    counts = {rid: 0 for rid in role_ids}
    if role_ids:
        rows = await db.execute(
            select(RoleAssignment.role_id, func.count())
            .where(RoleAssignment.role_id.in_(role_ids))
            .group_by(RoleAssignment.role_id)
        )
        counts.update({rid: int(n) for rid, n in rows})
    return counts


async def list_roles(db: AsyncSession, actor: Actor) -> list[Role]:
    actor.require(Permission.ADMINISTER)
    rows = await db.execute(
        select(Role)
        .where(Role.organisation_id == actor.organisation_id)
        .order_by(Role.builtin.is_(None), Role.name)
    )
    return list(rows.scalars())


async def get_role(db: AsyncSession, actor: Actor, role_id: int) -> Role:
    actor.require(Permission.ADMINISTER)
    return await get_owned(db, Role, role_id, actor.organisation_id, "role")


async def create_role(
    db: AsyncSession,
    actor: Actor,
    name: str,
    description: str,
    permissions: list[str],
    allowed_paths: list[str],
) -> Role:
    actor.require(Permission.ADMINISTER)
    name = clean_name(name, "role")
    await ensure_name_free(db, Role, actor.organisation_id, name, "role")
    role = Role(
        organisation_id=actor.organisation_id,
        name=name,
        description=description.strip(),
        permissions=_clean_permissions(permissions),
        allowed_paths=_clean_paths(allowed_paths),
    )
    db.add(role)
    await db.flush()
    await audit.record(
        db,
        actor.who,
        "role.created",
        target=f"role:{role.id}",
        details={
            "name": name,
            "permissions": role.permissions,
            "allowed_paths": role.allowed_paths,
        },
    )
    return role


def _refuse_builtin(role: Role) -> None:
    if role.builtin:
        raise Conflict(
            "role_builtin",
            f"'{role.name}' is a built-in role and cannot be changed or deleted; "
            "create a custom role instead.",
        )


async def update_role(
    db: AsyncSession, actor: Actor, role_id: int, changes: dict[str, Any]
) -> Role:
    role = await get_role(db, actor, role_id)
    _refuse_builtin(role)
    cleaned: dict[str, Any] = {}
    if "name" in changes:
        cleaned["name"] = clean_name(changes["name"], "role")
        await ensure_name_free(
            db, Role, actor.organisation_id, cleaned["name"], "role", exclude_id=role.id
        )
    if "description" in changes:
        cleaned["description"] = changes["description"].strip()
    if "permissions" in changes:
        cleaned["permissions"] = _clean_permissions(changes["permissions"])
    if "allowed_paths" in changes:
        cleaned["allowed_paths"] = _clean_paths(changes["allowed_paths"])
    diff = {
        k: {"from": getattr(role, k), "to": v} for k, v in cleaned.items() if getattr(role, k) != v
    }
    for key, value in cleaned.items():
        setattr(role, key, value)
    if diff:
        await audit.record(db, actor.who, "role.updated", target=f"role:{role.id}", details=diff)
    if "permissions" in diff or "allowed_paths" in diff:
        holders = await db.execute(
            select(RoleAssignment.user_id).where(RoleAssignment.role_id == role.id)
        )
        close_sockets_of_rights_change(db, list(holders.scalars()))
    return role


async def delete_role(db: AsyncSession, actor: Actor, role_id: int) -> None:
    role = await get_role(db, actor, role_id)
    _refuse_builtin(role)
    in_use = (await assignment_counts(db, [role.id]))[role.id]
    if in_use:
        raise Conflict(
            "role_in_use",
            f"The role '{role.name}' is assigned to {in_use} user(s); "
            "remove those assignments before deleting it.",
        )
    await db.delete(role)
    await audit.record(
        db, actor.who, "role.deleted", target=f"role:{role.id}", details={"name": role.name}
    )
