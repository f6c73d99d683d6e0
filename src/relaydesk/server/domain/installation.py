"""A real first install (`relaydesk init`) and further organisations on the same server
(`relaydesk admin create-organisation`): each with its administrator."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import Organisation
from relaydesk.server.domain.actor import SystemActor
from relaydesk.server.domain.errors import Conflict, Invalid, NotFound
from relaydesk.server.domain.organisations import create_organisation
from relaydesk.server.domain.users import NewUser, assign_role, create_user, role_by_builtin


@dataclass(frozen=True)
class NewOrganisation:
    name: str
    admin_email: str
    admin_name: str
    # None: a one-time password is generated (printed once; changed at first sign-in).
    admin_password: str | None = None


@dataclass(frozen=True)
class Installed:
    organisation: Organisation
    admin_email: str
    one_time_password: str | None


async def _organisation_names(db: AsyncSession) -> list[str]:
    rows = await db.execute(select(Organisation.name).order_by(Organisation.id))
    return list(rows.scalars())


async def install(db: AsyncSession, new: NewOrganisation) -> Installed:
    """The first organisation and its administrator; refused once any organisation exists."""
    names = await _organisation_names(db)
    if names:
        raise Conflict(
            "already_installed",
            f"relaydesk is already set up here (organisation '{names[0]}'). Sign in as its "
            "administrator, or add another organisation with "
            "`relaydesk admin create-organisation`.",
        )
    return await _organisation_with_administrator(db, new, "relaydesk init")


async def add_organisation(db: AsyncSession, new: NewOrganisation) -> Installed:
    """Another organisation on a server that has one (multi-tenant), with its administrator."""
    if not await _organisation_names(db):
        raise NotFound(
            "not_installed",
            "relaydesk is not set up yet: run `relaydesk init` to create the first organisation.",
        )
    return await _organisation_with_administrator(db, new, "relaydesk admin")


async def _organisation_with_administrator(
    db: AsyncSession, new: NewOrganisation, label: str
) -> Installed:
    name = " ".join(new.name.split())
    if not name:
        raise Invalid("name_required", "The organisation needs a name.", field="name")
    taken = await db.execute(
        select(Organisation.name).where(func.lower(Organisation.name) == name.lower())
    )
    existing = taken.scalar()
    if existing is not None:
        raise Conflict(
            "organisation_exists",
            f"There is already an organisation named '{existing}'.",
            field="name",
        )
    organisation = await create_organisation(db, name)
    by = SystemActor(organisation.id, label=label)
    admin, generated = await create_user(
        db,
        by,
        NewUser(
            email=new.admin_email,
            name=new.admin_name,
            title="Administrator",
            company=name,
            password=new.admin_password,
        ),
    )
    # A password the operator chose is his; only a generated one must be changed at sign-in.
    admin.must_change_password = generated is not None
    await assign_role(
        db, by, admin, await role_by_builtin(db, organisation.id, "administrator"), True, []
    )
    return Installed(organisation, admin.email, generated)


async def organisation_named(db: AsyncSession, name: str | None) -> Organisation:
    """The organisation a command acts in: the one named, or the only one there is."""
    if name is not None:
        found = (
            (
                await db.execute(
                    select(Organisation).where(
                        func.lower(Organisation.name) == " ".join(name.split()).lower()
                    )
                )
            )
            .scalars()
            .first()
        )
        if found is None:
            raise NotFound("organisation_not_found", f"There is no organisation named '{name}'.")
        return found
    organisations = list(
        (await db.execute(select(Organisation).order_by(Organisation.id))).scalars()
    )
    if not organisations:
        raise NotFound(
            "not_installed",
            "No organisation found: run `relaydesk init` to create the first one.",
        )
    if len(organisations) > 1:
        raise Invalid(
            "organisation_required",
            "There are several organisations ("
            + ", ".join(f"'{o.name}'" for o in organisations)
            + "); name one with --organisation.",
        )
    return organisations[0]
