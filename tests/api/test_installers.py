"""Installers over the API (issue 13, UNA-2/UNA-4): the permission 'Manage devices', creation
with its token and commands shown once, the list with used/max, revocation, bad input refused
with specific errors, everything audited. Enrolment through the agent's channel is in
tests/integration/test_installers.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from relaydesk.server.auth.tokens import token_hash
from relaydesk.server.db.models import AuditEntry, Installer
from tests.api.conftest import Harness, Org


async def create(client: Any, **body: Any) -> Any:
    return await client.post("/api/v1/installers", json={"company": "Acme Corp", **body})


async def test_installers_need_the_permission_manage_devices(org: Org, harness: Harness) -> None:
    await harness.user(org.id, "olga@acme.test", "operator")
    operator = await harness.signed_in("olga@acme.test")
    for response in (
        await create(operator),
        await operator.get("/api/v1/installers"),
        await operator.post("/api/v1/installers/1/revoke"),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "permission_denied"
        assert response.json()["detail"] == ("You need the permission 'Manage devices' to do this.")


async def test_an_installer_is_created_listed_and_revoked(org: Org, harness: Harness) -> None:
    group = await org.admin.post("/api/v1/device-groups", json={"name": "Acme laptops"})
    expiry = datetime.now(UTC) + timedelta(days=7)
    created = await create(
        org.admin,
        device_group_id=group.json()["id"],
        max_installations=20,
        expires_at=expiry.isoformat(),
    )
    assert created.status_code == 201, created.text
    issued = created.json()
    token = issued["token"]
    assert token.startswith("rdi_") and len(token) > 40
    assert issued["install_command"] == (
        f"curl -fsSL http://testserver/portal/install.sh | sh -s -- --installer {token}"
    )
    assert issued["silent_command"] == issued["install_command"] + " --quiet"
    assert issued["download_url"] == "http://testserver/portal/install.sh"
    installer = issued["installer"]
    assert (installer["company"], installer["device_group_id"]) == (
        "Acme Corp",
        group.json()["id"],
    )
    assert (installer["used"], installer["max_installations"]) == (0, 20)
    assert datetime.fromisoformat(installer["expires_at"]) == expiry
    assert installer["created_by_name"] == "Ada"

    default = (await create(org.admin, company="Other")).json()["installer"]
    assert (default["max_installations"], default["expires_at"]) == (500, None)

    listed = (await org.admin.get("/api/v1/installers")).json()
    assert [i["id"] for i in listed] == [default["id"], installer["id"]]
    assert "token" not in listed[0]
    async with harness.db() as db:
        stored = (await db.execute(select(Installer.token_hash))).scalars().all()
    assert token_hash(token) in stored and token not in str(stored)

    revoked = await org.admin.post(f"/api/v1/installers/{installer['id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    again = await org.admin.post(f"/api/v1/installers/{installer['id']}/revoke")
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    missing = await org.admin.post("/api/v1/installers/999/revoke")
    assert (missing.status_code, missing.json()["code"]) == (404, "installer_not_found")

    async with harness.db() as db:
        actions = (
            await db.execute(
                select(AuditEntry.action, AuditEntry.details)
                .where(AuditEntry.action.like("installer.%"))
                .order_by(AuditEntry.seq)
            )
        ).all()
    assert [a for a, _ in actions] == ["installer.created"] * 2 + ["installer.revoked"]
    assert token not in str(actions)


async def test_bad_installers_are_refused_with_specific_errors(org: Org, harness: Harness) -> None:
    cases = [
        ({"max_installations": 0}, "invalid_max_installations", "max_installations"),
        ({"max_installations": -5}, "invalid_max_installations", "max_installations"),
        (
            {"expires_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
            "expiry_in_the_past",
            "expires_at",
        ),
        ({"expires_at": "2030-01-01T10:00:00"}, "invalid_expiry", "expires_at"),
        ({"expires_at": "9999-12-31T23:59:59-12:00"}, "invalid_expiry", "expires_at"),
        ({"device_group_id": 4242}, "device_group_not_found", None),
        ({"company": "two\nlines"}, "invalid_company", "company"),
    ]
    for body, code, field in cases:
        response = await create(org.admin, **body)
        assert response.status_code in (400, 404, 422), response.text
        assert response.json()["code"] == code, (body, response.text)
        if field:
            assert response.json().get("field") == field, response.text
    assert (await org.admin.get("/api/v1/installers")).json() == []
