"""Scope as a matrix (issue 13 item 9, GOV-3), on SQLite and PostgreSQL.

Every device-facing right follows the role assignment's scope (device groups). A technician
whose role reaches all devices, only group X, only group Y, or none of the groups with devices
(an empty group Z), and one with the Viewer role on group X (no 'Manage devices', no
'Unattended access'), calls every device-facing endpoint of the API on a device of group X and
one of group Y, as the console would. Expected, for each call:

- a device outside his scope is absent from every list and search (devices, search, filters'
  companies, frequently used, installers, jump policies) and answers 404 (device_not_found, or
  the group's/installer's own not-found code) on every direct call;
- in scope but without the permission the call needs: 403;
- in scope with it: what the rule answers (200/201/202/204, or a conflict that is not about
  scope, such as device_offline for a device whose agent is not connected).

The endpoints are enumerated from the app's routes: a device-facing route (under /devices,
/installers or /jump-policies, or with {device_id} in its path) that is not in the matrix
fails the test, so that a new endpoint gets its row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute

from relaydesk.server.app import create_app
from relaydesk.server.config import Settings
from relaydesk.server.db.models import Device, DeviceGroup
from tests.api.conftest import Harness, Org

Call = Callable[["World", int], Awaitable[httpx.Response]]

MANAGE = "manage_devices"
UNATTENDED = "unattended_access"
DEVICE_TECHNICIAN = ["view_screen", MANAGE, UNATTENDED, "override_schedules"]


@dataclass(frozen=True)
class Assignment:
    """A role assignment: the role's permissions and the groups its scope names (None: all)."""

    name: str
    permissions: tuple[str, ...]
    groups: tuple[str, ...] | None

    def reaches(self, group: str) -> bool:
        return self.groups is None or group in self.groups

    def has(self, permission: str) -> bool:
        return permission in self.permissions


ASSIGNMENTS = [
    Assignment("all devices", tuple(DEVICE_TECHNICIAN), None),
    Assignment("group X", tuple(DEVICE_TECHNICIAN), ("X",)),
    Assignment("group Y", tuple(DEVICE_TECHNICIAN), ("Y",)),
    Assignment("none (empty group Z)", tuple(DEVICE_TECHNICIAN), ("Z",)),
    Assignment("viewer on group X", ("view_screen",), ("X",)),
]


async def add_group(harness: Harness, org_id: int, name: str) -> int:
    async with harness.db() as db:
        group = DeviceGroup(organisation_id=org_id, name=name, description="")
        db.add(group)
        await db.flush()
        return group.id


async def add_device(harness: Harness, org_id: int, hostname: str, group_id: int) -> int:
    """An installed device as its enrolment leaves it (its agent not connected now)."""
    async with harness.db() as db:
        device = Device(
            organisation_id=org_id,
            kind="unattended",
            public_key="k" * 43,
            hostname=hostname,
            os="Debian GNU/Linux 12 (bookworm)",
            company=f"Company {hostname[0].upper()}",
            device_group_id=group_id,
            created_at=datetime.now(UTC),
            last_seen_at=datetime.now(UTC),
        )
        db.add(device)
        await db.flush()
        return device.id


@dataclass
class World:
    """One organisation: groups X, Y, Z; in X and Y a device for each kind of call (reads,
    a move, a deletion), an installer and a group jump policy each; the technician."""

    org: Org
    groups: dict[str, int]
    devices: dict[tuple[str, str], int]  # (group, purpose) → device id
    installers: dict[str, int]
    technician: httpx.AsyncClient
    assignment: Assignment

    def device(self, group: str, purpose: str = "main") -> int:
        return self.devices[(group, purpose)]


