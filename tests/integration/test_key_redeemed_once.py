"""A key's page secret goes to one page, even when pages race (issue 11, defect 9): eight
portal pages redeem the same key at the same moment against the real server, on SQLite and
PostgreSQL; exactly one gets the session's secret, the others 409 session_key_taken, and the
database keeps the winner's secret."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from relaydesk.server.auth.tokens import token_hash
from relaydesk.server.db.engine import make_engine, make_sessionmaker
from relaydesk.server.db.models import SessionKey
from tests.fixtures.databases import run_async
from tests.fixtures.technician import Technician

PAGES = 8


@pytest.mark.parametrize(
    "relaydesk_server", [{}, {"database": "postgresql"}], indirect=True, ids=["sqlite", "pg"]
)
def test_pages_racing_for_one_key_get_one_secret(relaydesk_server: Any) -> None:
    key = Technician(relaydesk_server).sign_in_first_time().new_key()

    async def race() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=relaydesk_server.url, timeout=30) as http:
            return await asyncio.gather(
                *(http.post("/api/v1/portal/keys", json={"key": key}) for _ in range(PAGES))
            )

    answers = run_async(race())
    won = [a for a in answers if a.status_code == 200]
    lost = [a for a in answers if a.status_code != 200]
    assert len(won) == 1, [a.text for a in answers]
    assert {(a.status_code, a.json()["code"]) for a in lost} == {(409, "session_key_taken")}
    secret = won[0].json()["customer_token"]

    # The winner's secret opens the page; the database holds its hash and no other.
    session = httpx.get(
        f"{relaydesk_server.url}/api/v1/portal/session", headers={"x-customer-token": secret}
    )
    assert session.status_code == 200 and session.json()["status"] == "waiting_for_agent"
    url = relaydesk_server.database_url or (
        f"sqlite+aiosqlite:///{relaydesk_server.data_dir / 'relaydesk.sqlite3'}"
    )
    assert run_async(_page_secrets(url)) == [token_hash(secret)]


async def _page_secrets(url: str) -> list[str | None]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            return list((await db.execute(select(SessionKey.customer_secret_hash))).scalars())
    finally:
        await engine.dispose()
