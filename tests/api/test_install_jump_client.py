"""Turning an attended session into an installed Jump client (issue 13 item 4, UNA-1, TOOL-9)
over the API, with the agent's side called on the domain as its control channel does
(tests/e2e/test_install_jump_client.py runs the real agent and its window): the permission
'Manage devices', re-authentication (password, authenticator code; specific errors, throttled),
bad names and groups, an offline agent, one installation at a time; the customer denies (the
single-use installer is revoked) or allows (a token is made only then; the device enrolled with
it carries the nickname, company, group and jump password's argon2id hash; the attended session
ends); everything audited and in the session's report."""

from __future__ import annotations

import time
from typing import Any

import pyotp
from argon2 import PasswordHasher
from sqlalchemy import select

from relaydesk.protocol.messages import (
    DeviceFacts,
    Hello,
    InstallerCredential,
    JumpClientAnswer,
    JumpClientResult,
)
from relaydesk.server.db.models import AuditEntry, Device, Installer, SupportSession
from relaydesk.server.domain import installers, jump_client_install
from relaydesk.server.domain.errors import Conflict
from relaydesk.server.domain.throttle import AttemptThrottle, MemoryLedger
from tests.api.conftest import PASSWORD, Harness, Org
from tests.fixtures.attended import agent_arrives, new_key

BODY = {
    "password": PASSWORD,
    "nickname": "Maria's laptop",
    "company": "Bistro Lyon",
    "jump_password": "open sesame 42",
}


async def live_session(org: Org, harness: Harness, client: Any = None) -> tuple[int, int]:
    """A customer's agent arrived with a key and the technician accepted: (session, device)."""
    client = client or org.admin
    key = await new_key(client)
    session_id = await agent_arrives(harness, key["key"])
    accepted = await client.post(f"/api/v1/sessions/{session_id}/accept")
    assert accepted.status_code == 200, accepted.text
    async with harness.db() as db:
        session = await db.get(SupportSession, session_id)
        assert session is not None
        device_id = session.device_id
    harness.app.state.runtime.devices_online.arrive(device_id)
    return session_id, device_id


def url(session_id: int) -> str:
    return f"/api/v1/sessions/{session_id}/jump-client"


async def enrol_with(harness: Harness, token: str) -> Device:
    hello = Hello(
        type="hello",
        protocol=1,
        agent_version="test",
        mode="unattended",
        public_key="B" * 43 + "=",
        credential=InstallerCredential(kind="installer", token=token),
        device=DeviceFacts(hostname="maria-pc", os="Linux"),
    )
    async with harness.db() as db:
        found = await installers.usable(
            db, token, "192.0.2.10", AttemptThrottle(MemoryLedger(), 100, 60)
        )
        assert isinstance(found, Installer), found
        device = await installers.enrol(db, found.id, hello, "192.0.2.10")
        assert isinstance(device, Device), device
        return device


async def test_allowed_the_agent_installs_and_the_session_ends(org: Org, harness: Harness) -> None:
    group = (await org.admin.post("/api/v1/device-groups", json={"name": "Lyon"})).json()
    session_id, _ = await live_session(org, harness)
    asked = await org.admin.post(url(session_id), json={**BODY, "device_group_id": group["id"]})
    assert asked.status_code == 201, asked.text
    assert asked.json() == {
        "session_id": session_id,
        "state": "asking",
        "nickname": "Maria's laptop",
        "company": "Bistro Lyon",
        "device_group_id": group["id"],
        "message": "",
    }

    async with harness.db() as db:
        row = (
            await db.execute(select(Installer).where(Installer.purpose == "jump_client"))
        ).scalar_one()
        first_hash = row.token_hash
        token = await jump_client_install.answered(
            db,
            session_id,
            JumpClientAnswer(type="jump_client_answer", request_id=row.id, allow=True),
            "192.0.2.10",
        )
    assert token.startswith("rdi_")
    assert (await org.admin.get(url(session_id))).json()["state"] == "installing"
    again = await org.admin.post(url(session_id), json=BODY)  # one installation at a time
    assert (again.status_code, again.json()["code"]) == (409, "jump_client_pending")
    device = await enrol_with(harness, token)
    async with harness.db() as db:
        row = await db.get(Installer, row.id)
        assert row is not None and row.token_hash != first_hash
        await jump_client_install.reported(
            db,
            session_id,
            JumpClientResult(
                type="jump_client_result", request_id=row.id, installed=True, device_id=device.id
            ),
            "192.0.2.10",
        )
    assert (await org.admin.get(url(session_id))).json()["state"] == "installed"

    async with harness.db() as db:
        stored = await db.get(Device, device.id)
        session = await db.get(SupportSession, session_id)
        actions = (
            await db.execute(
                select(AuditEntry.action, AuditEntry.details)
                .where(AuditEntry.action.like("jump_client.%"))
                .order_by(AuditEntry.seq)
            )
        ).all()
    assert stored is not None and session is not None
    assert (stored.kind, stored.nickname, stored.company, stored.device_group_id) == (
        "unattended",
        "Maria's laptop",
        "Bistro Lyon",
        group["id"],
    )
    assert stored.jump_password_hash is not None
    assert stored.jump_password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(stored.jump_password_hash, "open sesame 42")
    assert session.status == "ended"
    assert [a for a, _ in actions] == [
        "jump_client.requested",
        "jump_client.consented",
        "jump_client.installed",
    ]
    assert actions[0][1]["jump_password"] is True
    assert "open sesame" not in str(actions) and token not in str(actions)

    report = (await org.admin.get(f"/api/v1/reports/sessions/{session_id}")).json()
    kinds = [event["kind"] for event in report["events"]]
    assert kinds.index("jump_client.requested") < kinds.index("jump_client.consented")
    assert kinds.index("jump_client.consented") < kinds.index("jump_client.installed")
    assert kinds.index("jump_client.installed") < kinds.index("session.ended")