async def build(org: Org, harness: Harness, assignment: Assignment) -> World:
    admin = org.admin
    response = await admin.patch(
        "/api/v1/organisation/settings", json={"unattended_access_enabled": True}
    )
    assert response.status_code == 200, response.text
    groups = {name: await add_group(harness, org.id, f"Group {name}") for name in "XYZ"}
    devices = {}
    for group in "XY":
        for purpose in ("main", "move", "delete"):
            devices[(group, purpose)] = await add_device(
                harness, org.id, f"{group.lower()}-{purpose}", groups[group]
            )
    installers = {}
    for group in "XY":
        made = await admin.post(
            "/api/v1/installers",
            json={"company": f"Company {group}", "device_group_id": groups[group]},
        )
        assert made.status_code == 201, made.text
        installers[group] = made.json()["installer"]["id"]
        policy = await admin.put(f"/api/v1/jump-policies/groups/{groups[group]}", json={})
        assert policy.status_code == 200, policy.text
    role = await admin.post(
        "/api/v1/roles",
        json={"name": f"Role of {assignment.name}", "permissions": list(assignment.permissions)},
    )
    assert role.status_code == 201, role.text
    email = "tess@acme.test"
    user = await harness.user(org.id, email, role=None)
    scope: dict[str, Any] = (
        {"scope": "all"}
        if assignment.groups is None
        else {"scope": "groups", "device_group_ids": [groups[g] for g in assignment.groups]}
    )
    assigned = await admin.post(
        f"/api/v1/users/{user.id}/role-assignments", json={"role_id": role.json()["id"], **scope}
    )
    assert assigned.status_code == 201, assigned.text
    technician = await harness.signed_in(email)
    return World(org, groups, devices, installers, technician, assignment)


# --- the calls: each takes the world and the group of the device (or group) it acts on ------
def on_device(method: str, suffix: str = "", body: Any = None, purpose: str = "main") -> Call:
    async def call(world: World, group: str) -> httpx.Response:  # type: ignore[misc]
        device_id = world.device(group, purpose)
        kwargs = {} if body is None else {"json": body(world, group) if callable(body) else body}
        return await world.technician.request(
            method, f"/api/v1/devices/{device_id}{suffix}", **kwargs
        )

    return call  # type: ignore[return-value]


def other(group: str) -> str:
    return "Y" if group == "X" else "X"


async def create_installer(world: World, group: str) -> httpx.Response:
    return await world.technician.post(
        "/api/v1/installers",
        json={"company": f"Company {group}", "device_group_id": world.groups[group]},
    )


async def revoke_installer(world: World, group: str) -> httpx.Response:
    return await world.technician.post(f"/api/v1/installers/{world.installers[group]}/revoke")


async def set_group_policy(world: World, group: str) -> httpx.Response:
    path = f"/api/v1/jump-policies/groups/{world.groups[group]}"
    return await world.technician.put(path, json={"prompt": "ask"})


async def remove_group_policy(world: World, group: str) -> httpx.Response:
    return await world.technician.delete(f"/api/v1/jump-policies/groups/{world.groups[group]}")


@dataclass(frozen=True)
class Row:
    """One direct call: what it needs, and what it answers in scope with that permission
    (a status, or a conflict code that is not about scope)."""

    call: Call
    needs: str | None  # the permission beyond reaching the device (None: reaching is enough)
    allowed: tuple[int, ...]
    not_found: str = "device_not_found"
    # Refused before the device is looked up when the permission is missing altogether: a 403
    # then, whatever the device (it says nothing about the device).
    checks_permission_first: bool = False
    # A move also needs the permission on the target group (the other one).
    target_group_too: bool = False


