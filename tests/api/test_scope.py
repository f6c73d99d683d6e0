"""Scope is enforced (GOV-3, SEC-3; issue 11, defect 18): a role assignment limited to device
groups grants its device rights on devices of those groups only. Before, `has_for_group` was never
called and a technician scoped to one group could list, accept, chat in, view, open shells and
files on, ask for system information of and end the sessions of every device.

The matrix: roles × scopes × devices (in the technician's group, in another group, in no group)
× every technician route on a session. Out of scope, a session does not exist for him (hidden from
lists, 404 on every direct call, never 403: no existence oracle); in scope without the right, 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from relaydesk.server.db.models import AuditEntry, Device, SupportSession, utcnow
from tests.api.conftest import Harness, Org
from tests.fixtures.attended import agent_enrols

DEVICE_RIGHTS = {
    "Help desk operator": {"view_screen", "shell", "files"},
    "Viewer": {"view_screen"},
}

# role name → scope ("all" or the device group names); one scenario per technician
SCENARIOS: dict[str, list[tuple[str, str | list[str]]]] = {
    "operator-everywhere": [("Help desk operator", "all")],
    "operator-in-berlin": [("Help desk operator", ["Berlin"])],
    "viewer-everywhere": [("Viewer", "all")],
    "viewer-in-berlin": [("Viewer", ["Berlin"])],
    "viewer-everywhere-operator-in-berlin": [
        ("Viewer", "all"),
        ("Help desk operator", ["Berlin"]),
    ],
}
DEVICES = ("Berlin", "Paris", None)  # the group of the customer's computer


@dataclass
class Cell:
    """One device: a session waiting in the technician's team queue, and one he owns."""

    waiting: int
    owned: int


Route = Callable[[httpx.AsyncClient, Cell], Awaitable[httpx.Response]]


async def _listed(client: httpx.AsyncClient, cell: Cell) -> httpx.Response:
    queue = (await client.get("/api/v1/queue")).json()
    ids = {s["id"] for t in queue["teams"] for s in t["sessions"]} | {
        s["id"] for s in queue["mine"] + queue["personal"]
    }
    # Both sessions listed → 200, both hidden → 404, anything else shows as 500.
    listed = {cell.waiting in ids, cell.owned in ids}
    return httpx.Response(200 if listed == {True} else 404 if listed == {False} else 500)


# route → (call, the device right it needs, its answer when allowed)
ROUTES: dict[str, tuple[Route, str | None, int]] = {
    "list": (_listed, None, 200),
    "get": (lambda c, cell: c.get(f"/api/v1/sessions/{cell.waiting}"), None, 200),
    "accept": (lambda c, cell: c.post(f"/api/v1/sessions/{cell.waiting}/accept"), None, 200),
    "chat": (
        lambda c, cell: c.post(f"/api/v1/sessions/{cell.owned}/chat", json={"text": "Hello"}),
        None,
        201,
    ),
    "screen request": (
        lambda c, cell: c.post(
            f"/api/v1/sessions/{cell.owned}/screen/request", json={"mode": "view"}
        ),
        "view_screen",
        200,
    ),
    "screen tunnel": (
        lambda c, cell: c.post(f"/api/v1/sessions/{cell.owned}/screen/tunnel"),
        "view_screen",
        201,
    ),
    "shell tunnel": (
        lambda c, cell: c.post(f"/api/v1/sessions/{cell.owned}/shell/tunnel"),
        "shell",
        201,
    ),
    "files tunnel": (
        lambda c, cell: c.post(f"/api/v1/sessions/{cell.owned}/files/tunnel"),
        "files",
        201,
    ),
    # No agent is connected here: 409 agent_offline is the answer of a request that got through.
    "sysinfo": (lambda c, cell: c.post(f"/api/v1/sessions/{cell.owned}/sysinfo"), None, 409),
    "screen stop": (
        lambda c, cell: c.post(f"/api/v1/sessions/{cell.owned}/screen/stop"),
        None,
        200,
    ),
    "hold": (lambda c, cell: c.post(f"/api/v1/sessions/{cell.owned}/hold"), None, 200),
    "end": (lambda c, cell: c.post(f"/api/v1/sessions/{cell.owned}/end"), None, 200),
}


