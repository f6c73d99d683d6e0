"""Migration 0013 gives the built-in roles that hold every remote support permission (help desk
operator, administrator) the new permission "Ad hoc support" in organisations that exist already,
and leaves roles an administrator made alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from relaydesk.server.db import migrate
from relaydesk.server.db.engine import make_engine

ORGANISATIONS = sa.table(
    "organisations",
    *(sa.column(name) for name in ("id", "name", "remote_support_enabled")),
    *(sa.column(name) for name in ("allow_unmanaged_devices", "chat_disabled")),
    *(sa.column(name) for name in ("adhoc_limit_per_user", "adhoc_limit_per_organisation")),
    *(sa.column(name) for name in ("access_password_min_length", "recording_enabled")),
    *(sa.column(name) for name in ("retention_days", "mfa_required", "audit_head_hash")),
    sa.column("audit_head_seq"),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("console_ip_ranges", sa.JSON),
)
ROLES = sa.table(
    "roles",
    *(sa.column(name) for name in ("id", "organisation_id", "name", "description", "builtin")),
    sa.column("permissions", sa.JSON),
    sa.column("allowed_paths", sa.JSON),
)


async def _run(url: str, statement: Any) -> list[Any]:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(statement)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_existing_builtin_roles_get_ad_hoc_support(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url, "0012")
    organisation = {
        "id": 1,
        "name": "Old Org",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "remote_support_enabled": True,
        "allow_unmanaged_devices": True,
        "chat_disabled": False,
        "adhoc_limit_per_user": 1,
        "adhoc_limit_per_organisation": 5,
        "access_password_min_length": 8,
        "recording_enabled": False,
        "retention_days": 30,
        "console_ip_ranges": [],
        "mfa_required": False,
        "audit_head_hash": "0" * 64,
        "audit_head_seq": 0,
    }
    await _run(database_url, sa.insert(ORGANISATIONS).values(**organisation))
    roles = [
        ("Administrator", "administrator", ["view_screen", "administer"]),
        ("Help desk operator", "helpdesk_operator", ["view_screen"]),
        ("Night shift", None, ["view_screen"]),
    ]
    for name, builtin, permissions in roles:
        row = {"organisation_id": 1, "name": name, "description": "", "builtin": builtin}
        await _run(
            database_url,
            sa.insert(ROLES).values(**row, permissions=permissions, allowed_paths=[]),
        )
    await asyncio.to_thread(migrate.upgrade, database_url, "0013")
    rows = await _run(database_url, sa.select(ROLES.c.name, ROLES.c.permissions))
    assert dict(rows) == {
        "Administrator": ["view_screen", "administer", "ad_hoc_support"],
        "Help desk operator": ["view_screen", "ad_hoc_support"],
        "Night shift": ["view_screen"],
    }
