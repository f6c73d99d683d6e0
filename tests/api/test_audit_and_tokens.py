"""Audit log search, export and tamper evidence (GOV-9); API tokens (AUTH-3)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from relaydesk.server.domain import audit
from tests.api.conftest import Harness, Org


async def test_filter_by_actor_action_and_date(org: Org, harness: Harness) -> None:
    await harness.user(org.id, "bob@acme.test", "admin")
    bob = await harness.signed_in("bob@acme.test")
    await bob.post("/api/v1/teams", json={"name": "Bob's team"})
    await org.admin.post("/api/v1/teams", json={"name": "Ada's team"})

    bob_id = (await bob.get("/api/v1/me")).json()["id"]
    by_bob = (await org.admin.get("/api/v1/audit", params={"actor_id": bob_id})).json()
    assert by_bob["total"] == len(by_bob["items"]) >= 2
    assert {e["actor_label"] for e in by_bob["items"]} == {"bob@acme.test"}

    teams = (await org.admin.get("/api/v1/audit", params={"action": "team."})).json()["items"]
    assert [e["details"]["name"] for e in teams] == ["Ada's team", "Bob's team"]

    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await org.admin.get("/api/v1/audit", params={"since": future})).json()["total"] == 0
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert (await org.admin.get("/api/v1/audit", params={"until": past})).json()["total"] == 0
    naive = await org.admin.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422


async def test_export_csv_and_json(org: Org) -> None:
    await org.admin.post("/api/v1/teams", json={"name": "Tier 1 — 你好"})
    as_csv = await org.admin.get("/api/v1/audit/export", params={"format": "csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows[0]["seq"] == "1"
    assert any(json.loads(r["details"]).get("name") == "Tier 1 — 你好" for r in rows)

    as_json = (
        await org.admin.get("/api/v1/audit/export", params={"format": "json", "action": "team."})
    ).json()
    assert [e["action"] for e in as_json] == ["team.created"]
    bad = await org.admin.get("/api/v1/audit/export", params={"format": "xml"})
    assert bad.status_code == 422


async def test_the_chain_reveals_edits_and_deletions(org: Org, harness: Harness) -> None:
    await org.admin.post("/api/v1/teams", json={"name": "Tier 1"})
    async with harness.db() as db:
        checked, breaks = await audit.verify(db)
        assert checked >= 3 and breaks == []
        await db.execute(
            text("UPDATE audit_entries SET actor_label = 'someone else' WHERE seq = 2")
        )
    async with harness.db() as db:
        _, breaks = await audit.verify(db)
        assert [(b.seq, b.reason) for b in breaks] == [(2, "entry content was changed")]


async def test_api_token_is_shown_once_and_works_without_a_cookie(
    org: Org, harness: Harness
) -> None:
    created = await org.admin.post(
        "/api/v1/me/tokens", json={"name": "CMDB sync", "expires_in_days": 30}
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("rdk_")
    listed = (await org.admin.get("/api/v1/me/tokens")).json()
    assert [t["name"] for t in listed] == ["CMDB sync"]
    assert token not in json.dumps(listed)
    assert (
        await org.admin.post("/api/v1/me/tokens", json={"name": "CMDB sync"})
    ).status_code == 409

    integration = harness.client()
    headers = {"authorization": f"Bearer {token}"}
    me = await integration.get("/api/v1/me", headers=headers)
    assert me.json()["email"] == "ada@acme.test"
    # A reading request writes nothing in its own transaction; the token's last use is still
    # kept, in a short one of its own.
    used = (await org.admin.get("/api/v1/me/tokens")).json()
    assert used[0]["last_used_at"] is not None
    made = await integration.post(
        "/api/v1/device-groups", json={"name": "From CMDB"}, headers=headers
    )
    assert made.status_code == 201  # no CSRF token needed with a bearer token

    entries = (await org.admin.get("/api/v1/audit", params={"action": "api_token.created"})).json()[
        "items"
    ]
    assert entries[0]["details"]["name"] == "CMDB sync"
    assert token not in json.dumps(entries)

    async with harness.db() as db:
        stored = (await db.execute(text("SELECT token_hash FROM api_tokens"))).scalar_one()
    assert token not in stored and len(stored) == 64

    await org.admin.delete(f"/api/v1/me/tokens/{listed[0]['id']}")
    revoked = await integration.get("/api/v1/me", headers=headers)
    assert revoked.status_code == 401
    assert revoked.json()["code"] == "invalid_token"


async def test_a_token_carries_only_its_owners_permissions(org: Org, harness: Harness) -> None:
    await harness.user(org.id, "viewer@acme.test", "viewer")
    viewer = await harness.signed_in("viewer@acme.test")
    token = (await viewer.post("/api/v1/me/tokens", json={"name": "script"})).json()["token"]
    response = await harness.client().get(
        "/api/v1/users", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    garbage = await harness.client().get(
        "/api/v1/users", headers={"authorization": "Bearer rdk_nope"}
    )
    assert garbage.status_code == 401


async def test_passwords_are_stored_as_argon2id(org: Org, harness: Harness) -> None:
    async with harness.db() as db:
        stored = (await db.execute(text("SELECT password_hash FROM users"))).scalar_one()
    assert stored.startswith("$argon2id$")
