"""Looking up an organisation's objects: another organisation's rows simply do not exist."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.domain.errors import Conflict, Invalid, NotFound

Row = TypeVar("Row")


async def get_owned(
    db: AsyncSession, model: type[Row], object_id: int, organisation_id: int, what: str
) -> Row:
    row = await db.get(model, object_id)
    if row is None or row.organisation_id != organisation_id:  # type: ignore[attr-defined]
        raise NotFound(f"{what}_not_found", f"No {what.replace('_', ' ')} with id {object_id}.")
    return row


async def ensure_name_free(
    db: AsyncSession,
    model: Any,
    organisation_id: int,
    name: str,
    what: str,
    exclude_id: int | None = None,
) -> None:
    query = select(model.id).where(model.organisation_id == organisation_id, model.name == name)
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    if (await db.execute(query)).first() is not None:
        raise Conflict("name_taken", f"A {what} named '{name}' already exists.", field="name")


def clean_name(name: str, what: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise Invalid("name_required", f"The {what} needs a name.", field="name")
    return cleaned
