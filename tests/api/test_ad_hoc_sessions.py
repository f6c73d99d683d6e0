"""Ad hoc support over the API (issue 14, ADH-1 … ADH-7): preparing with the access password policy
and the e-mail (aiosmtpd), the limits each with its own refusal, the permission and who sees what,
the temporary host's arrival and activation by security code (played by the rules the agent
channel calls: ad_hoc_sessions.host_arrived / activate), connecting with the access password
(argon2id, throttled, audited) and what the host is told, the end now and the 24-hour expiry
with an injected clock, the recipient's refusals in his language, and the audit and report.
The real host is part 14-Y's test (tests/e2e/test_ad_hoc_flow.py, tests/system/test_ad_hoc_host.py).
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from relaydesk.protocol import control, identity
from relaydesk.protocol.messages import (
    PROTOCOL_VERSION,
    AdHocConnect,
    AdHocCredential,
    DeviceFacts,
    Hello,
    JumpEnd,
    Uninstall,
)
from relaydesk.server.db.models import AdHocSession, AuditEntry, Device, User
from relaydesk.server.domain import ad_hoc_sessions
from relaydesk.server.domain.ad_hoc_sessions import AdHocRefused
from tests.api.conftest import Harness, Org
from tests.fixtures.databases import run_async
from tests.fixtures.mail import SmtpServer
from tests.fixtures.technician import Technician, scoped_technician
from tests.fixtures.unattended import (
    agent_commands,
    device_events_until,
    hello_frames,
    installer_credential,
    issue_installer,
)

PASSWORD = "blue-Harbour-42"


@pytest.fixture
def settings_overrides(smtp_server: SmtpServer) -> dict[str, Any]:
    return {"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}


def host_hello(token: str, hostname: str = "maria-laptop") -> Hello:
    return Hello(
        type="hello",
        protocol=PROTOCOL_VERSION,
        agent_version="test",
        mode="adhoc",
        public_key=identity.DeviceKey.generate().public_key_b64,
        credential=AdHocCredential(kind="adhoc", token=token),
        device=DeviceFacts(hostname=hostname, os="Linux", username="maria"),
    )


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def token_of(link: str) -> str:
    assert "/adhoc#" in link, link
    return link.split("#", 1)[1]


async def prepare(client: Any, email: str = "maria@example.org", **extra: Any) -> Any:
    body = {"recipient_email": email, "access_password": PASSWORD, "send_email": False, **extra}
    return await client.post("/api/v1/ad-hoc-sessions", json=body)


async def operator(harness: Harness, org: Org, email: str, language: str = "en") -> Any:
    user = await harness.user(org.id, email, "operator")
    async with harness.db() as db:
        row = await db.get(User, user.id)
        assert row is not None
        row.language = language
    return await harness.signed_in(email)


async def host_arrives(harness: Harness, token: str, **options: Any) -> AdHocSession:
    async with harness.app.state.runtime.transaction() as db:
        hello = options.pop("hello", None) or host_hello(token)
        session = await ad_hoc_sessions.host_arrived(db, token, hello, **options)
        await ad_hoc_sessions.waiting_for_code(db, session)
        return session


async def host_types(harness: Harness, session_id: int, code: str) -> Any:
    runtime = harness.app.state.runtime
    async with runtime.transaction() as db:
        session = await db.get(AdHocSession, session_id)
        assert session is not None
        return await ad_hoc_sessions.activate(db, session, code, runtime.ad_hoc_code_throttle)


async def activated(harness: Harness, client: Any) -> tuple[int, int, str]:
    """A prepared, installed and activated ad hoc session: (its id, its device id, token)."""
    prepared = (await prepare(client)).json()
    token = token_of(prepared["link"])
    session = await host_arrives(harness, token)
    await host_types(harness, session.id, prepared["security_code"])
    assert session.device_id is not None
    harness.app.state.runtime.devices_online.arrive(session.device_id)
    return session.id, session.device_id, token


async def _speak(url: str, connection: control.AgentConnection) -> list[dict[str, Any]]:
    """A host's connection speaking the protocol until welcomed or refused; then it leaves."""
    connection.start()
    frames: list[dict[str, Any]] = []
    async with connect(url, ping_interval=None, open_timeout=60) as ws:
        while not frames or frames[-1]["type"] not in ("welcome", "refused"):
            for frame in connection.data_to_send():
                await ws.send(frame)
            frame = await asyncio.wait_for(ws.recv(), 30)
            frames.append(json.loads(frame))
            connection.receive(frame)
    return frames


