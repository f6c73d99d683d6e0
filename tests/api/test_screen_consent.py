"""Screen-sharing consent (TOOL-2, GOV-2): the technician asks, the customer decides, can revoke
control or stop sharing at any time; tunnels open only on a granted screen."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Harness, Org
from tests.fixtures.attended import agent_arrives, new_key


async def active_session(org: Org, harness: Harness) -> tuple[int, Any]:
    key = (await new_key(org.admin))["key"]
    token = (await harness.client().post("/api/v1/portal/keys", json={"key": key})).json()[
        "customer_token"
    ]
    session_id = await agent_arrives(harness, key)
    await org.admin.post(f"/api/v1/sessions/{session_id}/accept")
    customer = harness.client()
    customer.headers["x-customer-token"] = token
    return session_id, customer


async def test_control_needs_the_customers_consent(org: Org, harness: Harness) -> None:
    sid, customer = await active_session(org, harness)
    early = await org.admin.post(f"/api/v1/sessions/{sid}/screen/tunnel")
    assert early.status_code == 403 and early.json()["code"] == "screen_not_granted"

    asked = await org.admin.post(f"/api/v1/sessions/{sid}/screen/request", json={"mode": "control"})
    assert (asked.json()["screen_state"], asked.json()["screen_requested"]) == (
        "requested",
        "control",
    )
    seen = (await customer.get("/api/v1/portal/session")).json()
    assert (seen["screen_state"], seen["screen_requested"]) == ("requested", "control")

    assert (
        await customer.post("/api/v1/portal/session/screen/answer", json={"allow": True})
    ).status_code == 204
    state = (await org.admin.get(f"/api/v1/sessions/{sid}")).json()["session"]
    assert (state["screen_state"], state["screen_requested"]) == ("control", "")

    tunnel = await org.admin.post(f"/api/v1/sessions/{sid}/screen/tunnel")
    assert tunnel.status_code == 201
    assert tunnel.json()["path"] == f"/relay/{tunnel.json()['tunnel_id']}"  # no secret in it
    assert tunnel.json()["token"]

    assert (await customer.post("/api/v1/portal/session/screen/revoke-control")).status_code == 204
    assert (await org.admin.get(f"/api/v1/sessions/{sid}")).json()["session"][
        "screen_state"
    ] == "view"
    assert (await customer.post("/api/v1/portal/session/screen/stop")).status_code == 204
    assert (await org.admin.get(f"/api/v1/sessions/{sid}")).json()["session"][
        "screen_state"
    ] == "off"

    report = (await org.admin.get(f"/api/v1/reports/sessions/{sid}")).json()
    kinds = [e["kind"] for e in report["events"] if e["kind"].startswith(("screen.", "tunnel."))]
    assert kinds == [
        "screen.requested",
        "screen.granted",
        "tunnel.opened",
        "screen.control_revoked",
        "screen.stopped",
    ]
    audited = [
        e["action"]
        for e in (await org.admin.get("/api/v1/audit", params={"action": "screen."})).json()[
            "items"
        ]
    ]
    assert audited == [
        "screen.stopped",
        "screen.control_revoked",
        "screen.granted",
        "screen.requested",
    ]


async def test_denied_request_leaves_the_screen_off(org: Org, harness: Harness) -> None:
    sid, customer = await active_session(org, harness)
    await org.admin.post(f"/api/v1/sessions/{sid}/screen/request", json={"mode": "view"})
    assert (
        await customer.post("/api/v1/portal/session/screen/answer", json={"allow": False})
    ).status_code == 204
    state = (await org.admin.get(f"/api/v1/sessions/{sid}")).json()["session"]
    assert (state["screen_state"], state["screen_requested"]) == ("off", "")
    assert (await org.admin.post(f"/api/v1/sessions/{sid}/screen/tunnel")).status_code == 403
    nothing = await customer.post("/api/v1/portal/session/screen/answer", json={"allow": True})
    assert nothing.status_code == 409 and nothing.json()["code"] == "no_screen_request"


async def test_without_full_control_a_technician_can_only_view(org: Org, harness: Harness) -> None:
    team = (await org.admin.post("/api/v1/teams", json={"name": "Viewers"})).json()
    viewer = await harness.user(org.id, "vera@acme.test", "viewer")
    await org.admin.patch(f"/api/v1/teams/{team['id']}", json={"member_ids": [viewer.id]})
    issue = (
        await org.admin.post(
            "/api/v1/issue-types", json={"name": "Look only", "team_id": team["id"]}
        )
    ).json()
    start = (
        await harness.client().post(
            "/api/v1/portal/issues", json={"issue_type_id": issue["id"], "customer_name": "Maria"}
        )
    ).json()
    sid = await agent_arrives(harness, start["key"])
    vera = await harness.signed_in("vera@acme.test")
    assert (await vera.post(f"/api/v1/sessions/{sid}/accept")).status_code == 200
    refused = await vera.post(f"/api/v1/sessions/{sid}/screen/request", json={"mode": "control"})
    assert refused.status_code == 403
    assert (
        refused.json()["detail"]
        == "You need the permission 'Full control (mouse and keyboard)' to do this."
    )
    allowed = await vera.post(f"/api/v1/sessions/{sid}/screen/request", json={"mode": "view"})
    assert allowed.json()["screen_requested"] == "view"


@pytest.mark.parametrize("mode", ["watch", ""])
async def test_unknown_modes_are_refused(org: Org, harness: Harness, mode: str) -> None:
    sid, _ = await active_session(org, harness)
    response = await org.admin.post(f"/api/v1/sessions/{sid}/screen/request", json={"mode": mode})
    assert response.status_code == 422
