"""Users, teams, roles, role assignments, device groups (GOV-2, GOV-3), with permission checks
and cross-organisation isolation."""

from __future__ import annotations

import base64

import pytest

from tests.api.conftest import PASSWORD, Harness, Org

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def data_url(raw: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(raw).decode()}"


async def role_id(org: Org, name: str) -> int:
    roles = (await org.admin.get("/api/v1/roles")).json()
    return next(r["id"] for r in roles if r["name"] == name)


async def test_create_user_with_profile_and_generated_one_time_password(
    org: Org, harness: Harness
) -> None:
    response = await org.admin.post(
        "/api/v1/users",
        json={
            "email": "Tech.One@Acme.test",
            "name": "Tech One",
            "title": "Support engineer",
            "company": "Acme",
            "verified_domain": "Support.Acme.test",
            "picture": data_url(PNG_1PX),
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    user = body["user"]
    assert user["email"] == "tech.one@acme.test"
    assert user["verified_domain"] == "support.acme.test"
    assert user["picture"].startswith("data:image/png;base64,")
    password = body["initial_password"]
    assert len(password) >= 12

    listed = (await org.admin.get("/api/v1/users")).json()
    assert "initial_password" not in str(listed)
    assert {u["email"] for u in listed} == {"ada@acme.test", "tech.one@acme.test"}

    first = await harness.client().post(
        "/api/v1/auth/login", json={"email": "tech.one@acme.test", "password": password}
    )
    assert first.json()["stage"] == "password_change"


@pytest.mark.parametrize(
    ("payload", "status", "needle"),
    [
        ({"email": "not-an-email", "name": "X"}, 422, "email"),
        ({"email": "x@acme.test", "name": ""}, 422, "name"),
        ({"email": "x@acme.test", "name": "X", "shoe_size": 44}, 422, "Unknown field 'shoe_size'"),
        ({"email": "x@acme.test", "name": "X", "language": "tlh"}, 422, "language"),
        (
            {"email": "x@acme.test", "name": "X", "verified_domain": "not a domain"},
            422,
            "not a domain name",
        ),
        (
            {"email": "x@acme.test", "name": "X", "picture": "data:text/html;base64,PGI+"},
            422,
            "PNG, JPEG",
        ),
        (
            {"email": "x@acme.test", "name": "X", "picture": data_url(b"GIF89a" + b"x" * 10)},
            422,
            "not really",
        ),
        ({"email": "x@acme.test", "name": "X", "password": "short"}, 422, "at least 12"),
        ({"email": "ada@acme.test", "name": "Again"}, 409, "already in use"),
        ({"email": 5, "name": ["X"]}, 422, "email"),
    ],
)
async def test_bad_user_input_gets_a_specific_error(
    org: Org, payload: dict, status: int, needle: str
) -> None:
    response = await org.admin.post("/api/v1/users", json=payload)
    assert response.status_code == status, response.text
    body = response.json()
    message = body.get("message") if isinstance(body["detail"], list) else body["detail"]
    assert needle in message


async def test_malformed_json_and_oversized_bodies(org: Org) -> None:
    broken = await org.admin.post(
        "/api/v1/teams", content=b'{"name": "Tier 1",', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["message"] == "The request body is not valid JSON."
    huge = await org.admin.post("/api/v1/teams", json={"name": "x", "description": "y" * 3_000_000})
    assert huge.status_code == 413
    assert huge.json()["code"] == "body_too_large"


async def test_teams_with_members(org: Org) -> None:
    bob = (
        await org.admin.post("/api/v1/users", json={"email": "bob@acme.test", "name": "Bob"})
    ).json()["user"]
    created = await org.admin.post(
        "/api/v1/teams",
        json={
            "name": "Tier 1",
            "description": "First line",
            "member_ids": [bob["id"], org.admin_user.id],
        },
    )
    assert created.status_code == 201
    team = created.json()
    assert team["member_ids"] == sorted([bob["id"], org.admin_user.id])
    duplicate = await org.admin.post("/api/v1/teams", json={"name": "Tier 1"})
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"] == "A team named 'Tier 1' already exists."

    updated = await org.admin.patch(
        f"/api/v1/teams/{team['id']}", json={"member_ids": [bob["id"]], "name": "Tier One"}
    )
    assert updated.json()["member_ids"] == [bob["id"]]
    assert (await org.admin.get(f"/api/v1/users/{bob['id']}")).json()["team_ids"] == [team["id"]]

    unknown_member = await org.admin.patch(
        f"/api/v1/teams/{team['id']}", json={"member_ids": [99999]}
    )
    assert unknown_member.status_code == 404
    assert (await org.admin.delete(f"/api/v1/teams/{team['id']}")).status_code == 204
    assert (await org.admin.get(f"/api/v1/teams/{team['id']}")).status_code == 404


async def test_built_in_roles_exist_and_cannot_be_changed(org: Org) -> None:
    roles = {r["name"]: r for r in (await org.admin.get("/api/v1/roles")).json()}
    assert {"Administrator", "Help desk operator", "Viewer"} <= set(roles)
    assert roles["Viewer"]["permissions"] == ["view_screen"]
    assert "administer" not in roles["Help desk operator"]["permissions"]
    assert "full_control" in roles["Help desk operator"]["permissions"]
    refused = await org.admin.patch(
        f"/api/v1/roles/{roles['Viewer']['id']}", json={"name": "Watcher"}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "role_builtin"
    assert (await org.admin.delete(f"/api/v1/roles/{roles['Viewer']['id']}")).status_code == 409


async def test_custom_role_lifecycle_and_in_use_protection(org: Org) -> None:
    permissions = (await org.admin.get("/api/v1/permissions")).json()
    assert {p["key"] for p in permissions} >= {
        "view_screen",
        "shell",
        "administer",
        "override_schedules",
    }
    created = await org.admin.post(
        "/api/v1/roles",
        json={
            "name": "Shell only",
            "permissions": ["shell", "file_download"],
            "allowed_paths": ["/srv/logs", "C:\\Logs"],
        },
    )
    assert created.status_code == 201, created.text
    role = created.json()
    assert role["permissions"] == ["shell", "file_download"]
    assert role["builtin"] is False

    unknown = await org.admin.post(
        "/api/v1/roles", json={"name": "Bad", "permissions": ["launch_missiles"]}
    )
    assert unknown.status_code == 422
    assert "launch_missiles" in unknown.json()["detail"]
    relative = await org.admin.post(
        "/api/v1/roles", json={"name": "Bad", "allowed_paths": ["relative/path"]}
    )
    assert relative.status_code == 422

    edited = await org.admin.patch(f"/api/v1/roles/{role['id']}", json={"permissions": ["shell"]})
    assert edited.json()["permissions"] == ["shell"]

    bob = (
        await org.admin.post("/api/v1/users", json={"email": "bob@acme.test", "name": "Bob"})
    ).json()["user"]
    assigned = await org.admin.post(
        f"/api/v1/users/{bob['id']}/role-assignments", json={"role_id": role["id"]}
    )
    assert assigned.status_code == 201
    in_use = await org.admin.delete(f"/api/v1/roles/{role['id']}")
    assert in_use.status_code == 409
    assert in_use.json()["detail"].startswith("The role 'Shell only' is assigned to 1 user(s)")
    await org.admin.delete(f"/api/v1/users/{bob['id']}/role-assignments/{assigned.json()['id']}")
    assert (await org.admin.delete(f"/api/v1/roles/{role['id']}")).status_code == 204


async def test_role_assignment_scoped_to_device_groups(org: Org) -> None:
    servers = (await org.admin.post("/api/v1/device-groups", json={"name": "Servers"})).json()
    laptops = (await org.admin.post("/api/v1/device-groups", json={"name": "Laptops"})).json()
    bob = (
        await org.admin.post("/api/v1/users", json={"email": "bob@acme.test", "name": "Bob"})
    ).json()["user"]
    operator = await role_id(org, "Help desk operator")
    empty = await org.admin.post(
        f"/api/v1/users/{bob['id']}/role-assignments", json={"role_id": operator, "scope": "groups"}
    )
    assert empty.status_code == 422
    assert empty.json()["code"] == "scope_empty"
    scoped = await org.admin.post(
        f"/api/v1/users/{bob['id']}/role-assignments",
        json={
            "role_id": operator,
            "scope": "groups",
            "device_group_ids": [laptops["id"], servers["id"]],
        },
    )
    assert scoped.status_code == 201
    assert scoped.json() == {
        "id": scoped.json()["id"],
        "role_id": operator,
        "role_name": "Help desk operator",
        "scope": "groups",
        "device_group_ids": sorted([servers["id"], laptops["id"]]),
    }
    again = await org.admin.post(
        f"/api/v1/users/{bob['id']}/role-assignments", json={"role_id": operator}
    )
    assert again.status_code == 409
    in_use = await org.admin.delete(f"/api/v1/device-groups/{servers['id']}")
    assert in_use.status_code == 409
    assert in_use.json()["code"] == "device_group_in_use"


async def test_the_last_administrator_cannot_be_removed(org: Org) -> None:
    me = (await org.admin.get("/api/v1/me")).json()
    user = (await org.admin.get(f"/api/v1/users/{me['id']}")).json()
    [assignment] = user["role_assignments"]
    refused = await org.admin.delete(
        f"/api/v1/users/{me['id']}/role-assignments/{assignment['id']}"
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "last_administrator"
    assert (await org.admin.delete(f"/api/v1/users/{me['id']}")).json()[
        "code"
    ] == "cannot_delete_self"


async def test_operators_and_viewers_cannot_administer(org: Org, harness: Harness) -> None:
    await harness.user(org.id, "op@acme.test", "operator")
    await harness.user(org.id, "view@acme.test", "viewer")
    for email in ("op@acme.test", "view@acme.test"):
        client = await harness.signed_in(email)
        for method, path, body in [
            ("GET", "/api/v1/users", None),
            ("POST", "/api/v1/users", {"email": "z@acme.test", "name": "Z"}),
            ("POST", "/api/v1/teams", {"name": "Sneaky"}),
            ("POST", "/api/v1/roles", {"name": "Sneaky"}),
            ("GET", "/api/v1/device-groups", None),
            ("PATCH", "/api/v1/organisation/settings", {"chat_disabled": True}),
            ("GET", "/api/v1/audit", None),
            ("GET", "/api/v1/audit/export", None),
        ]:
            response = await client.request(method, path, json=body)
            assert response.status_code == 403, (email, path, response.text)
            assert response.json() == {
                "detail": "You need the permission 'Administer the organisation' to do this.",
                "code": "permission_denied",
            }
        me = (await client.get("/api/v1/me")).json()
        assert me["is_admin"] is False


async def test_another_organisations_objects_do_not_exist(org: Org, harness: Harness) -> None:
    other_id = await harness.organisation("Other Corp")
    await harness.user(other_id, "olga@other.test", "admin")
    olga = await harness.signed_in("olga@other.test")

    bob = (
        await org.admin.post("/api/v1/users", json={"email": "bob@acme.test", "name": "Bob"})
    ).json()["user"]
    team = (await org.admin.post("/api/v1/teams", json={"name": "Tier 1"})).json()
    role = (await org.admin.post("/api/v1/roles", json={"name": "Custom"})).json()
    group = (await org.admin.post("/api/v1/device-groups", json={"name": "Servers"})).json()

    for path in (
        f"/api/v1/users/{bob['id']}",
        f"/api/v1/teams/{team['id']}",
        f"/api/v1/roles/{role['id']}",
        f"/api/v1/device-groups/{group['id']}",
    ):
        assert (await olga.get(path)).status_code == 404, path
        assert (await olga.patch(path, json={"name": "Mine now"})).status_code == 404, path
        assert (await olga.delete(path)).status_code == 404, path

    own_role = await role_id(org, "Viewer")
    olga_me = (await olga.get("/api/v1/me")).json()
    foreign_role = await olga.post(
        f"/api/v1/users/{olga_me['id']}/role-assignments", json={"role_id": own_role}
    )
    assert foreign_role.status_code == 404
    foreign_member = await olga.post(
        "/api/v1/teams", json={"name": "Mixed", "member_ids": [bob["id"]]}
    )
    assert foreign_member.status_code == 404

    assert {u["email"] for u in (await olga.get("/api/v1/users")).json()} == {"olga@other.test"}
    assert all(
        e["actor_label"] != "ada@acme.test"
        for e in (await olga.get("/api/v1/audit")).json()["items"]
    )
    assert (await olga.get("/api/v1/teams")).json() == []


async def test_user_edit_and_delete(org: Org, harness: Harness) -> None:
    bob = (
        await org.admin.post(
            "/api/v1/users", json={"email": "bob@acme.test", "name": "Bob", "password": PASSWORD}
        )
    ).json()["user"]
    updated = await org.admin.patch(
        f"/api/v1/users/{bob['id']}",
        json={"title": "Lead", "language": "de", "picture": data_url(PNG_1PX)},
    )
    assert updated.json()["title"] == "Lead"
    assert updated.json()["language"] == "de"
    cleared = await org.admin.patch(f"/api/v1/users/{bob['id']}", json={"picture": ""})
    assert cleared.json()["picture"] is None
    assert (await org.admin.delete(f"/api/v1/users/{bob['id']}")).status_code == 204
    assert (await org.admin.get(f"/api/v1/users/{bob['id']}")).status_code == 404