async def actions(harness: Harness) -> list[tuple[str, dict[str, Any]]]:
    async with harness.db() as db:
        rows = await db.execute(
            select(AuditEntry.action, AuditEntry.details)
            .where(AuditEntry.action.like("ad_hoc.%"))
            .order_by(AuditEntry.seq)
        )
        return [(a, d) for a, d in rows.all()]


# --- preparing -------------------------------------------------------------------------------
async def test_prepare_mails_the_link_in_the_technicians_language(
    harness: Harness, org: Org, smtp_server: SmtpServer
) -> None:
    client = await operator(harness, org, "luc@acme.test", language="fr")
    answer = await prepare(client, send_email=True, chat_on_connect=True)
    assert answer.status_code == 201, answer.text
    prepared = answer.json()
    link, code = prepared["link"], prepared["security_code"]
    assert link.startswith("http://testserver/adhoc#") and len(code) == 6 and code.isdigit()
    assert prepared["session"]["state"] == "emailed"
    assert prepared["session"]["chat_on_connect"] is True

    mail = smtp_server.wait_for(1)[0]
    assert mail["To"] == "maria@example.org"
    assert "vous invite à une session d'assistance" in str(mail["Subject"])
    body = mail.get_content()
    assert link in body and "code de sécurité" in body and "Acme Support" in body

    # Shown once: neither the link's token nor the code nor the password is ever read back.
    listed = (await client.get("/api/v1/ad-hoc-sessions")).text
    one = (await client.get(f"/api/v1/ad-hoc-sessions/{prepared['session']['id']}")).text
    for text in (listed, one):
        assert token_of(link) not in text and code not in text and PASSWORD not in text
    async with harness.db() as db:
        row = await db.get(AdHocSession, prepared["session"]["id"])
        assert row is not None
        assert row.access_password_hash.startswith("$argon2id$")
        assert token_of(link) not in row.deployment_token_hash
    assert [a for a, _ in await actions(harness)] == ["ad_hoc.prepared", "ad_hoc.emailed"]


async def test_access_password_policy(harness: Harness, org: Org) -> None:
    client = await operator(harness, org, "tom@acme.test")
    short = await prepare(client, access_password="seven77")
    assert short.status_code == 422
    assert short.json()["code"] == "access_password_too_short"
    assert "at least 8 characters" in short.json()["detail"]

    await org.admin.patch("/api/v1/organisation/settings", json={"access_password_min_length": 12})
    eleven = await prepare(client, access_password="elevenchars")
    assert eleven.json()["code"] == "access_password_too_short"
    assert "at least 12 characters" in eleven.json()["detail"]
    spaces = await prepare(client, access_password=" leading-space-pw")
    assert spaces.json()["code"] == "access_password_spaces"
    bad_mail = await prepare(client, email="not-an-address")
    assert bad_mail.json()["code"] == "invalid_recipient_email"
    assert (await prepare(client, access_password="twelve-chars")).status_code == 201