DIRECT: dict[tuple[str, str], Row] = {
    ("GET", "/api/v1/devices/{device_id}"): Row(on_device("GET"), None, (200,)),
    ("PATCH", "/api/v1/devices/{device_id}"): Row(
        on_device("PATCH", body={"nickname": "Renamed", "tags": ["matrix"]}), MANAGE, (200,)
    ),
    ("DELETE", "/api/v1/devices/{device_id}"): Row(
        on_device("DELETE", purpose="delete"), MANAGE, (200,)
    ),
    ("POST", "/api/v1/devices/{device_id}/inventory"): Row(
        # Managing or jumping to the device lets him refresh it; no agent is connected here.
        on_device("POST", "/inventory"),
        MANAGE,
        (409,),
    ),
    ("GET", "/api/v1/devices/{device_id}/sessions"): Row(
        on_device("GET", "/sessions"), None, (200,)
    ),
    ("GET", "/api/v1/devices/{device_id}/jump"): Row(on_device("GET", "/jump"), None, (200,)),
    ("POST", "/api/v1/devices/{device_id}/jump"): Row(
        on_device("POST", "/jump", body={}),
        UNATTENDED,
        (409,),  # device_offline: the agent is not connected
        checks_permission_first=True,
    ),
    ("PUT", "/api/v1/devices/{device_id}/jump-password"): Row(
        on_device("PUT", "/jump-password", body={"password": "Open-Sesame-42"}),
        MANAGE,
        (200,),
        checks_permission_first=True,
    ),
    ("PUT", "/api/v1/devices/{device_id}/jump-policy"): Row(
        on_device("PUT", "/jump-policy", body={"prompt": "ask", "when_nobody_answers": "allow"}),
        MANAGE,
        (200,),
        checks_permission_first=True,
    ),
    ("DELETE", "/api/v1/devices/{device_id}/jump-policy"): Row(
        on_device("DELETE", "/jump-policy"), MANAGE, (204,), checks_permission_first=True
    ),
    ("POST", "/api/v1/installers"): Row(
        create_installer,
        MANAGE,
        (201,),
        not_found="device_group_not_found",
        checks_permission_first=True,
    ),
    ("POST", "/api/v1/installers/{installer_id}/revoke"): Row(
        revoke_installer,
        MANAGE,
        (200,),
        not_found="installer_not_found",
        checks_permission_first=True,
    ),
    ("PUT", "/api/v1/jump-policies/groups/{group_id}"): Row(
        set_group_policy,
        MANAGE,
        (200,),
        not_found="device_group_not_found",
        checks_permission_first=True,
    ),
    ("DELETE", "/api/v1/jump-policies/groups/{group_id}"): Row(
        remove_group_policy,
        MANAGE,
        (204,),
        not_found="device_group_not_found",
        checks_permission_first=True,
    ),
}
# The move: PATCH with another Jump group, on a device of its own (X's to Y, Y's to X).
MOVE = Row(
    on_device(
        "PATCH",
        body=lambda world, group: {"device_group_id": world.groups[other(group)]},
        purpose="move",
    ),
    MANAGE,
    (200,),
    target_group_too=True,
)
# Lists and searches: checked for what they leave out (below).
LISTS = {
    ("GET", "/api/v1/devices"),
    ("GET", "/api/v1/devices/filters"),
    ("GET", "/api/v1/devices/frequent"),
    ("GET", "/api/v1/installers"),
    ("GET", "/api/v1/jump-policies"),
}


def device_facing(route: BaseRoute) -> set[tuple[str, str]]:
    path: str = getattr(route, "path", "")
    methods: set[str] = getattr(route, "methods", None) or set()
    facing = (
        path.startswith(("/api/v1/devices", "/api/v1/installers", "/api/v1/jump-policies"))
        or "{device_id}" in path
    )
    return {(method, path) for method in methods - {"HEAD", "OPTIONS"}} if facing else set()


def test_every_device_facing_endpoint_is_in_the_matrix(tmp_path: Path) -> None:
    app = create_app(
        Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"),
        web_dist=tmp_path / "no-web",
    )
    routes: set[tuple[str, str]] = set()
    for route in app.routes:
        routes |= device_facing(route)
    in_matrix = set(DIRECT) | LISTS
    assert routes - in_matrix == set(), "device-facing endpoints missing from the matrix"
    assert in_matrix - routes == set(), "the matrix names endpoints the app no longer has"


def expected(row: Row, assignment: Assignment, group: str) -> tuple[int, ...]:
    lacks = row.needs is not None and not assignment.has(row.needs)
    if not assignment.reaches(group):
        # Outside his scope: as if it did not exist; a call refused for want of the permission
        # before any look-up may say 403 instead (it tells nothing about the device).
        return (404, 403) if lacks and row.checks_permission_first else (404,)
    if lacks:
        return (403,)
    if row.target_group_too and not assignment.reaches(other(group)):
        return (403,)  # device_group_out_of_scope: he may not put it there
    return row.allowed


