"""Throttles, lock-out and the refusals' audit (SEC-2, GOV-9; issue 11 defects 5, 7, 10, 11):
the lock-out holds the attacking address, not the account's owner; it answers alike for unknown
and known accounts; current-password checks share it; the portal's forms are limited per
address; refusals are audited once per window, then as one summary with the count, and the
audit chain stays whole."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import func, select

from relaydesk.server.db.models import SessionKey
from relaydesk.server.domain import audit
from tests.api.conftest import PASSWORD, Harness, Org

WRONG = "Wrong-Password-123"


async def audit_entries(org: Org, action: str) -> list[dict[str, Any]]:
    response = await org.admin.get("/api/v1/audit", params={"action": action, "limit": 500})
    assert response.status_code == 200
    return [e for e in response.json()["items"] if e["action"] == action]


async def chain_is_whole(harness: Harness) -> int:
    async with harness.db() as db:
        checked, breaks = await audit.verify(db)
    assert breaks == []
    return checked


async def windows_end(harness: Harness) -> None:
    """Every open refusal window ends now: its summary is written (what the server's background
    task does a little after each window)."""
    await harness.app.state.runtime.summarise_refusals(math.inf)


async def sign_in(client: Any, email: str, password: str) -> Any:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


@pytest.mark.parametrize("settings_overrides", [{"login_failures_before_lockout": 10}])
async def test_ten_wrong_passwords_lock_the_attacking_address_not_the_owner(
    org: Org, harness: Harness
) -> None:
    await harness.user(org.id, "bob@acme.test", "operator")
    attacker = harness.client("10.0.0.2")
    statuses = [(await sign_in(attacker, "bob@acme.test", WRONG)).status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]

    refused = await sign_in(attacker, "bob@acme.test", PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_attempts"
    assert int(refused.headers["retry-after"]) > 0

    owner = await sign_in(harness.client("192.0.2.44"), "bob@acme.test", PASSWORD)
    assert owner.status_code == 200, owner.text
    assert owner.json()["stage"] == "complete"


async def test_unknown_and_known_accounts_are_refused_alike(org: Org, harness: Harness) -> None:
    await harness.user(org.id, "bob@acme.test", "operator")
    answers: dict[str, list[tuple[int, dict[str, Any], str | None]]] = {}
    for email, ip in (("bob@acme.test", "10.0.1.1"), ("ghost@acme.test", "10.0.1.2")):
        client = harness.client(ip)
        answers[email] = []
        for _ in range(12):
            response = await sign_in(client, email, WRONG)
            answers[email].append(
                (response.status_code, response.json(), response.headers.get("retry-after"))
            )
    known, unknown = answers["bob@acme.test"], answers["ghost@acme.test"]
    assert [status for status, _, _ in known] == [401] * 10 + [429] * 2
    # The same statuses, codes and messages; only the seconds to wait may differ by a tick.
    assert [_shape(a) for a in known] == [_shape(a) for a in unknown]
    assert all(a[2] is not None for a in known[10:] + unknown[10:])


def _shape(answer: tuple[int, dict[str, Any], str | None]) -> tuple[int, str, str]:
    status, body, _ = answer
    return status, body["code"], "".join(c for c in body["detail"] if not c.isdigit())


async def test_sign_in_refusals_are_audited_once_per_window_then_summarised(
    org: Org, harness: Harness
) -> None:
    await harness.user(org.id, "bob@acme.test", "operator")
    before = await chain_is_whole(harness)
    attacker = harness.client("10.0.2.7")
    for _ in range(30):
        await sign_in(attacker, "bob@acme.test", WRONG)

    [failed] = await audit_entries(org, "auth.signin_failed")
    assert (failed["ip"], failed["target"], failed["details"]) == (
        "10.0.2.7",
        "bob@acme.test",
        {"reason": "wrong password"},
    )
    [throttled] = await audit_entries(org, "auth.signin_throttled")
    assert throttled["details"] == {"reason": "too many failures"}

    await windows_end(harness)
    failed_entries = await audit_entries(org, "auth.signin_failed")
    throttled_entries = await audit_entries(org, "auth.signin_throttled")
    summaries = [e for e in failed_entries + throttled_entries if e["details"].get("summary")]
    assert sorted((e["action"], e["details"]["refusals"], e["ip"]) for e in summaries) == [
        ("auth.signin_failed", 10, "10.0.2.7"),
        ("auth.signin_throttled", 20, "10.0.2.7"),
    ]
    assert len(failed_entries) == 2 and len(throttled_entries) == 2
    assert await chain_is_whole(harness) > before


async def test_current_password_checks_share_the_sign_in_throttle(
    org: Org, harness: Harness
) -> None:
    await harness.user(org.id, "bob@acme.test", "operator")
    bob = await harness.signed_in("bob@acme.test", ip="10.0.3.3")
    statuses = []
    for _ in range(11):
        response = await bob.post("/api/v1/me/totp/disable", json={"current_password": WRONG})
        statuses.append(response.status_code)
    assert statuses == [401] * 10 + [429]
    assert int(response.headers["retry-after"]) > 0

    # The other check of the current password counts against the same account and address.
    change = await bob.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "Another-Good-Password-9"},
    )
    assert change.status_code == 429
    assert (await sign_in(harness.client("10.0.3.3"), "bob@acme.test", PASSWORD)).status_code == 429
    [first] = await audit_entries(org, "auth.signin_failed")
    assert first["details"] == {"reason": "wrong current password"}
    # Its owner elsewhere is not locked out.
    elsewhere = await sign_in(harness.client("192.0.2.45"), "bob@acme.test", PASSWORD)
    assert elsewhere.status_code == 200, elsewhere.text


async def issue_type(org: Org) -> int:
    team = await org.admin.post(
        "/api/v1/teams", json={"name": "Printers", "member_ids": [org.admin_user.id]}
    )
    created = await org.admin.post(
        "/api/v1/issue-types", json={"name": "Printing problem", "team_id": team.json()["id"]}
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.mark.parametrize("settings_overrides", [{"portal_starts_per_window": 3}])
async def test_the_portal_issue_form_is_limited_per_address(org: Org, harness: Harness) -> None:
    kind = await issue_type(org)
    form = {"issue_type_id": kind, "customer_name": "Maria", "description": "Paper jam"}
    visitor = harness.client("198.51.100.20")
    answers = [await visitor.post("/api/v1/portal/issues", json=form) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3].json()["code"] == "too_many_attempts"
    assert "support requests" in answers[3].json()["detail"]
    assert int(answers[3].headers["retry-after"]) > 0
    # Three keys were made, not five; another address is served.
    async with harness.db() as db:
        made = await db.scalar(
            select(func.count(SessionKey.id)).where(SessionKey.origin == "portal")
        )
    assert made == 3
    other = await harness.client("198.51.100.21").post("/api/v1/portal/issues", json=form)
    assert other.status_code == 200, other.text
    # Picking a technician is the same kind of form: the same budget.
    picked = await visitor.post(
        "/api/v1/portal/technicians",
        json={"technician_id": org.admin_user.id, "customer_name": "Maria"},
    )
    assert picked.status_code == 429


@pytest.mark.parametrize("settings_overrides", [{"key_failures_per_window": 3}])
async def test_key_guessing_refusals_are_audited_once_per_window_then_summarised(
    org: Org, harness: Harness
) -> None:
    guesser = harness.client("198.51.100.9")
    codes = [
        (await guesser.post("/api/v1/portal/keys", json={"key": "AAAA-BBBB-CCCC"})).status_code
        for _ in range(40)
    ]
    assert codes == [404] * 3 + [429] * 37
    [first] = await audit_entries(org, "portal.key_guessing_refused")
    assert (first["ip"], first["details"]) == ("198.51.100.9", {})

    await windows_end(harness)
    entries = await audit_entries(org, "portal.key_guessing_refused")
    assert len(entries) == 2
    summary = next(e for e in entries if e["details"].get("summary"))
    assert (summary["ip"], summary["details"]["refusals"]) == ("198.51.100.9", 37)
    await chain_is_whole(harness)


@pytest.mark.parametrize(
    "settings_overrides",
    [{"key_failures_per_window": 3, "trusted_proxies": ["10.1.0.0/16", "127.0.0.1"]}],
)
async def test_behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client(
    org: Org, harness: Harness
) -> None:
    proxy = harness.client("10.1.2.3")
    for n in range(5):
        # The client writes whatever it likes first; our proxies append what they saw.
        forwarded = f"203.0.113.{n}, 198.51.100.77, 10.1.9.9"
        answer = await proxy.post(
            "/api/v1/portal/keys",
            json={"key": "AAAA-BBBB-CCCC"},
            headers={"x-forwarded-for": forwarded},
        )
    assert answer.status_code == 429
    [entry] = await audit_entries(org, "portal.key_guessing_refused")
    assert entry["ip"] == "198.51.100.77"
    # From a peer that is not a trusted proxy, the header is ignored.
    direct = harness.client("192.0.2.80")
    for _ in range(4):
        answer = await direct.post(
            "/api/v1/portal/keys",
            json={"key": "AAAA-BBBB-CCCC"},
            headers={"x-forwarded-for": "198.51.100.78"},
        )
    assert answer.status_code == 429
    ips = {e["ip"] for e in await audit_entries(org, "portal.key_guessing_refused")}
    assert ips == {"198.51.100.77", "192.0.2.80"}