async def test_limits_each_refuse_with_their_own_message(harness: Harness, org: Org) -> None:
    first = await operator(harness, org, "one@acme.test")
    assert (await prepare(first)).status_code == 201
    again = await prepare(first)
    assert again.status_code == 409
    assert again.json()["code"] == "ad_hoc_limit_per_technician"
    assert "end one of yours" in again.json()["detail"]

    await org.admin.patch("/api/v1/organisation/settings", json={"adhoc_limit_per_organisation": 2})
    second = await operator(harness, org, "two@acme.test")
    assert (await prepare(second)).status_code == 201
    third = await operator(harness, org, "three@acme.test")
    full = await prepare(third)
    assert full.json()["code"] == "ad_hoc_limit_per_organisation"
    assert "one of them must end first" in full.json()["detail"]

    # Ending one frees a place; then the licence: one seat per device, pending hosts included.
    mine = (await first.get("/api/v1/ad-hoc-sessions")).json()[0]["id"]
    assert (await first.post(f"/api/v1/ad-hoc-sessions/{mine}/end")).status_code == 200
    async with harness.db() as db:
        db.add(Device(organisation_id=org.id, kind="unattended", public_key="k", hostname="srv"))
    settings = await org.admin.patch("/api/v1/organisation/settings", json={"device_seats": 2})
    assert settings.json()["device_seats"] == 2
    seats = await prepare(third)
    assert seats.status_code == 409 and seats.json()["code"] == "no_free_seat"
    assert "removing a device" in seats.json()["detail"]
    unlimited = await org.admin.patch("/api/v1/organisation/settings", json={"device_seats": 0})
    assert unlimited.json()["device_seats"] is None
    assert (await prepare(third)).status_code == 201


async def test_permission_and_who_sees_what(harness: Harness, org: Org) -> None:
    await harness.user(org.id, "vic@acme.test", "viewer")
    viewer = await harness.signed_in("vic@acme.test")
    refused = await prepare(viewer)
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert "Ad hoc support" in refused.json()["detail"]

    owner = await operator(harness, org, "own@acme.test")
    session_id = (await prepare(owner)).json()["session"]["id"]
    colleague = await operator(harness, org, "col@acme.test")
    for path in ("", "/report"):
        answer = await colleague.get(f"/api/v1/ad-hoc-sessions/{session_id}{path}")
        assert answer.status_code == 404 and answer.json()["code"] == "ad_hoc_session_not_found"
    assert (await colleague.post(f"/api/v1/ad-hoc-sessions/{session_id}/end")).status_code == 404
    assert (await colleague.get("/api/v1/ad-hoc-sessions")).json() == []
    # The administrator sees the organisation's; another organisation's administrator does not.
    assert (await org.admin.get(f"/api/v1/ad-hoc-sessions/{session_id}")).status_code == 200
    other = await harness.organisation("Other Org", remote_support_enabled=True)
    await harness.user(other, "eve@other.test", "admin")
    stranger = await harness.signed_in("eve@other.test")
    assert (await stranger.get(f"/api/v1/ad-hoc-sessions/{session_id}")).status_code == 404


# --- the host: activation and what the recipient sees -----------------------------------------
async def test_activation_by_the_latest_security_code(harness: Harness, org: Org) -> None:
    client = await operator(harness, org, "ann@acme.test")
    prepared = (await prepare(client)).json()
    token = token_of(prepared["link"])
    opened = await harness.client().post(
        "/api/v1/portal/ad-hoc/opened", json={"token": token, "language": "de-DE"}
    )
    assert opened.status_code == 200
    assert opened.json()["file_name"] == f"relaydesk-adhoc-{token}"
    assert opened.json()["organisation"] == "Acme Support"
    session = await host_arrives(harness, token, language="de_DE.UTF-8")
    state = (await client.get(f"/api/v1/ad-hoc-sessions/{session.id}")).json()
    assert state["state"] == "waiting_for_code"
    assert state["device_hostname"] == "maria-laptop"

    with pytest.raises(AdHocRefused) as wrong:
        await host_types(
            harness, session.id, "000000" if prepared["security_code"] != "000000" else "111111"
        )
    assert wrong.value.code == "adhoc_code_invalid"
    assert wrong.value.message.startswith("Ungültiger Sicherheitscode")
    newer = (await client.post(f"/api/v1/ad-hoc-sessions/{session.id}/security-code")).json()
    if newer["security_code"] != prepared["security_code"]:
        with pytest.raises(AdHocRefused) as older:
            await host_types(harness, session.id, prepared["security_code"])
        assert older.value.code == "adhoc_code_invalid"
    activation = await host_types(harness, session.id, newer["security_code"])
    assert activation.organisation == "Acme Support" and activation.technician == "Ann"
    assert activation.password_hash.startswith("$argon2id$")
    state = (await client.get(f"/api/v1/ad-hoc-sessions/{session.id}")).json()
    assert state["state"] == "activated"
    assert state["expires_at"] is not None
    # The device is in the device list's ad hoc sessions (kind adhoc).
    devices = (await org.admin.get("/api/v1/devices", params={"kind": "adhoc"})).json()
    assert [d["hostname"] for d in devices["devices"]] == ["maria-laptop"]
    done = [a for a, _ in await actions(harness)]
    assert done[:2] == ["ad_hoc.prepared", "ad_hoc.link_opened"]
    assert "ad_hoc.installed" in done and "ad_hoc.wrong_code" in done
    assert done[-1] == "ad_hoc.activated"


