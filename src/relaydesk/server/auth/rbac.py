"""What a user may do: the union of the permissions of his role assignments, with their scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from relaydesk.server.db.models import User
from relaydesk.server.domain.permissions import PERMISSION_KEYS, Permission


@dataclass(frozen=True)
class Grant:
    permissions: frozenset[Permission]
    all_devices: bool
    device_group_ids: frozenset[int]


@dataclass(frozen=True)
class PermissionSet:
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, user: User) -> PermissionSet:
        grants = []
        for assignment in user.role_assignments:
            perms = frozenset(
                Permission(p) for p in assignment.role.permissions if p in PERMISSION_KEYS
            )
            grants.append(
                Grant(perms, assignment.all_devices, frozenset(assignment.device_group_ids))
            )
        return cls(tuple(grants))

    @property
    def all(self) -> frozenset[Permission]:
        result: frozenset[Permission] = frozenset()
        for grant in self.grants:
            result |= grant.permissions
        return result

    def has(self, permission: Permission) -> bool:
        return permission in self.all

    def has_for_group(self, permission: Permission, device_group_id: int | None) -> bool:
        """Whether the permission applies to a device in the given group (GOV-3 scope)."""
        for grant in self.grants:
            if permission not in grant.permissions:
                continue
            if grant.all_devices or (
                device_group_id is not None and device_group_id in grant.device_group_ids
            ):
                return True
        return False
