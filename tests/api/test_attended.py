"""Attended support over the API: session keys, the portal's ways in, queues, acceptance, chat,
hold and end, reports (ATT-1..4, ATT-9, TOOL-6, GOV-8). The agent's side is simulated through the
domain here; tests/integration runs the real agent process."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from relaydesk.server.auth.tokens import token_hash
from relaydesk.server.db.models import SessionKey, utcnow
from tests.api.conftest import Harness, Org
from tests.fixtures.attended import agent_arrives, new_key


async def test_generated_key_is_random_single_use_and_stored_hashed(
    org: Org, harness: Harness
) -> None:
    first, second = await new_key(org.admin), await new_key(org.admin, 15)
    assert first["key"] != second["key"]
    assert len(first["key"]) == 14 and first["key"].count("-") == 2
    assert first["url"].endswith(f"key={first['key']}")
    async with harness.db() as db:
        stored = [r for (r,) in await db.execute(select(SessionKey.key_hash))]
    assert first["key"] not in str(stored)
    assert token_hash(first["key"]) in stored
    bad = await org.admin.post("/api/v1/session-keys", json={"validity_minutes": 7})
    assert bad.status_code == 422


async def test_keys_need_the_permission_and_remote_support_on(org: Org, harness: Harness) -> None:
    await harness.user(org.id, "viewer@acme.test", "viewer")
    viewer = await harness.signed_in("viewer@acme.test")
    denied = await viewer.post("/api/v1/session-keys", json={"validity_minutes": 60})
    assert denied.status_code == 403
    assert denied.json()["detail"] == "You need the permission 'Generate session keys' to do this."
    await org.admin.patch("/api/v1/organisation/settings", json={"remote_support_enabled": False})
    off = await org.admin.post("/api/v1/session-keys", json={"validity_minutes": 60})
    assert off.status_code == 403
    assert off.json()["code"] == "remote_support_disabled"


async def test_portal_accepts_a_key_however_it_is_typed(org: Org, harness: Harness) -> None:
    key = (await new_key(org.admin))["key"]
    typed = key.lower().replace("-", " ")
    response = await harness.client().post("/api/v1/portal/keys", json={"key": typed})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["key"] == key
    assert body["technician"]["name"] == "Ada"
    assert f"--key {key}" in body["commands"]["linux_macos"]
    assert body["commands"]["linux_macos"].startswith(
        "curl -fsSL 'http://testserver/portal/agent.sh'"
    )
    assert f"-Key {key}" in body["commands"]["windows_powershell"]
    assert body["customer_token"]


@pytest.mark.parametrize(
    ("state", "status", "code"),
    [
        ("unknown", 404, "session_key_unknown"),
        ("expired", 409, "session_key_expired"),
        ("used", 409, "session_key_used"),
    ],
)
async def test_portal_explains_unusable_keys(
    org: Org, harness: Harness, state: str, status: int, code: str
) -> None:
    key = (await new_key(org.admin))["key"]
    if state == "unknown":
        key = "AAAA-BBBB-CCCC"
    elif state == "expired":
        async with harness.db() as db:
            await db.execute(update(SessionKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    else:
        await agent_arrives(harness, key)
    response = await harness.client().post("/api/v1/portal/keys", json={"key": key})
    assert response.status_code == status
    assert response.json()["code"] == code
    assert (
        "technician" in response.json()["detail"] or "ABCD-EFGH-JKMN" in response.json()["detail"]
    )


@pytest.mark.parametrize("settings_overrides", [{"key_failures_per_window": 3}])
async def test_guessing_keys_is_refused_at_once_past_the_limit(harness: Harness, org: Org) -> None:
    guesser = harness.client("198.51.100.9")
    codes = [
        (await guesser.post("/api/v1/portal/keys", json={"key": f"AAAA-BBBB-CCC{n}"})).status_code
        for n in range(2, 6)
    ]
    assert codes == [404, 404, 404, 429]
    refusals = (await org.admin.get("/api/v1/audit", params={"action": "portal."})).json()["items"]
    assert [(e["action"], e["ip"]) for e in refusals] == [
        ("portal.key_guessing_refused", "198.51.100.9")
    ]
    other = await harness.client("198.51.100.10").post(
        "/api/v1/portal/keys", json={"key": "AAAA-BBBB-CCCC"}
    )
    assert other.status_code == 404


async def test_session_lands_in_the_personal_queue_and_is_accepted(
    org: Org, harness: Harness
) -> None:
    key = (await new_key(org.admin))["key"]
    session_id = await agent_arrives(harness, key)
    queue = (await org.admin.get("/api/v1/queue")).json()
    [waiting] = queue["personal"]
    assert waiting["id"] == session_id
    assert waiting["status"] == "waiting"
    assert waiting["device"]["hostname"] == "pc-042"
    assert waiting["position"] == 1

    accepted = await org.admin.post(f"/api/v1/sessions/{session_id}/accept")
    assert accepted.json()["session"]["status"] == "active"
    queue = (await org.admin.get("/api/v1/queue")).json()
    assert queue["personal"] == [] and [s["id"] for s in queue["mine"]] == [session_id]


async def test_the_key_carries_the_customers_name_and_reference_to_the_session(
    org: Org, harness: Harness
) -> None:
    issued = await org.admin.post(
        "/api/v1/session-keys",
        json={"validity_minutes": 60, "customer_name": "  Zoë   Ōtsuka ", "reference": " T-1234 "},
    )
    assert issued.status_code == 201, issued.text
    [outstanding] = (await org.admin.get("/api/v1/session-keys")).json()
    assert (outstanding["customer_name"], outstanding["reference"]) == ("Zoë Ōtsuka", "T-1234")
    key = issued.json()["key"]
    start = (await harness.client().post("/api/v1/portal/keys", json={"key": key})).json()
    session_id = await agent_arrives(harness, key)
    [waiting] = (await org.admin.get("/api/v1/queue")).json()["personal"]
    assert (waiting["id"], waiting["customer_name"], waiting["reference"]) == (
        session_id,
        "Zoë Ōtsuka",
        "T-1234",
    )
    assert waiting["issue_type_name"] == ""
    await org.admin.post(f"/api/v1/sessions/{session_id}/accept")
    customer = harness.client()
    customer.headers["x-customer-token"] = start["customer_token"]
    said = await customer.post("/api/v1/portal/session/chat", json={"text": "hi"})
    assert said.status_code == 201, said.text
    detail = (await org.admin.get(f"/api/v1/sessions/{session_id}")).json()
    assert [(m["sender"], m["sender_name"]) for m in detail["chat"]] == [("customer", "Zoë Ōtsuka")]


async def test_without_a_name_the_session_never_takes_the_os_login(
    org: Org, harness: Harness
) -> None:
    key = (await new_key(org.admin))["key"]
    await agent_arrives(harness, key)
    [waiting] = (await org.admin.get("/api/v1/queue")).json()["personal"]
    assert waiting["device"]["username"] == "maria"
    assert (waiting["customer_name"], waiting["reference"]) == ("", "")


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"customer_name": "x" * 201}, "customer_name", "validation_error"),
        ({"reference": "x" * 101}, "reference", "validation_error"),
        ({"reference": "T-1\nT-2"}, "reference", "invalid_reference"),
        ({"customer_name": "Ada\u0000"}, "customer_name", "invalid_customer_name"),
        ({"reference": 1234}, "reference", "validation_error"),
    ],
)
async def test_bad_names_and_references_are_refused_with_a_specific_error(
    org: Org, body: dict[str, Any], field: str, code: str
) -> None:
    refused = await org.admin.post("/api/v1/session-keys", json={"validity_minutes": 60, **body})
    assert refused.status_code == 422, refused.text
    error = refused.json()
    assert error["code"] == code, error
    assert error.get("field") == field or field in error["message"], error
    assert (await org.admin.get("/api/v1/session-keys")).json() == []


async def test_chat_both_ways_in_full_unicode(org: Org, harness: Harness) -> None:
    key = (await new_key(org.admin))["key"]
    start = (await harness.client().post("/api/v1/portal/keys", json={"key": key})).json()
    session_id = await agent_arrives(harness, key)
    customer = harness.client()
    customer.headers["x-customer-token"] = start["customer_token"]

    not_yet = await org.admin.post(f"/api/v1/sessions/{session_id}/chat", json={"text": "hello"})
    assert not_yet.status_code == 403
    await org.admin.post(f"/api/v1/sessions/{session_id}/accept")
    text = "你好 مرحبا 👋"
    assert (
        await org.admin.post(f"/api/v1/sessions/{session_id}/chat", json={"text": text})
    ).status_code == 201
    assert (
        await customer.post("/api/v1/portal/session/chat", json={"text": "Merci ✓"})
    ).status_code == 201
    detail = (await org.admin.get(f"/api/v1/sessions/{session_id}")).json()
    assert [(m["sender"], m["text"]) for m in detail["chat"]] == [
        ("technician", text),
        ("customer", "Merci ✓"),
    ]
    seen = (await customer.get("/api/v1/portal/session")).json()
    assert seen["status"] == "active" and seen["technician"]["name"] == "Ada"
    assert [m["text"] for m in seen["chat"]] == [text, "Merci ✓"]
    empty = await customer.post("/api/v1/portal/session/chat", json={"text": "   "})
    assert empty.status_code == 422


async def test_chat_disabled_by_the_organisation(org: Org, harness: Harness) -> None:
    key = (await new_key(org.admin))["key"]
    session_id = await agent_arrives(harness, key)
    await org.admin.post(f"/api/v1/sessions/{session_id}/accept")
    await org.admin.patch("/api/v1/organisation/settings", json={"chat_disabled": True})
    refused = await org.admin.post(f"/api/v1/sessions/{session_id}/chat", json={"text": "hi"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "chat_disabled"
    assert (await org.admin.get(f"/api/v1/sessions/{session_id}")).json()["chat_enabled"] is False


async def test_customer_page_is_authorised_by_its_secret_only(org: Org, harness: Harness) -> None:
    stranger = harness.client()
    missing = await stranger.get("/api/v1/portal/session")
    assert missing.status_code == 422
    wrong = await stranger.get("/api/v1/portal/session", headers={"x-customer-token": "guess"})
    assert wrong.status_code == 404
    key = (await new_key(org.admin))["key"]
    token = (await stranger.post("/api/v1/portal/keys", json={"key": key})).json()["customer_token"]
    waiting = await stranger.get("/api/v1/portal/session", headers={"x-customer-token": token})
    assert waiting.json()["status"] == "waiting_for_agent"
    early = await stranger.post(
        "/api/v1/portal/session/chat", json={"text": "hi"}, headers={"x-customer-token": token}
    )
    assert early.status_code == 409 and early.json()["code"] == "agent_not_connected"


async def test_hold_returns_the_session_to_the_personal_queue(org: Org, harness: Harness) -> None:
    session_id = await agent_arrives(harness, (await new_key(org.admin))["key"])
    await org.admin.post(f"/api/v1/sessions/{session_id}/accept")
    held = await org.admin.post(f"/api/v1/sessions/{session_id}/hold")
    assert held.json()["session"]["status"] == "held"
    queue = (await org.admin.get("/api/v1/queue")).json()
    assert [s["id"] for s in queue["personal"]] == [session_id] and queue["mine"] == []
    assert (await org.admin.post(f"/api/v1/sessions/{session_id}/accept")).json()["session"][
        "status"
    ] == "active"


async def test_end_by_owner_or_customer_and_the_report(org: Org, harness: Harness) -> None:
    key = (await new_key(org.admin))["key"]
    token = (await harness.client().post("/api/v1/portal/keys", json={"key": key})).json()[
        "customer_token"
    ]
    session_id = await agent_arrives(harness, key)
    await org.admin.post(f"/api/v1/sessions/{session_id}/accept")
    await org.admin.post(f"/api/v1/sessions/{session_id}/chat", json={"text": "Bonjour"})
    customer = harness.client()
    assert (
        await customer.post("/api/v1/portal/session/end", headers={"x-customer-token": token})
    ).status_code == 204
    again = await org.admin.post(f"/api/v1/sessions/{session_id}/end")
    assert again.status_code == 409

    report = (await org.admin.get(f"/api/v1/reports/sessions/{session_id}")).json()
    assert report["session"]["status"] == "ended"
    assert report["session"]["ended_by"] == "customer"
    assert [e["kind"] for e in report["events"]] == [
        "agent.connected",
        "session.accepted",
        "chat",
        "session.ended",
    ]
    assert [m["text"] for m in report["chat"]] == ["Bonjour"]
    assert report["duration_seconds"] is not None and report["duration_seconds"] >= 0
    listed = (await org.admin.get("/api/v1/reports/sessions")).json()
    assert [s["id"] for s in listed["items"]] == [session_id]
    actions = [
        e["action"]
        for e in (await org.admin.get("/api/v1/audit", params={"action": "session."})).json()[
            "items"
        ]
    ]
    assert actions == ["session.ended", "session.accepted", "session.started"]


async def test_other_technicians_and_organisations_do_not_see_the_session(
    org: Org, harness: Harness
) -> None:
    session_id = await agent_arrives(harness, (await new_key(org.admin))["key"])
    await harness.user(org.id, "bob@acme.test", "operator")
    bob = await harness.signed_in("bob@acme.test")
    assert (await bob.get("/api/v1/queue")).json()["personal"] == []
    for path in ("", "/accept", "/end"):
        method = bob.get if not path else bob.post
        assert (await method(f"/api/v1/sessions/{session_id}{path}")).status_code == 404
    other = await harness.organisation("Other Corp")
    await harness.user(other, "olga@other.test", "admin")
    olga = await harness.signed_in("olga@other.test")
    assert (await olga.get(f"/api/v1/reports/sessions/{session_id}")).status_code == 404
    assert (await bob.get("/api/v1/reports/sessions")).json() == {"items": [], "total": 0}
    assert (await bob.get(f"/api/v1/reports/sessions/{session_id}")).status_code == 404


async def test_a_technician_reads_the_reports_of_his_sessions_and_an_administrator_all(
    org: Org, harness: Harness
) -> None:
    await harness.user(org.id, "bob@acme.test", "operator")
    bob = await harness.signed_in("bob@acme.test")
    bobs = await agent_arrives(harness, (await new_key(bob))["key"], hostname="pc-bob")
    assert (await bob.post(f"/api/v1/sessions/{bobs}/accept")).status_code == 200
    await bob.post(f"/api/v1/sessions/{bobs}/chat", json={"text": "Hallo Maria"})
    assert (await bob.post(f"/api/v1/sessions/{bobs}/end")).status_code == 200
    admins = await agent_arrives(harness, (await new_key(org.admin))["key"], hostname="pc-admin")
    await org.admin.post(f"/api/v1/sessions/{admins}/accept")

    listed = (await bob.get("/api/v1/reports/sessions")).json()
    assert [s["id"] for s in listed["items"]] == [bobs] and listed["total"] == 1
    report = (await bob.get(f"/api/v1/reports/sessions/{bobs}")).json()
    assert [m["text"] for m in report["chat"]] == ["Hallo Maria"]
    assert "session.accepted" in [e["kind"] for e in report["events"]]
    refused = await bob.get(f"/api/v1/reports/sessions/{admins}")
    assert refused.status_code == 404 and refused.json()["code"] == "session_not_found"
    everything = (await org.admin.get("/api/v1/reports/sessions")).json()
    assert [s["id"] for s in everything["items"]] == [admins, bobs]


async def test_outstanding_keys_are_listed_and_revoked(org: Org, harness: Harness) -> None:
    await harness.user(org.id, "bob@acme.test", "operator")
    bob = await harness.signed_in("bob@acme.test")
    bobs_key = await new_key(bob)
    admins_key = await new_key(org.admin)
    used = await new_key(bob)
    await agent_arrives(harness, used["key"])

    (listed,) = (await bob.get("/api/v1/session-keys")).json()
    assert listed["created_by_name"] == (await bob.get("/api/v1/me")).json()["name"]
    assert listed["expires_at"] == bobs_key["expires_at"]
    assert "key" not in listed
    everything = (await org.admin.get("/api/v1/session-keys")).json()
    assert len(everything) == 2 and listed["id"] in [k["id"] for k in everything]
    admins_id = next(k["id"] for k in everything if k["id"] != listed["id"])

    refused = await bob.post(f"/api/v1/session-keys/{admins_id}/revoke")
    assert refused.status_code == 404 and refused.json()["code"] == "session_key_not_found"
    assert (await bob.post(f"/api/v1/session-keys/{listed['id']}/revoke")).status_code == 204
    assert (await bob.get("/api/v1/session-keys")).json() == []

    portal = await harness.client().post("/api/v1/portal/keys", json={"key": bobs_key["key"]})
    assert portal.status_code == 409
    assert portal.json()["code"] == "session_key_revoked"
    assert "revoked by the technician" in portal.json()["detail"]
    works = await harness.client().post("/api/v1/portal/keys", json={"key": admins_key["key"]})
    assert works.status_code == 200, works.text
    audit = (await org.admin.get("/api/v1/audit", params={"action": "session_key.revoked"})).json()
    assert [e["target"] for e in audit["items"]] == [f"session_key:{listed['id']}"]


async def test_issue_form_routes_to_the_team_queue(org: Org, harness: Harness) -> None:
    team = (
        await org.admin.post(
            "/api/v1/teams", json={"name": "Printers", "member_ids": [org.admin_user.id]}
        )
    ).json()
    created = await org.admin.post(
        "/api/v1/issue-types", json={"name": "Printing problem", "team_id": team["id"]}
    )
    assert created.status_code == 201, created.text
    issue_type_id = created.json()["id"]
    duplicate = await org.admin.post(
        "/api/v1/issue-types", json={"name": "Printing problem", "team_id": team["id"]}
    )
    assert duplicate.status_code == 409
    front = (await harness.client().get("/api/v1/portal")).json()
    assert front["issue_types"] == [{"id": issue_type_id, "name": "Printing problem"}]
    start = await harness.client().post(
        "/api/v1/portal/issues",
        json={"issue_type_id": issue_type_id, "customer_name": "Maria", "description": "Paper jam"},
    )
    assert start.status_code == 200, start.text
    assert start.json()["team_name"] == "Printers"
    session_id = await agent_arrives(harness, start.json()["key"])
    queue = (await org.admin.get("/api/v1/queue")).json()
    [team_queue] = queue["teams"]
    assert team_queue["team_name"] == "Printers"
    [card] = team_queue["sessions"]
    assert (
        card["id"],
        card["customer_name"],
        card["issue_type_name"],
        card["issue_description"],
    ) == (session_id, "Maria", "Printing problem", "Paper jam")
    no_name = await harness.client().post(
        "/api/v1/portal/issues", json={"issue_type_id": issue_type_id, "customer_name": " "}
    )
    assert no_name.status_code == 422


async def test_unavailable_technician_cannot_be_picked(org: Org, harness: Harness) -> None:
    response = await harness.client().post(
        "/api/v1/portal/technicians",
        json={"technician_id": org.admin_user.id, "customer_name": "Maria"},
    )
    assert response.status_code == 404
    assert response.json()["code"] == "technician_unavailable"


async def test_emailing_a_key_without_a_mail_server_says_so(org: Org) -> None:
    key = (await new_key(org.admin))["key"]
    response = await org.admin.post(
        "/api/v1/session-keys/email", json={"key": key, "email": "maria@customer.test"}
    )
    assert response.status_code == 503
    assert response.json()["code"] == "mail_not_configured"


async def test_system_information_needs_the_agent_connected(org: Org, harness: Harness) -> None:
    # The agent here only enrolled through the domain: no control channel is open.
    session_id = await agent_arrives(harness, (await new_key(org.admin))["key"])
    accepted = await org.admin.post(f"/api/v1/sessions/{session_id}/accept")
    assert accepted.json()["agent_connected"] is False
    refused = await org.admin.post(f"/api/v1/sessions/{session_id}/sysinfo")
    assert refused.status_code == 409
    assert refused.json()["code"] == "agent_offline"
    assert "not connected" in refused.json()["detail"]