async def test_wrong_codes_are_throttled(harness: Harness, org: Org) -> None:
    client = await operator(harness, org, "thr@acme.test")
    prepared = (await prepare(client)).json()
    session = await host_arrives(harness, token_of(prepared["link"]))
    wrong = other_code(prepared["security_code"])
    for _ in range(5):
        with pytest.raises(AdHocRefused):
            await host_types(harness, session.id, wrong)
    with pytest.raises(AdHocRefused) as blocked:
        await host_types(harness, session.id, prepared["security_code"])
    assert blocked.value.code == "too_many_attempts"
    assert [a for a, _ in await actions(harness)].count("ad_hoc.wrong_code") == 5


async def test_what_the_recipient_is_told(harness: Harness, org: Org) -> None:
    client = await operator(harness, org, "rex@acme.test")
    with pytest.raises(AdHocRefused) as unknown:
        await host_arrives(harness, "x" * 43, language="fr_FR.UTF-8")
    assert unknown.value.code == "adhoc_link_unknown"
    assert unknown.value.message.startswith("Ce lien d'assistance n'est pas valable")

    prepared = (await prepare(client)).json()
    token = token_of(prepared["link"])
    async with harness.db() as db:
        row = await db.get(AdHocSession, prepared["session"]["id"])
        assert row is not None
        later = row.link_expires_at + timedelta(seconds=1)
    async with harness.app.state.runtime.transaction() as db:
        with pytest.raises(AdHocRefused) as expired:
            await ad_hoc_sessions.host_arrived(db, token, host_hello(token), now=later)
    assert expired.value.code == "adhoc_link_expired"
    assert "has expired" in expired.value.message

    # A permanent agent of this organisation on the computer: use the device list instead.
    installed = host_hello(token)
    async with harness.db() as db:
        db.add(
            Device(
                organisation_id=org.id,
                kind="unattended",
                public_key=installed.public_key,
                hostname="maria-laptop",
            )
        )
    with pytest.raises(AdHocRefused) as permanent:
        await host_arrives(harness, token, permanent_agent_key=installed.public_key)
    assert permanent.value.code == "adhoc_permanent_agent"
    assert "Acme Support already has a permanent agent" in permanent.value.message

    # An earlier temporary host still open on this computer: by whom.
    first = await host_arrives(harness, token)
    async with harness.db() as db:
        device = await db.get(Device, first.device_id)
        assert device is not None
        previous_key = device.public_key
    await org.admin.patch("/api/v1/organisation/settings", json={"adhoc_limit_per_user": 2})
    second = token_of((await prepare(client)).json()["link"])
    with pytest.raises(AdHocRefused) as still_open:
        await host_arrives(harness, second, previous_device_key=previous_key, language="de")
    assert still_open.value.code == "adhoc_previous_session_open"
    assert "(Acme Support, Rex)" in still_open.value.message
    # The link, used by one computer, is refused to another.
    with pytest.raises(AdHocRefused) as used:
        await host_arrives(harness, token)
    assert used.value.code == "adhoc_link_used"
    # Once ended: the link and the host are told so.
    await client.post(f"/api/v1/ad-hoc-sessions/{first.id}/end")
    gone = await harness.client().post("/api/v1/portal/ad-hoc/opened", json={"token": token})
    assert gone.status_code == 404 and gone.json()["code"] == "adhoc_session_ended"


