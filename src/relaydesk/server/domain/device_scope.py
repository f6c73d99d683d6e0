"""Which devices a technician reaches (GOV-3), beyond his role assignments' device groups.

The one extra rule: an ad hoc device (ADH-*, it belongs to no device group) is reached by the
technician who prepared its ad hoc session, as long as that session is open, as if it were in
the scope of each of his role assignments. Everyone else reaches it only through an
all-devices assignment. The rights themselves still come from his roles.

permissions_of() is how every rule gets a user's PermissionSet with that rule applied; the
checks (PermissionSet.reaches / has_for_group with the device's id, Actor.may, the device
list's SQL clause) then decide with it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.auth.rbac import PermissionSet
from relaydesk.server.db.models import AdHocSession, User


async def own_ad_hoc_devices(db: AsyncSession, user: User) -> frozenset[int]:
    """The devices of the open (not ended, not expired) ad hoc sessions the user prepared."""
    rows = await db.execute(
        select(AdHocSession.device_id).where(
            AdHocSession.organisation_id == user.organisation_id,
            AdHocSession.technician_id == user.id,
            AdHocSession.device_id.is_not(None),
            AdHocSession.ended_at.is_(None),
        )
    )
    return frozenset(device_id for (device_id,) in rows if device_id is not None)


async def permissions_of(db: AsyncSession, user: User) -> PermissionSet:
    """The user's rights and their scope, his own open ad hoc devices included (no query for
    one whose assignments already reach every device)."""
    permissions = PermissionSet.of(user)
    if permissions.reaches_every_group():
        return permissions
    return permissions.with_ad_hoc_devices(await own_ad_hoc_devices(db, user))
