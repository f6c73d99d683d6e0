"""The audit chain's head is read once it is locked (PostgreSQL): a request that loaded its
organisation before another writer extended the chain still appends after that writer's entry.
Before, it took the older head from its session and its entry was refused as a duplicate (a burst
of tunnel set-ups on PostgreSQL failed with 500 for 9 in 10)."""

from __future__ import annotations

from typing import Any

import pytest

from relaydesk.server.db.models import Organisation
from relaydesk.server.domain import audit
from relaydesk.server.domain.audit import Who


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url  # SQLite's writers never overlap (BEGIN IMMEDIATE)


async def test_an_entry_follows_one_written_meanwhile(harness: Any, org: Any) -> None:
    async with harness.app.state.runtime.sessionmaker() as first:
        loaded = await first.get(Organisation, org.id)  # as a request does before it audits
        assert loaded is not None
        async with harness.db() as second:
            meanwhile = await audit.record(second, Who.system(org.id), "test.meanwhile")
        entry = await audit.record(first, Who.system(org.id), "test.after")
        await first.commit()

    assert entry.seq == meanwhile.seq + 1
    assert entry.prev_hash == meanwhile.hash
    async with harness.db() as db:
        _, breaks = await audit.verify(db)
    assert breaks == []
