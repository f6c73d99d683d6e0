"""Existing portals lose their guessable addresses (issue 11, 19c): an organisation created
before 0006 had its portal at portal-<id>; the migration gives it 128 random bits, on SQLite and
PostgreSQL, and going back restores the old address."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from relaydesk.server.db import migrate
from relaydesk.server.db.engine import make_engine, make_sessionmaker
from relaydesk.server.db.models import Portal
from relaydesk.server.domain.organisations import create_organisation


async def _slugs(url: str) -> dict[int, str]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            rows = await db.execute(select(Portal.organisation_id, Portal.slug))
            return {organisation_id: slug for organisation_id, slug in rows.all()}
    finally:
        await engine.dispose()


async def _two_organisations(url: str) -> None:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            await create_organisation(db, "Acme")
            await create_organisation(db, "Globex")
            await db.commit()
    finally:
        await engine.dispose()


async def test_old_portal_addresses_become_unguessable(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    await _two_organisations(database_url)
    made = await _slugs(database_url)
    assert all(len(slug) >= 22 for slug in made.values()), made  # ≥ 128 bits, base64url

    # As an organisation made before 0006 had it.
    await asyncio.to_thread(migrate.downgrade, database_url, "0005")
    old = await _slugs(database_url)
    assert old == {organisation: f"portal-{organisation}" for organisation in made}

    await asyncio.to_thread(migrate.upgrade, database_url)
    new = await _slugs(database_url)
    assert set(new) == set(old)
    for slug in new.values():
        assert len(slug) >= 22 and not slug.startswith("portal-"), slug
    assert len(set(new.values())) == len(new)