# --- connecting, ending, expiry ----------------------------------------------------------------
async def test_connect_with_the_access_password(harness: Harness, org: Org) -> None:
    client = await operator(harness, org, "cat@acme.test")
    session_id, device_id, _ = await activated(harness, client)
    url = f"/api/v1/ad-hoc-sessions/{session_id}/connect"
    async with agent_commands(harness, device_id) as told:
        wrong = await client.post(url, json={"password": "not-the-password"})
        assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_access_password"
        answer = await client.post(url, json={"password": PASSWORD, "chat": True})
        assert answer.status_code == 200, answer.text
    support_id = answer.json()["session_id"]
    connects = [event for event in told if isinstance(event, AdHocConnect)]
    assert len(connects) == 1
    assert connects[0].session_id == support_id and connects[0].password == PASSWORD
    assert connects[0].technician == "Cat"
    assert answer.json()["chat"] is True
    # The chat started with the user: the technician's first line, in the recipient's language.
    detail = (await client.get(f"/api/v1/sessions/{support_id}")).json()
    assert [m["text"] for m in detail["chat"]] == [
        "Cat is connected to your computer. You can chat with me here."
    ]

    # Closing the connection does not end the ad hoc session; the host keeps running.
    async with agent_commands(harness, device_id) as told:
        ended = await client.post(f"/api/v1/sessions/{support_id}/end")
        assert ended.status_code in (200, 204), ended.text
    assert any(isinstance(event, JumpEnd) for event in told)
    state = (await client.get(f"/api/v1/ad-hoc-sessions/{session_id}")).json()
    assert state["state"] == "activated"
    # Offline: still listed, connecting is refused until it is back.
    harness.app.state.runtime.devices_online.leave(device_id)
    offline = await client.post(url, json={"password": PASSWORD})
    assert offline.json()["code"] == "device_offline"
    state = (await client.get(f"/api/v1/ad-hoc-sessions/{session_id}")).json()
    assert state["state"] == "activated" and state["device_online"] is False

    done = await actions(harness)
    wrong_entries = [d for a, d in done if a == "ad_hoc.wrong_password"]
    assert len(wrong_entries) == 1 and PASSWORD not in str(done)
    assert "ad_hoc.connected" in [a for a, _ in done]


async def test_wrong_access_passwords_are_throttled(harness: Harness, org: Org) -> None:
    client = await operator(harness, org, "dan@acme.test")
    session_id, _, _ = await activated(harness, client)
    url = f"/api/v1/ad-hoc-sessions/{session_id}/connect"
    for _ in range(5):
        assert (await client.post(url, json={"password": "guess-guess"})).status_code == 403
    blocked = await client.post(url, json={"password": PASSWORD})
    assert blocked.status_code == 429 and blocked.json()["code"] == "too_many_attempts"


