"""Who is acting, from where, with which rights: passed to every rule."""

from __future__ import annotations

from dataclasses import dataclass

from relaydesk.server.auth.rbac import PermissionSet
from relaydesk.server.db.models import User
from relaydesk.server.domain.errors import Forbidden
from relaydesk.server.domain.permissions import PERMISSION_LABELS, Permission


@dataclass(frozen=True)
class Actor:
    user: User
    ip: str
    permissions: PermissionSet
    via_api_token: bool = False

    @property
    def organisation_id(self) -> int:
        return self.user.organisation_id

    @property
    def label(self) -> str:
        return self.user.email

    def require(self, permission: Permission) -> None:
        if not self.permissions.has(permission):
            raise Forbidden(
                "permission_denied",
                f"You need the permission '{PERMISSION_LABELS[permission]}' to do this.",
                permission=permission.value,
            )


@dataclass(frozen=True)
class Origin:
    """Where an unauthenticated request (sign-in, CLI) comes from."""

    ip: str