async def test_denied_the_installer_is_revoked(org: Org, harness: Harness) -> None:
    session_id, _ = await live_session(org, harness)
    assert (await org.admin.post(url(session_id), json=BODY)).status_code == 201
    async with harness.db() as db:
        row = (await db.execute(select(Installer))).scalar_one()
        token = await jump_client_install.answered(
            db,
            session_id,
            JumpClientAnswer(type="jump_client_answer", request_id=row.id, allow=False),
            "192.0.2.10",
        )
    assert token == ""
    assert (await org.admin.get(url(session_id))).json()["state"] == "denied"
    async with harness.db() as db:
        row = await db.get(Installer, row.id)
        session = await db.get(SupportSession, session_id)
        denied = (
            await db.execute(
                select(AuditEntry.actor_label).where(AuditEntry.action == "jump_client.denied")
            )
        ).scalar_one()
    assert row is not None and row.revoked_at is not None
    assert session is not None and session.status == "active"  # the session goes on
    assert denied == "customer"
    # Asked again after a denial: a new question.
    assert (await org.admin.post(url(session_id), json=BODY)).status_code == 201


async def test_refusals_are_specific(org: Org, harness: Harness) -> None:
    secret = pyotp.random_base32()
    await harness.user(org.id, "tom@acme.test", "admin", totp_secret=secret)
    tom = await harness.signed_in("tom@acme.test", totp_secret=secret)
    session_id, device_id = await live_session(org, harness, tom)

    async def attempt(**body: Any) -> tuple[int, str]:
        answer = await tom.post(url(session_id), json={**BODY, **body})
        return answer.status_code, answer.json().get("code", "")

    assert await attempt(password="wrong") == (401, "wrong_password")
    assert await attempt() == (401, "totp_required")
    assert await attempt(totp_code="000000") == (401, "invalid_totp")
    # The next step's code: the sign-in used this step's (a code counts once; one step of drift
    # is accepted).
    code = pyotp.TOTP(secret).at(int(time.time()) + 30)
    assert await attempt(nickname="", totp_code=code) == (422, "device_name_required")
    assert await attempt(nickname="n" * 101, totp_code=code) == (422, "device_name_too_long")
    assert await attempt(company=" ", totp_code=code) == (422, "company_required")
    assert await attempt(jump_password="p" * 201, totp_code=code) == (
        422,
        "jump_password_too_long",
    )
    assert await attempt(device_group_id=999, totp_code=code) == (404, "device_group_not_found")
    harness.app.state.runtime.devices_online.leave(device_id)
    assert await attempt(totp_code=code) == (409, "agent_offline")
    assert (await tom.get(url(session_id))).json()["code"] == "no_jump_client"

    # Only a technician who sees the session (its owner), and only with 'Manage devices'.
    assert (await org.admin.post(url(session_id), json=BODY)).status_code == 404
    await harness.user(org.id, "olga@acme.test", "operator")
    olga = await harness.signed_in("olga@acme.test")
    own_session, _ = await live_session(org, harness, olga)
    refused = await olga.post(url(own_session), json=BODY)
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert (await olga.post(url(session_id), json=BODY)).status_code == 404

    async with harness.db() as db:
        failures = (
            await db.execute(
                select(AuditEntry.details).where(AuditEntry.action == "auth.signin_failed")
            )
        ).scalars()
        assert "wrong password (Jump client installation)" in str(list(failures))


