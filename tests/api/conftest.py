"""API tests: the real app over httpx, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.app import create_app
from relaydesk.server.config import Settings
from relaydesk.server.db.models import User
from relaydesk.server.domain import organisations
from relaydesk.server.domain.actor import SystemActor
from relaydesk.server.domain.users import NewUser, assign_role, create_user, role_by_builtin
from tests.fixtures.databases import migrated

PASSWORD = "Correct-Horse-7-Battery"

ROLE_KEYS = {"admin": "administrator", "operator": "helpdesk_operator", "viewer": "viewer"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'api.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@dataclass
class Harness:
    """The app under test and ways to set up organisations, users and signed-in clients."""

    app: Any
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        async with self.app.state.runtime.sessionmaker() as session:
            yield session
            await session.commit()

    def client(self, ip: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.clients.append(client)
        return client

    async def organisation(self, name: str, **settings: Any) -> int:
        async with self.db() as db:
            organisation = await organisations.create_organisation(db, name)
            for key, value in settings.items():
                setattr(organisation, key, value)
            return organisation.id

    async def user(
        self,
        organisation_id: int,
        email: str,
        role: str | None = "admin",
        *,
        password: str = PASSWORD,
        must_change_password: bool = False,
        totp_secret: str | None = None,
    ) -> User:
        async with self.db() as db:
            by = SystemActor(organisation_id)
            user, _ = await create_user(
                db, by, NewUser(email=email, name=email.split("@")[0].title(), password=password)
            )
            user.must_change_password = must_change_password
            user.totp_secret = totp_secret
            if role is not None:
                role_row = await role_by_builtin(db, organisation_id, ROLE_KEYS[role])
                await assign_role(db, by, user, role_row, True, [])
            return user

    async def signed_in(
        self,
        email: str,
        password: str = PASSWORD,
        ip: str = "127.0.0.1",
        totp_secret: str | None = None,
    ) -> httpx.AsyncClient:
        client = self.client(ip)
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        if response.json()["stage"] == "mfa":
            assert totp_secret, "account has TOTP; pass its secret"
            response = await client.post(
                "/api/v1/auth/mfa",
                json={"code": pyotp.TOTP(totp_secret).now()},
                headers={"x-csrf-token": client.cookies["relaydesk_csrf"]},
            )
        assert response.json()["stage"] == "complete", response.text
        client.headers["x-csrf-token"] = client.cookies["relaydesk_csrf"]
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()
        await self.app.state.runtime.close()


def make_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, **overrides)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
async def harness(
    tmp_path: Path, database_url: str, settings_overrides: dict[str, Any]
) -> AsyncIterator[Harness]:
    await asyncio.to_thread(migrated, database_url)
    app = create_app(
        make_settings(tmp_path, database_url, **settings_overrides), web_dist=tmp_path / "no-web"
    )
    h = Harness(app)
    yield h
    await h.close()


@dataclass
class Org:
    id: int
    admin: httpx.AsyncClient
    admin_user: User


@pytest.fixture
async def org(harness: Harness) -> Org:
    """An organisation with a signed-in administrator."""
    org_id = await harness.organisation("Acme Support", remote_support_enabled=True)
    admin = await harness.user(org_id, "ada@acme.test", "admin")
    return Org(org_id, await harness.signed_in("ada@acme.test"), admin)