async def test_end_now_uninstalls_and_reports(harness: Harness, org: Org) -> None:
    client = await operator(harness, org, "eli@acme.test")
    session_id, device_id, token = await activated(harness, client)
    connected = await client.post(
        f"/api/v1/ad-hoc-sessions/{session_id}/connect", json={"password": PASSWORD}
    )
    assert connected.status_code == 200
    async with agent_commands(harness, device_id) as told:
        ended = await client.post(f"/api/v1/ad-hoc-sessions/{session_id}/end")
    assert ended.json()["state"] == "ended" and ended.json()["ended_by"] == "Eli"
    assert any(isinstance(event, Uninstall) for event in told)
    devices = (await org.admin.get("/api/v1/devices", params={"kind": "adhoc"})).json()
    assert devices["devices"] == []
    # The host comes back: it is told to uninstall; then it says it did.
    async with harness.app.state.runtime.transaction() as db:
        session = await ad_hoc_sessions.session_of_device(db, device_id)
        assert session is not None and ad_hoc_sessions.uninstall_due(session)
        await ad_hoc_sessions.host_uninstalled(db, session)

    report = (await client.get(f"/api/v1/ad-hoc-sessions/{session_id}/report")).json()
    assert [c["technician"] for c in report["connections"]] == ["Eli"]
    assert report["connections"][0]["ended_at"] is not None
    assert [e["action"] for e in report["timeline"]] == [
        "ad_hoc.prepared",
        "ad_hoc.installed",
        "ad_hoc.activated",
        "ad_hoc.connected",
        "ad_hoc.ended",
        "ad_hoc.uninstalled",
    ]
    assert token not in str(report)


async def test_expiry_24_hours_after_activation(harness: Harness, org: Org) -> None:
    client = await operator(harness, org, "fay@acme.test")
    session_id, device_id, _ = await activated(harness, client)
    async with harness.db() as db:
        row = await db.get(AdHocSession, session_id)
        assert row is not None and row.activated_at is not None
        activated_at = row.activated_at
    assert row.expires_at == activated_at + timedelta(hours=24)
    async with harness.app.state.runtime.transaction() as db:
        assert await ad_hoc_sessions.sweep(db, activated_at + timedelta(hours=23, minutes=59)) == 0
    assert (await client.get(f"/api/v1/ad-hoc-sessions/{session_id}")).json()["state"] == (
        "activated"
    )
    runtime = harness.app.state.runtime
    async with agent_commands(harness, device_id) as told, runtime.transaction() as db:
        assert await ad_hoc_sessions.sweep(db, activated_at + timedelta(hours=24)) == 1
    assert any(isinstance(event, Uninstall) for event in told)
    state = (await client.get(f"/api/v1/ad-hoc-sessions/{session_id}")).json()
    assert state["state"] == "expired" and state["ended_by"] == "expiry"
    devices = (await org.admin.get("/api/v1/devices", params={"kind": "adhoc"})).json()
    assert devices["devices"] == []
    assert ("ad_hoc.expired", {"recipient": "maria@example.org", "activated": True}) in (
        await actions(harness)
    )
    # A place is free again for this technician.
    assert (await prepare(client)).status_code == 201


# --- scope: a technician limited to device groups and his own ad hoc device -------------------
async def group_scoped(harness: Harness, org: Org, email: str, group_id: int) -> Any:
    """A help desk operator whose role assignment is limited to one device group (GOV-3)."""
    roles = {r["name"]: r["id"] for r in (await org.admin.get("/api/v1/roles")).json()}
    user = await harness.user(org.id, email, role=None)
    body = {
        "role_id": roles["Help desk operator"],
        "scope": "groups",
        "device_group_ids": [group_id],
    }
    assigned = await org.admin.post(f"/api/v1/users/{user.id}/role-assignments", json=body)
    assert assigned.status_code in (200, 201), assigned.text
    return await harness.signed_in(email)


