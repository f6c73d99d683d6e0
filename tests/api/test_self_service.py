"""Self-service installation from the public portal (issue 13 item 3, UNA-3) over the API: a
customer with an installer code, or a technician's sign-in (password and authenticator code,
throttled and audited), names the computer and gets a single-use enrolment (cap 1, bound to the
company and Jump group, carrying the name); bad codes, credentials and names are refused with
specific codes. The real agent enrolling with it is in tests/e2e/test_self_service.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import select, update

from relaydesk.protocol.messages import DeviceFacts, Hello, InstallerCredential
from relaydesk.server.db.models import AuditEntry, Device, Installer, Portal
from relaydesk.server.domain import installers
from relaydesk.server.domain.session_keys import KeyRefusal
from relaydesk.server.domain.throttle import AttemptThrottle, MemoryLedger
from tests.api.conftest import PASSWORD, Harness, Org

CODE = "/api/v1/portal/self-service/installer-code"
TECHNICIAN = "/api/v1/portal/self-service/technician"


async def new_installer(org: Org, **body: Any) -> dict[str, Any]:
    created = await org.admin.post("/api/v1/installers", json={"company": "Acme Corp", **body})
    assert created.status_code == 201, created.text
    return dict(created.json())


async def enrol(harness: Harness, token: str, hostname: str) -> Device | KeyRefusal:
    """What the agent's channel does with an installer token (realtime/agents.py)."""
    hello = Hello(
        type="hello",
        protocol=1,
        agent_version="test",
        mode="unattended",
        public_key="A" * 43 + "=",
        credential=InstallerCredential(kind="installer", token=token),
        device=DeviceFacts(hostname=hostname, os="Linux"),
    )
    throttle = AttemptThrottle(MemoryLedger(), 100, 60)
    async with harness.db() as db:
        found = await installers.usable(db, token, "10.0.0.9", throttle)
        if isinstance(found, KeyRefusal):
            return found
        return await installers.enrol(db, found.id, hello, "10.0.0.9")


async def test_an_installer_code_gives_a_single_use_enrolment(org: Org, harness: Harness) -> None:
    group = (await org.admin.post("/api/v1/device-groups", json={"name": "Acme laptops"})).json()
    parent = await new_installer(org, device_group_id=group["id"], max_installations=3)
    customer = harness.client("203.0.113.7")
    answer = await customer.post(
        CODE, json={"installer_code": parent["token"], "device_name": "  Reception   PC "}
    )
    assert answer.status_code == 200, answer.text
    issued = answer.json()
    token = issued["token"]
    assert token.startswith("rdi_") and token != parent["token"]
    assert (issued["nickname"], issued["company"]) == ("Reception PC", "Acme Corp")
    assert issued["install_command"].endswith(f"--installer {token}")
    assert token not in issued["download_url"]
    expires = datetime.fromisoformat(issued["expires_at"])
    assert timedelta(minutes=50) < expires - datetime.now(UTC) <= timedelta(minutes=60)

    # The single-use enrolment took one of the installer's installations at once (exact cap).
    listed = (await org.admin.get("/api/v1/installers")).json()
    assert [(i["id"], i["used"]) for i in listed] == [(parent["installer"]["id"], 1)]

    device = await enrol(harness, token, "reception-01")
    assert isinstance(device, Device)
    assert device.device_group_id == group["id"]
    if hasattr(Device, "nickname"):  # the device list's column (issue 13, item 5)
        assert device.nickname == "Reception PC"
    again = await enrol(harness, token, "someone-else")
    assert isinstance(again, KeyRefusal) and again.code == "installer_cap_reached"

    async with harness.db() as db:
        single = (
            await db.execute(select(Installer).where(Installer.purpose == "self_service"))
        ).scalar_one()
        entries = (
            await db.execute(
                select(AuditEntry.action, AuditEntry.actor_label, AuditEntry.details).where(
                    AuditEntry.action == "self_service.enrolment_issued"
                )
            )
        ).all()
    assert (single.max_installations, single.used, single.nickname) == (1, 1, "Reception PC")
    assert len(entries) == 1
    assert entries[0][2]["with"] == "installer_code"
    assert entries[0][2]["installer_id"] == parent["installer"]["id"]
    assert token not in str(entries) and parent["token"] not in str(entries)