async def test_wrong_passwords_are_throttled(org: Org, harness: Harness) -> None:
    session_id, _ = await live_session(org, harness)
    codes = [
        (await org.admin.post(url(session_id), json={**BODY, "password": "guess"})).json()["code"]
        for _ in range(12)
    ]
    assert codes[0] == "wrong_password" and codes[-1] == "too_many_attempts", codes
    right = await org.admin.post(url(session_id), json=BODY)
    assert right.status_code == 429, right.text


async def test_a_failure_reported_while_asking_fails_the_request(
    org: Org, harness: Harness
) -> None:
    session_id, _ = await live_session(org, harness)
    assert (await org.admin.post(url(session_id), json=BODY)).status_code == 201
    async with harness.db() as db:
        row = (await db.execute(select(Installer))).scalar_one()
        await jump_client_install.reported(
            db,
            session_id,
            JumpClientResult(
                type="jump_client_result",
                request_id=row.id,
                installed=False,
                message="The installation failed: no way to become root here.",
            ),
            "192.0.2.10",
        )
    state = (await org.admin.get(url(session_id))).json()
    assert (state["state"], state["message"]) == (
        "failed",
        "The installation failed: no way to become root here.",
    )
    async with harness.db() as db:
        # An installation the customer never allowed cannot be reported as done.
        try:
            await jump_client_install.reported(
                db,
                session_id,
                JumpClientResult(
                    type="jump_client_result", request_id=row.id, installed=True, device_id=1
                ),
                "192.0.2.10",
            )
        except Conflict as refused:
            assert refused.code == "no_jump_client_request"
        else:
            raise AssertionError("a report for a failed request was taken")
        failed = (
            await db.execute(
                select(AuditEntry.action)
                .where(AuditEntry.action.like("jump_%"))
                .order_by(AuditEntry.seq)
            )
        ).scalars()
        assert list(failed) == ["jump_client.requested", "jump_client.failed"]


async def test_the_customer_answers_on_his_portal_page(org: Org, harness: Harness) -> None:
    key = await new_key(org.admin)
    customer = harness.client("198.51.100.20")
    entered = await customer.post("/api/v1/portal/keys", json={"key": key["key"]})
    assert entered.status_code == 200, entered.text
    secret = {"x-customer-token": entered.json()["customer_token"]}
    session_id = await agent_arrives(harness, key["key"])
    assert (await org.admin.post(f"/api/v1/sessions/{session_id}/accept")).status_code == 200
    async with harness.db() as db:
        session = await db.get(SupportSession, session_id)
        assert session is not None
        harness.app.state.runtime.devices_online.arrive(session.device_id)
    first = (await org.admin.post(url(session_id), json=BODY)).json()
    # Nobody answered (no window): asked again, the new question replaces the first.
    assert (await org.admin.post(url(session_id), json=BODY)).status_code == 201
    async with harness.db() as db:
        rows = list((await db.execute(select(Installer).order_by(Installer.id))).scalars())
        asked = await jump_client_install.question(db, session_id)
    assert [(r.state, r.outcome) for r in rows] == [
        ("failed", "Replaced by a newer request."),
        ("asking", None),
    ]
    assert asked == (rows[1].id, "Ada")
    assert first["state"] == "asking"

    answer = "/api/v1/portal/session/jump-client/answer"
    stale = await customer.post(
        answer, json={"request_id": rows[0].id, "allow": True}, headers=secret
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "no_jump_client_request")
    nobody = await customer.post(answer, json={"request_id": rows[1].id, "allow": True})
    assert nobody.status_code == 422  # no customer secret
    allowed = await customer.post(
        answer, json={"request_id": rows[1].id, "allow": True}, headers=secret
    )
    assert allowed.status_code == 204, allowed.text
    assert (await org.admin.get(url(session_id))).json()["state"] == "installing"
    async with harness.db() as db:
        assert await jump_client_install.question(db, session_id) is None
        consented = (
            await db.execute(
                select(AuditEntry.actor_label).where(AuditEntry.action == "jump_client.consented")
            )
        ).scalar_one()
    assert consented == "customer"