async def test_a_group_scoped_technician_reaches_his_own_ad_hoc_device(
    harness: Harness, org: Org
) -> None:
    made = await org.admin.post("/api/v1/device-groups", json={"name": "Berlin"})
    assert made.status_code in (200, 201), made.text
    berlin = made.json()["id"]
    gus = await group_scoped(harness, org, "gus@acme.test", berlin)
    hal = await group_scoped(harness, org, "hal@acme.test", berlin)

    session_id, device_id, _ = await activated(harness, gus)
    # He sees the device in the list (Ad hoc kind) and its details.
    listed = (await gus.get("/api/v1/devices", params={"kind": "adhoc"})).json()
    assert [d["id"] for d in listed["devices"]] == [device_id]
    assert (await gus.get(f"/api/v1/devices/{device_id}")).status_code == 200
    # He connects with the access password and gets his tools.
    connected = await gus.post(
        f"/api/v1/ad-hoc-sessions/{session_id}/connect", json={"password": PASSWORD}
    )
    assert connected.status_code == 200, connected.text
    support_id = connected.json()["session_id"]
    assert (await gus.get(f"/api/v1/sessions/{support_id}")).status_code == 200
    shell = await gus.post(f"/api/v1/sessions/{support_id}/shell/tunnel")
    assert shell.status_code == 201, shell.text

    # A colleague limited to the same groups reaches neither the device nor the ad hoc session.
    for path in (f"/api/v1/devices/{device_id}", f"/api/v1/devices/{device_id}/sessions"):
        answer = await hal.get(path)
        assert answer.status_code == 404 and answer.json()["code"] == "device_not_found"
    assert (await hal.get("/api/v1/devices", params={"kind": "adhoc"})).json()["devices"] == []
    answer = await hal.get(f"/api/v1/ad-hoc-sessions/{session_id}")
    assert answer.status_code == 404 and answer.json()["code"] == "ad_hoc_session_not_found"
    assert (await hal.get(f"/api/v1/sessions/{support_id}")).status_code == 404
    assert (await hal.post(f"/api/v1/sessions/{support_id}/shell/tunnel")).status_code == 404

    # Once the ad hoc session has ended, he no longer reaches the device (all-devices still do).
    ended = await gus.post(f"/api/v1/ad-hoc-sessions/{session_id}/end")
    assert ended.json()["state"] == "ended", ended.text
    assert (await gus.get("/api/v1/devices", params={"kind": "adhoc"})).json()["devices"] == []
    history = await gus.get(f"/api/v1/devices/{device_id}/sessions")
    assert history.status_code == 404 and history.json()["code"] == "device_not_found"
    assert (await org.admin.get(f"/api/v1/devices/{device_id}/sessions")).status_code == 200


def test_his_console_hears_of_his_own_ad_hoc_device_only(relaydesk_server: Any) -> None:
    """Against the real server process: the host of a group-scoped technician's ad hoc session
    comes online and goes; his console hears of it, a colleague scoped alike does not (his first
    device event is a device of their group enrolled afterwards)."""
    admin = Technician(relaydesk_server).sign_in_first_time()
    lobby = admin.http.post("/api/v1/device-groups", json={"name": "Lobby"}).json()["id"]
    tom = scoped_technician(admin, relaydesk_server, "tom@demo.test", lobby, name="Tom Lobby")
    ann = scoped_technician(admin, relaydesk_server, "ann@demo.test", lobby, name="Tom Lobby")
    url = relaydesk_server.url.replace("http://", "ws://") + "/agent/ws"
    with tom.console() as toms, ann.console() as anns:
        prepared = tom.http.post(
            "/api/v1/ad-hoc-sessions",
            json={"recipient_email": "maria@example.org", "access_password": PASSWORD},
        )
        assert prepared.status_code in (200, 201), prepared.text
        key = identity.DeviceKey.generate()
        hello = host_hello(token_of(prepared.json()["link"])).model_copy(
            update={"public_key": key.public_key_b64}
        )
        frames = run_async(_speak(url, control.AgentConnection(hello, key)))
        assert frames[-1]["type"] == "welcome", frames
        host = int(frames[-1]["device_id"])

        def offline(device_id: int) -> Any:
            return lambda e: e["device_id"] == device_id and e.get("online") is False

        heard = device_events_until(toms, offline(host))
        assert [(e["device_id"], e["online"]) for e in heard] == [(host, True), (host, False)]
        assert heard[0]["device_group_id"] is None

        token = issue_installer(admin, device_group_id=lobby)["token"]
        enrolled = run_async(
            hello_frames(url, identity.DeviceKey.generate(), installer_credential(token))
        )
        in_lobby = int(enrolled[-1]["device_id"])
        (first, *_) = device_events_until(anns, lambda e: e["device_id"] == in_lobby)
        assert first["device_id"] == in_lobby  # nothing of the ad hoc host before it
