"""Signing in: stages, throttling, TOTP, IP ranges, CSRF, sign-out (AUTH-1, GOV-4); the
lock-out and the refusals' audit: test_throttles.py."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from tests.api.conftest import PASSWORD, Harness, Org


def csrf(client: Any) -> dict[str, str]:
    return {"x-csrf-token": client.cookies["relaydesk_csrf"]}


async def audit_actions(org: Org, action: str) -> list[dict[str, Any]]:
    response = await org.admin.get("/api/v1/audit", params={"action": action, "limit": 500})
    assert response.status_code == 200
    return response.json()["items"]


async def test_one_time_password_must_be_replaced_before_the_console_opens(
    org: Org, harness: Harness
) -> None:
    await harness.user(
        org.id, "new@acme.test", "operator", password="Temporary-Pass-1", must_change_password=True
    )
    client = harness.client()
    response = await client.post(
        "/api/v1/auth/login", json={"email": "new@acme.test", "password": "Temporary-Pass-1"}
    )
    assert response.json() == {"stage": "password_change", "user": None}

    refused = await client.get("/api/v1/me")
    assert refused.status_code == 403
    assert refused.json()["code"] == "signin_incomplete"

    weak = await client.post(
        "/api/v1/me/password",
        json={"current_password": "Temporary-Pass-1", "new_password": "short"},
        headers=csrf(client),
    )
    assert weak.status_code == 422
    assert "at least 12 characters" in weak.json()["detail"]

    changed = await client.post(
        "/api/v1/me/password",
        json={"current_password": "Temporary-Pass-1", "new_password": "A-much-better-one-42"},
        headers=csrf(client),
    )
    assert changed.status_code == 200
    assert changed.json()["stage"] == "complete"
    assert changed.json()["user"]["roles"] == [
        {"id": changed.json()["user"]["roles"][0]["id"], "name": "Help desk operator"}
    ]
    assert (await client.get("/api/v1/me")).status_code == 200
    assert await audit_actions(org, "auth.password_changed")


async def test_wrong_password_is_refused_and_audited(org: Org, harness: Harness) -> None:
    response = await harness.client("10.9.8.7").post(
        "/api/v1/auth/login", json={"email": "ada@acme.test", "password": "nope"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "detail": "The e-mail address or password is wrong.",
        "code": "invalid_credentials",
    }
    [entry] = await audit_actions(org, "auth.signin_failed")
    assert entry["ip"] == "10.9.8.7"
    assert entry["details"] == {"reason": "wrong password"}


async def test_unknown_account_gets_the_same_answer_as_a_wrong_password(harness: Harness) -> None:
    response = await harness.client().post(
        "/api/v1/auth/login", json={"email": "ghost@nowhere.test", "password": "whatever"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.parametrize("settings_overrides", [{"ip_failures_per_window": 3}])
async def test_one_address_guessing_many_accounts_is_throttled(harness: Harness) -> None:
    client = harness.client("203.0.113.5")
    codes = []
    for n in range(4):
        response = await client.post(
            "/api/v1/auth/login", json={"email": f"guess{n}@acme.test", "password": "x"}
        )
        codes.append(response.status_code)
    assert codes == [401, 401, 401, 429]
    assert response.json()["code"] == "too_many_attempts"
    assert int(response.headers["retry-after"]) > 0
    other = await harness.client("203.0.113.6").post(
        "/api/v1/auth/login", json={"email": "guess@acme.test", "password": "x"}
    )
    assert other.status_code == 401


async def test_totp_enrolment_then_second_factor_at_sign_in(org: Org, harness: Harness) -> None:
    setup = await org.admin.post("/api/v1/me/totp/setup")
    assert setup.status_code == 200
    secret = setup.json()["secret"]
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/")
    assert setup.json()["qr_svg"].lstrip().startswith("<svg")
    bad = await org.admin.post("/api/v1/me/totp/confirm", json={"code": "000000"})
    assert bad.status_code == 422
    good = await org.admin.post("/api/v1/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()})
    assert good.status_code == 200
    assert good.json()["user"]["totp_enabled"] is True

    client = harness.client()
    first = await client.post(
        "/api/v1/auth/login", json={"email": "ada@acme.test", "password": PASSWORD}
    )
    assert first.json()["stage"] == "mfa"
    assert (await client.get("/api/v1/me")).status_code == 403
    wrong = await client.post("/api/v1/auth/mfa", json={"code": "123456"}, headers=csrf(client))
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_totp"
    # The code used to confirm enrolment cannot be replayed within its time step.
    code = pyotp.TOTP(secret).now()
    replay = await client.post("/api/v1/auth/mfa", json={"code": code}, headers=csrf(client))
    if replay.status_code == 200:  # the clock moved to the next step since enrolment
        assert replay.json()["stage"] == "complete"
    else:
        assert replay.json()["code"] == "invalid_totp"
    assert [e["action"] for e in await audit_actions(org, "auth.totp_enabled")] == [
        "auth.totp_enabled"
    ]


async def test_totp_cannot_be_turned_off_while_the_organisation_requires_it(
    org: Org, harness: Harness
) -> None:
    secret = pyotp.random_base32()
    await harness.user(org.id, "tom@acme.test", "operator", totp_secret=secret)
    tom = await harness.signed_in("tom@acme.test", totp_secret=secret)
    await org.admin.patch("/api/v1/organisation/settings", json={"mfa_required": True})
    refused = await tom.post("/api/v1/me/totp/disable", json={"current_password": PASSWORD})
    assert refused.status_code == 409
    assert refused.json()["code"] == "mfa_required_by_organisation"
    await org.admin.patch("/api/v1/organisation/settings", json={"mfa_required": False})
    wrong = await tom.post("/api/v1/me/totp/disable", json={"current_password": "bad"})
    assert wrong.status_code == 401
    assert (
        await tom.post("/api/v1/me/totp/disable", json={"current_password": PASSWORD})
    ).status_code == 204
    assert (await tom.get("/api/v1/me")).json()["totp_enabled"] is False


async def test_mfa_required_makes_users_without_totp_enrol_at_sign_in(
    org: Org, harness: Harness
) -> None:
    await harness.user(org.id, "eve@acme.test", "operator")
    assert (
        await org.admin.patch("/api/v1/organisation/settings", json={"mfa_required": True})
    ).status_code == 200
    client = harness.client()
    first = await client.post(
        "/api/v1/auth/login", json={"email": "eve@acme.test", "password": PASSWORD}
    )
    assert first.json()["stage"] == "mfa_enrolment"
    assert (await client.get("/api/v1/users")).status_code == 403
    setup = await client.post("/api/v1/me/totp/setup", headers=csrf(client))
    confirmed = await client.post(
        "/api/v1/me/totp/confirm",
        json={"code": pyotp.TOTP(setup.json()["secret"]).now()},
        headers=csrf(client),
    )
    assert confirmed.json()["stage"] == "complete"
    assert confirmed.json()["user"]["email"] == "eve@acme.test"


async def test_console_ip_ranges_apply_at_sign_in_and_on_every_request(
    org: Org, harness: Harness
) -> None:
    locking_out = await org.admin.patch(
        "/api/v1/organisation/settings", json={"console_ip_ranges": ["192.0.2.0/24"]}
    )
    assert locking_out.status_code == 422
    assert locking_out.json()["code"] == "ip_ranges_exclude_you"

    bad = await org.admin.patch(
        "/api/v1/organisation/settings", json={"console_ip_ranges": ["10.0.0.300/8"]}
    )
    assert bad.status_code == 422
    assert "10.0.0.300/8" in bad.json()["detail"]

    saved = await org.admin.patch(
        "/api/v1/organisation/settings",
        json={"console_ip_ranges": ["127.0.0.0/8", "2001:db8::/32"]},
    )
    assert saved.json()["console_ip_ranges"] == ["127.0.0.0/8", "2001:db8::/32"]

    outsider = await harness.client("198.51.100.7").post(
        "/api/v1/auth/login", json={"email": "ada@acme.test", "password": PASSWORD}
    )
    assert outsider.status_code == 403
    assert outsider.json()["code"] == "ip_not_allowed"
    assert "198.51.100.7" in outsider.json()["detail"]
    assert await audit_actions(org, "auth.ip_refused")
    assert (await org.admin.get("/api/v1/me")).status_code == 200


async def test_state_changes_need_the_csrf_token(org: Org) -> None:
    token = org.admin.headers.pop("x-csrf-token")
    refused = await org.admin.post("/api/v1/device-groups", json={"name": "Servers"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    forged = await org.admin.post(
        "/api/v1/device-groups", json={"name": "Servers"}, headers={"x-csrf-token": "forged"}
    )
    assert forged.status_code == 403
    assert (await org.admin.get("/api/v1/device-groups")).status_code == 200
    accepted = await org.admin.post(
        "/api/v1/device-groups", json={"name": "Servers"}, headers={"x-csrf-token": token}
    )
    assert accepted.status_code == 201


async def test_session_cookie_is_httponly_and_samesite(harness: Harness, org: Org) -> None:
    response = await harness.client().post(
        "/api/v1/auth/login", json={"email": "ada@acme.test", "password": PASSWORD}
    )
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("relaydesk_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session
    assert "Secure" not in session  # plain HTTP here; see the next test for TLS


@pytest.mark.parametrize("settings_overrides", [{"public_url": "https://support.example.test"}])
async def test_session_cookie_is_secure_when_served_over_tls(harness: Harness, org: Org) -> None:
    response = await harness.client().post(
        "/api/v1/auth/login", json={"email": "ada@acme.test", "password": PASSWORD}
    )
    session = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("relaydesk_session=")
    )
    assert "Secure" in session


async def test_sign_out_ends_the_session(org: Org) -> None:
    assert (await org.admin.get("/api/v1/auth/state")).json()["stage"] == "complete"
    assert (await org.admin.post("/api/v1/auth/logout")).status_code == 204
    assert (await org.admin.get("/api/v1/auth/state")).json() == {
        "stage": "signed_out",
        "user": None,
    }
    assert (await org.admin.get("/api/v1/me")).status_code == 401


async def test_sign_out_is_audited(org: Org, harness: Harness) -> None:
    await org.admin.post("/api/v1/auth/logout")
    admin = await harness.signed_in("ada@acme.test")
    org.admin = admin
    [entry] = await audit_actions(org, "auth.signed_out")
    assert entry["actor_label"] == "ada@acme.test"


async def test_deactivated_user_loses_his_session(org: Org, harness: Harness) -> None:
    bob = await harness.user(org.id, "bob@acme.test", "operator")
    client = await harness.signed_in("bob@acme.test")
    assert (
        await org.admin.patch(f"/api/v1/users/{bob.id}", json={"is_active": False})
    ).status_code == 200
    assert (await client.get("/api/v1/me")).status_code == 401
    again = await harness.client().post(
        "/api/v1/auth/login", json={"email": "bob@acme.test", "password": PASSWORD}
    )
    assert again.status_code == 401