def expected_answer(scenario: str, device: str | None, route: str) -> int:
    """The rule, written independently of the server: a right he has nowhere is refused before
    the session is looked at (403 whatever the id: no oracle); then scope (404); then the right
    on this device (403)."""
    _, right, allowed = ROUTES[route]
    if right is not None and not any(right in DEVICE_RIGHTS[r] for r, _ in SCENARIOS[scenario]):
        return 403
    covering = [
        role
        for role, scope in SCENARIOS[scenario]
        if scope == "all" or (device is not None and device in scope)
    ]
    if not covering:
        return 404
    if right is not None and not any(right in DEVICE_RIGHTS[role] for role in covering):
        return 403
    return allowed


async def post_ok(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def technician(
    org: Org, harness: Harness, email: str, grants: list[tuple[str, str | list[str]]]
) -> tuple[int, httpx.AsyncClient, dict[str, int]]:
    """A technician with the given role assignments, and the organisation's device groups."""
    groups = {
        name: (await post_ok(org.admin, "/api/v1/device-groups", {"name": name}))["id"]
        for name in ("Berlin", "Paris")
    }
    roles = {r["name"]: r["id"] for r in (await org.admin.get("/api/v1/roles")).json()}
    user = await harness.user(org.id, email, role=None)
    for role, scope in grants:
        body: dict[str, Any] = (
            {"role_id": roles[role], "scope": "all"}
            if scope == "all"
            else {
                "role_id": roles[role],
                "scope": "groups",
                "device_group_ids": [groups[g] for g in scope],
            }
        )
        await post_ok(org.admin, f"/api/v1/users/{user.id}/role-assignments", body)
    return user.id, await harness.signed_in(email), groups


async def customers_arrive(
    org: Org, harness: Harness, user_id: int, groups: dict[str, int]
) -> dict[str | None, Cell]:
    """Customers file issues whose types put their computers in Berlin, Paris or no group; all
    go to the technician's team. Of each pair he owns the second (accepted when his scope was
    wider, say) with the screen shared, so that only scope stands between him and it."""
    team = await post_ok(org.admin, "/api/v1/teams", {"name": "Desk", "member_ids": [user_id]})
    cells: dict[str | None, Cell] = {}
    for device in DEVICES:
        body: dict[str, Any] = {"name": f"Issue {device or 'anywhere'}", "team_id": team["id"]}
        if device is not None:
            body["device_group_id"] = groups[device]
        issue_type = await post_ok(org.admin, "/api/v1/issue-types", body)
        assert issue_type["device_group_id"] == body.get("device_group_id")
        ids = []
        for n in range(2):
            start = await post_ok(
                harness.client(),
                "/api/v1/portal/issues",
                {"issue_type_id": issue_type["id"], "customer_name": f"Maria {n}"},
            )
            async with harness.db() as db:
                ids.append(await agent_enrols(db, start["key"], f"pc-{device}-{n}"))
        cells[device] = Cell(*ids)
        async with harness.db() as db:
            owned = await db.get(SupportSession, cells[device].owned)
            assert owned is not None
            owned.status, owned.owner_id, owned.queue_user_id = "active", user_id, user_id
            owned.accepted_at, owned.screen_state = utcnow(), "view"
            device_row = await db.get(Device, owned.device_id)
            assert device_row is not None
            assert device_row.device_group_id == (groups[device] if device else None)
    return cells


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_every_route_answers_by_scope(org: Org, harness: Harness, scenario: str) -> None:
    user_id, client, groups = await technician(org, harness, "tom@acme.test", SCENARIOS[scenario])
    cells = await customers_arrive(org, harness, user_id, groups)
    answers: dict[tuple[str, str], int] = {}
    codes: dict[tuple[str, str], str] = {}
    for device, cell in cells.items():
        for route, (call, _, _) in ROUTES.items():
            response = await call(client, cell)
            answers[(str(device), route)] = response.status_code
            if response.status_code in (403, 404) and route != "list":
                codes[(str(device), route)] = response.json()["code"]
    expected = {
        (str(device), route): expected_answer(scenario, device, route)
        for device in DEVICES
        for route in ROUTES
    }
    assert answers == expected
    # Out of scope it is the same answer as for a session that does not exist.
    for cell_route, status in answers.items():
        if status == 404 and cell_route[1] != "list":
            assert codes[cell_route] == "session_not_found", cell_route
        if status == 403:
            assert codes[cell_route] == "permission_denied", cell_route
    # Nothing was done on an out-of-scope session: its only audit entry is the agent's arrival.
    for device, cell in cells.items():
        if expected[(str(device), "get")] == 404:
            for session_id in (cell.waiting, cell.owned):
                assert await audited_actions(harness, session_id) == ["session.started"]


async def audited_actions(harness: Harness, session_id: int) -> list[str]:
    async with harness.db() as db:
        rows = await db.execute(
            select(AuditEntry.action)
            .where(AuditEntry.target == f"session:{session_id}")
            .order_by(AuditEntry.seq)
        )
        return [action for (action,) in rows]


async def test_a_scoped_technician_picks_a_group_for_his_key(org: Org, harness: Harness) -> None:
    user_id, tom, groups = await technician(
        org, harness, "tom@acme.test", [("Help desk operator", ["Berlin"])]
    )
    offered = (await tom.get("/api/v1/session-keys/device-groups")).json()
    assert [g["name"] for g in offered] == ["Berlin"]
    everywhere = (await org.admin.get("/api/v1/session-keys/device-groups")).json()
    assert [g["name"] for g in everywhere] == ["Berlin", "Paris"]

    no_group = await tom.post("/api/v1/session-keys", json={"validity_minutes": 15})
    assert no_group.status_code == 422
    assert no_group.json()["code"] == "device_group_required"
    outside = await tom.post(
        "/api/v1/session-keys", json={"validity_minutes": 15, "device_group_id": groups["Paris"]}
    )
    assert outside.status_code == 404
    assert outside.json()["code"] == "device_group_not_found"
    inside = await tom.post(
        "/api/v1/session-keys", json={"validity_minutes": 15, "device_group_id": groups["Berlin"]}
    )
    assert inside.status_code == 201, inside.text
    async with harness.db() as db:
        sid = await agent_enrols(db, inside.json()["key"])
    accepted = await tom.post(f"/api/v1/sessions/{sid}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["session"]["device"]["device_group_id"] == groups["Berlin"]
    # An administrator whose roles reach every device may leave the group out.
    unscoped = await org.admin.post("/api/v1/session-keys", json={"validity_minutes": 15})
    assert unscoped.status_code == 201
    async with harness.db() as db:
        sid = await agent_enrols(db, unscoped.json()["key"])
    detail = (await org.admin.post(f"/api/v1/sessions/{sid}/accept")).json()
    assert detail["session"]["device"]["device_group_id"] is None


async def test_file_roots_come_from_the_assignments_that_reach_the_device(
    org: Org, harness: Harness
) -> None:
    """Roles add up per device: a role confined to /srv in Berlin gives no paths in Paris."""
    groups = {
        name: (await post_ok(org.admin, "/api/v1/device-groups", {"name": name}))["id"]
        for name in ("Berlin", "Paris")
    }
    wide = await post_ok(
        org.admin,
        "/api/v1/roles",
        {"name": "Files anywhere", "permissions": ["file_download"], "allowed_paths": ["/tmp"]},
    )
    narrow = await post_ok(
        org.admin,
        "/api/v1/roles",
        {"name": "Files in Berlin", "permissions": ["file_upload"], "allowed_paths": ["/srv"]},
    )
    user = await harness.user(org.id, "fay@acme.test", role=None)
    await post_ok(org.admin, f"/api/v1/users/{user.id}/role-assignments", {"role_id": wide["id"]})
    await post_ok(
        org.admin,
        f"/api/v1/users/{user.id}/role-assignments",
        {"role_id": narrow["id"], "scope": "groups", "device_group_ids": [groups["Berlin"]]},
    )
    fay = await harness.signed_in("fay@acme.test")
    grants = {}
    for name, group in groups.items():
        key = await post_ok(
            org.admin, "/api/v1/session-keys", {"validity_minutes": 15, "device_group_id": group}
        )
        async with harness.db() as db:
            sid = await agent_enrols(db, key["key"])
            session = await db.get(SupportSession, sid)
            assert session is not None
            session.status, session.owner_id, session.queue_user_id = "active", user.id, user.id
        opened = await fay.post(f"/api/v1/sessions/{sid}/files/tunnel")
        assert opened.status_code == 201, opened.text
        grants[name] = {k: opened.json()[k] for k in ("upload", "download", "roots")}
    assert grants == {
        "Berlin": {"upload": True, "download": True, "roots": ["/srv", "/tmp"]},
        "Paris": {"upload": False, "download": True, "roots": ["/tmp"]},
    }
