"""The first-run demo organisation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import Organisation, User
from relaydesk.server.domain.actor import SystemActor
from relaydesk.server.domain.organisations import create_organisation
from relaydesk.server.domain.users import (
    NewUser,
    assign_role,
    create_user,
    role_by_builtin,
)

DEMO_ORGANISATION = "Demo Help Desk"
DEMO_ADMIN_EMAIL = "admin@demo.relaydesk.test"


@dataclass(frozen=True)
class DemoSetup:
    organisation: Organisation
    admin_email: str
    one_time_password: str | None


async def ensure_demo(db: AsyncSession) -> DemoSetup:
    """Creates the demo organisation and its administrator unless they exist."""
    existing = (
        await db.execute(select(User).where(User.email == DEMO_ADMIN_EMAIL))
    ).scalar_one_or_none()
    if existing is not None:
        organisation = await db.get(Organisation, existing.organisation_id)
        assert organisation is not None
        return DemoSetup(organisation, existing.email, None)
    organisation = await create_organisation(db, DEMO_ORGANISATION, remote_support_enabled=True)
    by = SystemActor(organisation.id, label="relaydesk demo")
    admin, password = await create_user(
        db,
        by,
        NewUser(
            email=DEMO_ADMIN_EMAIL,
            name="Demo Administrator",
            title="Administrator",
            company=DEMO_ORGANISATION,
        ),
    )
    role = await role_by_builtin(db, organisation.id, "administrator")
    await assign_role(db, by, admin, role, True, [])
    return DemoSetup(organisation, admin.email, password)
