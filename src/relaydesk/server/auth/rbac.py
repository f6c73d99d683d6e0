"""What a user may do: the union of the permissions of his role assignments, with their scope."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from relaydesk.server.db.models import User
from relaydesk.server.domain.permissions import DEVICE_PERMISSIONS, PERMISSION_KEYS, Permission


def covers(
    all_devices: bool, device_group_ids: Collection[int], device_group_id: int | None
) -> bool:
    """Whether a device of this group is in a role assignment's scope (GOV-3); a device without a
    group is in the scope of all-devices assignments only."""
    return all_devices or (device_group_id is not None and device_group_id in device_group_ids)


@dataclass(frozen=True)
class Grant:
    permissions: frozenset[Permission]
    all_devices: bool
    device_group_ids: frozenset[int]

    def covers(self, device_group_id: int | None) -> bool:
        return covers(self.all_devices, self.device_group_ids, device_group_id)


@dataclass(frozen=True)
class PermissionSet:
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    # The devices of the open ad hoc sessions this technician prepared (domain/device_scope.py
    # decides which): each counts as in the scope of every one of his role assignments.
    ad_hoc_devices: frozenset[int] = frozenset()

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

    def with_ad_hoc_devices(self, device_ids: Collection[int]) -> PermissionSet:
        return PermissionSet(self.grants, frozenset(device_ids))

    def _covers(self, grant: Grant, device_group_id: int | None, device_id: int | None) -> bool:
        return grant.covers(device_group_id) or (
            device_id is not None and device_id in self.ad_hoc_devices
        )

    def covers_device(
        self,
        all_devices: bool,
        device_group_ids: Collection[int],
        device_group_id: int | None,
        device_id: int,
    ) -> bool:
        """covers() for one role assignment and one device, with the ad hoc rule."""
        return covers(all_devices, device_group_ids, device_group_id) or (
            device_id in self.ad_hoc_devices
        )

    @property
    def all(self) -> frozenset[Permission]:
        result: frozenset[Permission] = frozenset()
        for grant in self.grants:
            result |= grant.permissions
        return result

    def has(self, permission: Permission) -> bool:
        return permission in self.all

    def has_for_group(
        self, permission: Permission, device_group_id: int | None, device_id: int | None = None
    ) -> bool:
        """Whether the permission applies to a device in the given group (GOV-3 scope); with
        the device's id, also to one of his own ad hoc devices."""
        return any(
            permission in grant.permissions and self._covers(grant, device_group_id, device_id)
            for grant in self.grants
        )

    def reaches(self, device_group_id: int | None, device_id: int | None = None) -> bool:
        """Whether some right exercised on devices applies to a device in the given group: the
        technician may see and attend its sessions (GOV-3 scope); with the device's id, also
        one of his own ad hoc devices."""
        return any(
            grant.permissions & DEVICE_PERMISSIONS
            and self._covers(grant, device_group_id, device_id)
            for grant in self.grants
        )

    def reaches_every_group(self) -> bool:
        return any(g.permissions & DEVICE_PERMISSIONS and g.all_devices for g in self.grants)

    def groups_reached(self) -> frozenset[int]:
        """The device groups named by scoped assignments that carry a device right."""
        result: frozenset[int] = frozenset()
        for grant in self.grants:
            if grant.permissions & DEVICE_PERMISSIONS:
                result |= grant.device_group_ids
        return result