async def test_unusable_installer_codes_are_refused_with_their_reason(
    org: Org, harness: Harness
) -> None:
    customer = harness.client("203.0.113.8")

    async def attempt(code: str, name: str = "Front desk") -> tuple[int, str, str]:
        answer = await customer.post(CODE, json={"installer_code": code, "device_name": name})
        body = answer.json()
        return answer.status_code, body.get("code", ""), body.get("detail", "")

    assert await attempt("rdi_not-a-real-one") == (
        403,
        "installer_unknown",
        "This installer code is not known. Check it with your administrator.",
    )
    revoked = await new_installer(org)
    await org.admin.post(f"/api/v1/installers/{revoked['installer']['id']}/revoke")
    assert (await attempt(revoked["token"]))[:2] == (403, "installer_revoked")

    expired = await new_installer(org)
    async with harness.db() as db:
        await db.execute(
            update(Installer)
            .where(Installer.id == expired["installer"]["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert (await attempt(expired["token"]))[:2] == (403, "installer_expired")

    full = await new_installer(org, max_installations=1)
    assert (await attempt(full["token"], "First"))[0] == 200
    code, reason, detail = await attempt(full["token"], "Second")
    assert (code, reason) == (403, "installer_cap_reached")
    assert "maximum number of installations" in detail

    usable = await new_installer(org)
    assert await attempt(usable["token"], "") == (
        422,
        "device_name_required",
        "Give this computer a name.",
    )
    assert (await attempt(usable["token"], "x" * 101))[:2] == (422, "device_name_too_long")
    assert (await attempt(usable["token"], "two\nlines"))[:2] == (422, "invalid_device_name")
    listed = {i["id"]: i["used"] for i in (await org.admin.get("/api/v1/installers")).json()}
    assert listed[usable["installer"]["id"]] == 0  # refused names take nothing

    # Another organisation's installer is unknown on this portal.
    other = await harness.organisation("Other Support", remote_support_enabled=True)
    await harness.user(other, "otto@other.test", "admin")
    otto = await harness.signed_in("otto@other.test")
    foreign = (await otto.post("/api/v1/installers", json={"company": "Other"})).json()
    async with harness.db() as db:
        acme_slug = (
            await db.execute(select(Portal.slug).where(Portal.organisation_id == org.id))
        ).scalar_one()
    answer = await customer.post(
        CODE,
        json={"portal": acme_slug, "installer_code": foreign["token"], "device_name": "PC"},
    )
    assert answer.json()["code"] == "installer_unknown", answer.text


async def test_a_technician_signs_in_with_password_and_authenticator_code(
    org: Org, harness: Harness
) -> None:
    secret = pyotp.random_base32()
    await harness.user(org.id, "tom@acme.test", "admin", totp_secret=secret)
    await harness.user(org.id, "vic@acme.test", "viewer")
    customer = harness.client("198.51.100.4")

    async def attempt(**body: Any) -> Any:
        fields = {
            "email": "tom@acme.test",
            "password": PASSWORD,
            "device_name": "Accounts PC",
            "company": "Bistro Lyon",
            **body,
        }
        return await customer.post(TECHNICIAN, json=fields)

    wrong = await attempt(password="not-it")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    unknown = await attempt(email="nobody@acme.test")
    assert (unknown.status_code, unknown.json()["code"]) == (401, "invalid_credentials")
    missing = await attempt()
    assert (missing.status_code, missing.json()["code"]) == (401, "totp_required")
    bad_code = await attempt(totp_code="000000")
    assert (bad_code.status_code, bad_code.json()["code"]) == (401, "invalid_totp")
    no_company = await attempt(company="  ", totp_code=pyotp.TOTP(secret).now())
    assert (no_company.status_code, no_company.json()["code"]) == (422, "company_required")
    viewer = await attempt(email="vic@acme.test")
    assert (viewer.status_code, viewer.json()["code"]) == (403, "permission_denied")

    good = await attempt(totp_code=pyotp.TOTP(secret).now())
    assert good.status_code == 200, good.text
    issued = good.json()
    assert (issued["nickname"], issued["company"]) == ("Accounts PC", "Bistro Lyon")
    device = await enrol(harness, issued["token"], "accounts-01")
    assert isinstance(device, Device)

    async with harness.db() as db:
        actions = (
            await db.execute(
                select(AuditEntry.action, AuditEntry.actor_label, AuditEntry.details).order_by(
                    AuditEntry.seq
                )
            )
        ).all()
    issued_entries = [a for a in actions if a[0] == "self_service.enrolment_issued"]
    assert [(a[1], a[2]["with"], a[2]["company"]) for a in issued_entries] == [
        ("tom@acme.test", "technician", "Bistro Lyon")
    ]
    failures = [a for a in actions if a[0] == "auth.signin_failed"]
    assert failures and failures[0][2]["reason"] == "wrong password (self-service installation)"
    assert PASSWORD not in str(actions)


async def test_technician_credentials_are_throttled_like_a_sign_in(
    org: Org, harness: Harness
) -> None:
    customer = harness.client("198.51.100.5")
    codes = []
    for _ in range(12):
        answer = await customer.post(
            TECHNICIAN,
            json={
                "email": "ada@acme.test",
                "password": "guess",
                "device_name": "PC",
                "company": "Acme",
            },
        )
        codes.append(answer.json()["code"])
    assert codes[0] == "invalid_credentials"
    assert codes[-1] == "too_many_attempts", codes
    # Even the right password is refused from that address until the window passes.
    right = await customer.post(
        TECHNICIAN,
        json={"email": "ada@acme.test", "password": PASSWORD, "device_name": "PC", "company": "A"},
    )
    assert right.status_code == 429, right.text