async def check_call(world: World, name: str, row: Row, group: str) -> str | None:
    response = await row.call(world, group)
    wanted = expected(row, world.assignment, group)
    if response.status_code not in wanted:
        return f"{name} on group {group}: {response.status_code} {response.text[:200]}, {wanted}"
    body = response.json() if response.content else {}
    if response.status_code == 404 and body.get("code") != row.not_found:
        return f"{name} on group {group}: 404 with {body.get('code')}, not {row.not_found}"
    if response.status_code == 403 and body.get("code") not in (
        "permission_denied",
        "device_group_out_of_scope",
    ):
        return f"{name} on group {group}: 403 with {body.get('code')}"
    return None


async def check_lists(world: World) -> list[str]:
    """Out-of-scope devices, groups and installers are absent from what he lists and searches;
    in-scope ones are there."""
    problems = []
    assignment, client = world.assignment, world.technician
    reached = [g for g in "XY" if assignment.reaches(g)]

    listed = await client.get("/api/v1/devices", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    names = {d["hostname"] for d in listed.json()["devices"]}
    wanted = {f"{g.lower()}-{p}" for g in reached for p in ("main", "move", "delete")}
    if names != wanted:
        problems.append(f"device list: {sorted(names)}, expected {sorted(wanted)}")
    for group in "XY":
        # The search box (hostname here) and the company filter.
        for params in ({"q": f"{group.lower()}-main"}, {"company": f"Company {group}"}):
            found = await client.get("/api/v1/devices", params=params)
            assert found.status_code == 200, found.text
            hits = {d["hostname"] for d in found.json()["devices"]}
            if bool(hits) != assignment.reaches(group):
                problems.append(f"search {params}: {sorted(hits)}")
        by_group = await client.get(
            "/api/v1/devices", params={"device_group_id": world.groups[group]}
        )
        assert by_group.status_code == 200, by_group.text
        if bool(by_group.json()["devices"]) != assignment.reaches(group):
            problems.append(f"filtered by group {group}: {by_group.json()['total']} devices")

    filters = await client.get("/api/v1/devices/filters")
    assert filters.status_code == 200, filters.text
    companies = set(filters.json()["companies"])
    if companies != {f"Company {g}" for g in reached}:
        problems.append(f"filters' companies: {sorted(companies)}")
    group_ids = {g["id"] for g in filters.json()["device_groups"]}
    if group_ids & {world.groups[g] for g in "XY" if not assignment.reaches(g)}:
        problems.append(f"filters' groups: {sorted(group_ids)}")

    # Frequently used: the details he opened, never one outside his scope.
    for group in "XY":
        await client.get(f"/api/v1/devices/{world.device(group)}")
    frequent = await client.get("/api/v1/devices/frequent")
    assert frequent.status_code == 200, frequent.text
    often = {d["id"] for d in frequent.json()}
    if often != {world.device(g) for g in reached}:
        problems.append(f"frequently used: {sorted(often)}")

    installers = await client.get("/api/v1/installers")
    if not assignment.has(MANAGE):
        if installers.status_code != 403:
            problems.append(f"installers without 'Manage devices': {installers.status_code}")
    else:
        assert installers.status_code == 200, installers.text
        ids = {i["id"] for i in installers.json()}
        if ids != {world.installers[g] for g in reached}:
            problems.append(f"installers: {sorted(ids)}")

    policies = await client.get("/api/v1/jump-policies")
    if policies.status_code == 200:
        seen = {p["device_group_id"] for p in policies.json()}
        if seen & {world.groups[g] for g in "XY" if not assignment.reaches(g)}:
            problems.append(f"jump policies of groups: {sorted(seen)}")
    elif policies.status_code != 403 or assignment.has(MANAGE):
        problems.append(f"jump policies: {policies.status_code} {policies.text[:200]}")
    return problems


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=[a.name for a in ASSIGNMENTS])
async def test_device_scope_matrix(org: Org, harness: Harness, assignment: Assignment) -> None:
    world = await build(org, harness, assignment)
    problems = await check_lists(world)
    # Direct calls, the device list's and jumps' first, the destructive ones last.
    for (method, path), row in [*DIRECT.items(), (("PATCH", "move"), MOVE)]:
        for group in "XY":
            problem = await check_call(world, f"{method} {path}", row, group)
            if problem:
                problems.append(problem)
    assert problems == [], "\n".join(problems)
