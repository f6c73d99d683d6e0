"""Who is acting, from where, with which rights: passed to every rule."""

from __future__ import annotations

from dataclasses import dataclass

from relaydesk.server.auth.rbac import PermissionSet
from relaydesk.server.db.models import Device, User
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.errors import Forbidden
from relaydesk.server.domain.permissions import DEVICE_PERMISSIONS, PERMISSION_LABELS, Permission


@dataclass(frozen=True)
class Actor:
    user: User
    ip: str
    permissions: PermissionSet
    via_api_token: bool = False
    login_id: int | None = None  # the browser sign-in acting (None: an API token)

    @property
    def organisation_id(self) -> int:
        return self.user.organisation_id

    @property
    def label(self) -> str:
        return self.user.email

    @property
    def who(self) -> Who:
        return Who.of_user(self.user, self.ip)

    def require(self, permission: Permission) -> None:
        if not self.permissions.has(permission):
            raise Forbidden(
                "permission_denied",
                f"You need the permission '{PERMISSION_LABELS[permission]}' to do this.",
                permission=permission.value,
            )

    def may(self, permission: Permission, device: Device) -> bool:
        """Whether the permission applies to this device: rights exercised on devices count
        only from role assignments whose scope holds the device's group (GOV-3)."""
        if permission in DEVICE_PERMISSIONS:
            return self.permissions.has_for_group(permission, device.device_group_id, device.id)
        return self.permissions.has(permission)

    def require_on(self, permission: Permission, device: Device) -> None:
        """Like require, for a device whose session the technician already sees."""
        self.require(permission)
        if not self.may(permission, device):
            raise Forbidden(
                "permission_denied",
                f"Your permission '{PERMISSION_LABELS[permission]}' does not extend to this "
                "device's group.",
                permission=permission.value,
            )


@dataclass(frozen=True)
class SystemActor:
    """The command line acting on an organisation, outside any user's rights."""

    organisation_id: int
    label: str = "command line"

    @property
    def who(self) -> Who:
        return Who.system(self.organisation_id, self.label)
