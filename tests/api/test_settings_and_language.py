"""Organisation settings (GOV-1) and per-user language (GOV-11)."""

from __future__ import annotations

from tests.api.conftest import Harness, Org

DEFAULTS = {
    "remote_support_enabled": False,
    "allow_unmanaged_devices": True,
    "chat_disabled": False,
    "adhoc_limit_per_user": 1,
    "adhoc_limit_per_organisation": 5,
    "access_password_min_length": 8,
    "recording_enabled": False,
    "retention_days": 30,
    "console_ip_ranges": [],
    "mfa_required": False,
    "unattended_access_enabled": True,
    "device_seats": None,
}


async def test_a_new_organisation_starts_with_the_documented_defaults(harness: Harness) -> None:
    org_id = await harness.organisation("Fresh Org")
    await harness.user(org_id, "root@fresh.test", "admin")
    admin = await harness.signed_in("root@fresh.test")
    settings = (await admin.get("/api/v1/organisation/settings")).json()
    assert settings == {"name": "Fresh Org", **DEFAULTS}


async def test_settings_are_saved_audited_and_kept(org: Org) -> None:
    change = {
        "chat_disabled": True,
        "adhoc_limit_per_user": 2,
        "adhoc_limit_per_organisation": 10,
        "access_password_min_length": 12,
        "recording_enabled": True,
        "retention_days": 90,
    }
    response = await org.admin.patch("/api/v1/organisation/settings", json=change)
    assert response.status_code == 200
    assert (await org.admin.get("/api/v1/organisation/settings")).json().items() >= change.items()
    [entry] = (await org.admin.get("/api/v1/audit", params={"action": "settings.changed"})).json()[
        "items"
    ]
    assert entry["details"]["retention_days"] == {"from": 30, "to": 90}
    assert entry["actor_label"] == "ada@acme.test"


async def test_invalid_settings_are_refused_with_the_reason(org: Org) -> None:
    cases = [
        ({"access_password_min_length": 4}, "access_password_min_length"),
        ({"retention_days": 0}, "retention_days"),
        ({"adhoc_limit_per_user": 6, "adhoc_limit_per_organisation": 5}, "cannot exceed"),
        ({"mfa_required": "sometimes"}, "mfa_required"),
        ({"name": "   "}, "needs a name"),
        ({"colour": "blue"}, "Unknown field 'colour'"),
    ]
    for body, needle in cases:
        response = await org.admin.patch("/api/v1/organisation/settings", json=body)
        assert response.status_code == 422, body
        payload = response.json()
        text = payload["message"] if isinstance(payload["detail"], list) else payload["detail"]
        assert needle in text, (body, text)
    unchanged = (await org.admin.get("/api/v1/organisation/settings")).json()
    assert unchanged["retention_days"] == 30


async def test_language_choice_is_remembered_per_user(org: Org, harness: Harness) -> None:
    assert (await org.admin.patch("/api/v1/me", json={"language": "fr"})).json()["language"] == "fr"
    again = await harness.signed_in("ada@acme.test")
    assert (await again.get("/api/v1/me")).json()["language"] == "fr"
    refused = await org.admin.patch("/api/v1/me", json={"language": "xx"})
    assert refused.status_code == 422
    not_mine = await org.admin.patch("/api/v1/me", json={"email": "evil@acme.test"})
    assert not_mine.status_code == 422
