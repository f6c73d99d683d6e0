"""Jumping to an installed device over the API (issue 13 items 6–8 and 10, UNA-6, UNA-8): the
session it starts, policies with a prompt and what the device's answer does, schedules and their
override, the jump password (argon2id, throttled), the feature switch, permissions and scope,
and the audit. The installed agent's side is played by the rules it calls (jumps.answered) and
the commands it would receive (the device's broker topic); tests/e2e/test_jump.py runs the real
agent, the prompt window and the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from relaydesk.protocol.messages import EndSession, JumpAnswer, JumpEnd, JumpStart
from relaydesk.server.db.models import AuditEntry, Device, SupportSession
from relaydesk.server.domain import jumps
from tests.api.conftest import Harness, Org
from tests.fixtures.unattended import agent_commands


async def installed_device(
    harness: Harness, org_id: int, group_id: int | None = None, online: bool = True
) -> int:
    async with harness.db() as db:
        device = Device(
            organisation_id=org_id,
            kind="unattended",
            public_key="A" * 43 + "=",
            hostname=f"kiosk-{group_id or 0}",
            device_group_id=group_id,
        )
        db.add(device)
        await db.flush()
        device_id = device.id
    if online:
        harness.app.state.runtime.devices_online.arrive(device_id)
    return device_id


async def agent_answers(harness: Harness, device_id: int, session_id: int, **answer: Any) -> None:
    message = JumpAnswer(type="jump_answer", session_id=session_id, **answer)
    async with harness.app.state.runtime.transaction() as db:
        await jumps.answered(db, device_id, message)


async def audit_actions(harness: Harness, prefix: str = "jump") -> list[tuple[str, dict[str, Any]]]:
    async with harness.db() as db:
        rows = await db.execute(
            select(AuditEntry.action, AuditEntry.details)
            .where(AuditEntry.action.like(f"{prefix}%"))
            .order_by(AuditEntry.seq)
        )
        return [(a, d) for a, d in rows.all()]


async def group(org: Org, name: str) -> int:
    response = await org.admin.post("/api/v1/device-groups", json={"name": name})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_a_jump_without_prompt_starts_a_session_and_ending_it_keeps_the_device(
    org: Org, harness: Harness
) -> None:
    device_id = await installed_device(harness, org.id)
    status = (await org.admin.get(f"/api/v1/devices/{device_id}/jump")).json()
    assert (status["can_jump"], status["prompt"], status["policy_source"]) == (
        True,
        "none",
        "default",
    )
    for round_ in range(2):  # consecutive jumps to the same device
        async with agent_commands(harness, device_id) as told:
            response = await org.admin.post(f"/api/v1/devices/{device_id}/jump", json={})
            assert response.status_code == 201, response.text
            session = response.json()
            assert (session["kind"], session["status"], session["jump_state"]) == (
                "jump",
                "active",
                "allowed",
            )
            assert session["owner_name"] == "Ada"
            assert session["screen_state"] == "control"
            await agent_answers(
                harness, device_id, session["id"], outcome="not_asked", desktop="user"
            )
            again = await org.admin.post(f"/api/v1/devices/{device_id}/jump", json={})
            assert again.json()["id"] == session["id"]  # his open jump, not a second one
            # The tools open: the shell's tunnel goes to the device
            shell = await org.admin.post(f"/api/v1/sessions/{session['id']}/shell/tunnel")
            assert shell.status_code == 201, shell.text
            # Sharing stopped and asked for again: nobody to ask, it is shared at once
            stopped = await org.admin.post(f"/api/v1/sessions/{session['id']}/screen/stop")
            assert stopped.json()["screen_state"] == "off", stopped.text
            asked = await org.admin.post(
                f"/api/v1/sessions/{session['id']}/screen/request", json={"mode": "control"}
            )
            assert asked.json()["screen_state"] == "control", asked.text
            ended = await org.admin.post(f"/api/v1/sessions/{session['id']}/end")
            assert ended.status_code == 200, ended.text
        starts = [e for e in told if isinstance(e, JumpStart)]
        assert [(s.session_id, s.prompt, s.technician) for s in starts] == [
            (session["id"], "none", "Ada")
        ]
        assert any(isinstance(e, JumpEnd) and e.session_id == session["id"] for e in told)
        assert not any(isinstance(e, EndSession) for e in told), round_
    async with harness.db() as db:
        device = await db.get(Device, device_id)
        assert device is not None and device.removed_at is None
        sessions = (
            (await db.execute(select(SupportSession).where(SupportSession.device_id == device_id)))
            .scalars()
            .all()
        )
    assert [(s.kind, s.status, s.jump_desktop) for s in sessions] == [("jump", "ended", "user")] * 2
    actions = await audit_actions(harness)
    assert [a for a, _ in actions] == ["jump.started", "jump.started"]
    assert actions[0][1]["decision"] == "no_prompt"
    assert actions[0][1]["policy"] == "default"
    # Each jump counts as a use: the device heads the technician's frequently used list
    frequent = (await org.admin.get("/api/v1/devices/frequent")).json()
    assert [(d["id"], d["uses"]) for d in frequent] == [(device_id, 2)]


async def test_the_prompt_decides_allow_deny_and_no_answer(org: Org, harness: Harness) -> None:
    laptops = await group(org, "Laptops")
    device_id = await installed_device(harness, org.id, laptops)
    policy = await org.admin.put(
        f"/api/v1/jump-policies/groups/{laptops}",
        json={"prompt": "ask", "when_nobody_answers": "deny", "answer_seconds": 20},
    )
    assert policy.status_code == 200, policy.text

    # Allowed by the user on the device
    async with agent_commands(harness, device_id) as told:
        session = (await org.admin.post(f"/api/v1/devices/{device_id}/jump", json={})).json()
    assert (session["jump_state"], session["screen_state"]) == ("asking", "off")
    start = next(e for e in told if isinstance(e, JumpStart))
    assert (start.prompt, start.answer_seconds, start.when_nobody_answers) == ("ask", 20, "deny")
    waiting = await org.admin.post(f"/api/v1/sessions/{session['id']}/shell/tunnel")
    assert (waiting.status_code, waiting.json()["code"]) == (409, "jump_not_allowed")
    await agent_answers(
        harness, device_id, session["id"], outcome="allowed", user="marie", desktop="user"
    )
    queue = (await org.admin.get("/api/v1/queue")).json()
    mine = next(s for s in queue["mine"] if s["id"] == session["id"])
    assert (mine["jump_state"], mine["screen_state"], mine["jump_desktop"]) == (
        "allowed",
        "control",
        "user",
    )
    assert (
        await org.admin.post(f"/api/v1/sessions/{session['id']}/shell/tunnel")
    ).status_code == 201
    await org.admin.post(f"/api/v1/sessions/{session['id']}/end")

    # Denied: the session ends, the device stays
    session = (await org.admin.post(f"/api/v1/devices/{device_id}/jump", json={})).json()
    async with agent_commands(harness, device_id) as told:
        await agent_answers(
            harness, device_id, session["id"], outcome="denied", user="marie", desktop="user"
        )
    assert any(isinstance(e, JumpEnd) for e in told)
    async with harness.db() as db:
        denied = await db.get(SupportSession, session["id"])
        assert denied is not None
        assert (denied.status, denied.jump_state) == ("ended", "denied")
        assert denied.ended_by == "marie on kiosk-1"

    # Nobody answered: the policy says deny …
    session = (await org.admin.post(f"/api/v1/devices/{device_id}/jump", json={})).json()
    await agent_answers(harness, device_id, session["id"], outcome="no_answer", desktop="user")
    async with harness.db() as db:
        nobody = await db.get(SupportSession, session["id"])
        assert nobody is not None and nobody.status == "ended"

    # … or allow after the seconds it gave
    await org.admin.put(
        f"/api/v1/jump-policies/groups/{laptops}",
        json={"prompt": "ask", "when_nobody_answers": "allow", "answer_seconds": 5},
    )
    session = (await org.admin.post(f"/api/v1/devices/{device_id}/jump", json={})).json()
    await agent_answers(harness, device_id, session["id"], outcome="no_answer", desktop="none")
    async with harness.db() as db:
        allowed = await db.get(SupportSession, session["id"])
        assert allowed is not None
        assert (allowed.status, allowed.jump_state, allowed.jump_desktop) == (
            "active",
            "allowed",
            "none",
        )

    decisions = [(a, d.get("decision"), d.get("user")) for a, d in await audit_actions(harness)]
    assert decisions == [
        ("jump_policy.saved", None, None),
        ("jump.started", "asking", None),
        ("jump.allowed", "allowed_by_user", "marie"),
        ("jump.started", "asking", None),
        ("jump.denied", "denied_by_user", "marie"),
        ("jump.started", "asking", None),
        ("jump.denied", "no_answer_denied", ""),
        ("jump_policy.saved", None, None),
        ("jump.started", "asking", None),
        ("jump.allowed", "no_answer_allowed", ""),
    ]
    # The session's report tells the same story
    report = await org.admin.get(f"/api/v1/reports/sessions/{session['id']}")
    assert report.status_code == 200, report.text
    events = {e["kind"]: e for e in report.json()["events"]}
    assert events["jump.started"]["details"]["decision"] == "asking"
    assert events["jump.allowed"]["details"]["decision"] == "no_answer_allowed"


async def test_refusals_switch_permission_scope_offline_busy(org: Org, harness: Harness) -> None:
    berlin, paris = await group(org, "Berlin"), await group(org, "Paris")
    in_berlin = await installed_device(harness, org.id, berlin)
    in_paris = await installed_device(harness, org.id, paris)
    offline = await installed_device(harness, org.id, berlin, online=False)
    async with harness.db() as db:
        temporary = Device(
            organisation_id=org.id, kind="temporary", public_key="B" * 43 + "=", hostname="pc"
        )
        db.add(temporary)
        await db.flush()
        temporary_id = temporary.id
    harness.app.state.runtime.devices_online.arrive(temporary_id)

    roles = {r["name"]: r["id"] for r in (await org.admin.get("/api/v1/roles")).json()}
    bea = await harness.user(org.id, "bea@acme.test", role=None)
    assigned = await org.admin.post(
        f"/api/v1/users/{bea.id}/role-assignments",
        json={
            "role_id": roles["Help desk operator"],
            "scope": "groups",
            "device_group_ids": [berlin],
        },
    )
    assert assigned.status_code in (200, 201), assigned.text
    operator = await harness.signed_in("bea@acme.test")
    await harness.user(org.id, "vic@acme.test", "viewer")
    viewer = await harness.signed_in("vic@acme.test")

    def refused(response: Any, status: int, code: str) -> None:
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
        assert response.json()["detail"]

    refused(
        await operator.post(f"/api/v1/devices/{in_paris}/jump", json={}), 404, "device_not_found"
    )
    refused(await operator.get(f"/api/v1/devices/{in_paris}/jump"), 404, "device_not_found")
    refused(
        await viewer.post(f"/api/v1/devices/{in_berlin}/jump", json={}), 403, "permission_denied"
    )
    refused(await operator.post(f"/api/v1/devices/{offline}/jump", json={}), 409, "device_offline")
    refused(
        await org.admin.post(f"/api/v1/devices/{temporary_id}/jump", json={}),
        409,
        "device_not_installed",
    )
    refused(await operator.post("/api/v1/devices/424242/jump", json={}), 404, "device_not_found")
    status = (await viewer.get(f"/api/v1/devices/{in_berlin}/jump")).json()
    assert (status["can_jump"], status["reason_code"]) == (False, "permission_denied")

    taken = await org.admin.post(f"/api/v1/devices/{in_berlin}/jump", json={})
    assert taken.status_code == 201
    busy = await operator.post(f"/api/v1/devices/{in_berlin}/jump", json={})
    refused(busy, 409, "jump_in_progress")
    assert "Ada" in busy.json()["detail"]
    # Nobody but the owner ends it
    refused(
        await operator.post(f"/api/v1/sessions/{taken.json()['id']}/end"), 404, "session_not_found"
    )
    await org.admin.post(f"/api/v1/sessions/{taken.json()['id']}/end")

    # The feature switch: off for the organisation, the API refuses and says so
    switched = await org.admin.patch(
        "/api/v1/organisation/settings", json={"unattended_access_enabled": False}
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["unattended_access_enabled"] is False
    refused(
        await operator.post(f"/api/v1/devices/{in_berlin}/jump", json={}),
        403,
        "unattended_access_off",
    )
    me = (await operator.get("/api/v1/me")).json()
    assert me["unattended_access_enabled"] is False
    status = (await operator.get(f"/api/v1/devices/{in_berlin}/jump")).json()
    assert (status["can_jump"], status["reason_code"]) == (False, "unattended_access_off")
    settings_changes = await audit_actions(harness, "settings.changed")
    assert settings_changes[-1][1]["unattended_access_enabled"] == {"from": True, "to": False}


async def test_the_jump_password_is_asked_checked_and_throttled(org: Org, harness: Harness) -> None:
    device_id = await installed_device(harness, org.id)
    short = await org.admin.put(
        f"/api/v1/devices/{device_id}/jump-password", json={"password": "short"}
    )
    assert (short.status_code, short.json()["code"]) == (422, "jump_password_too_short")
    secret = "correct horse battery"
    set_ = await org.admin.put(
        f"/api/v1/devices/{device_id}/jump-password", json={"password": secret}
    )
    assert set_.json() == {"device_id": device_id, "password_required": True}
    async with harness.db() as db:
        device = await db.get(Device, device_id)
        assert device is not None and device.jump_password_hash is not None
        assert device.jump_password_hash.startswith("$argon2id$")
    await harness.user(org.id, "olga@acme.test", "operator")
    operator = await harness.signed_in("olga@acme.test")
    assert (await operator.get(f"/api/v1/devices/{device_id}/jump")).json()["password_required"]
    # An operator cannot change it ("Manage devices")
    denied = await operator.put(
        f"/api/v1/devices/{device_id}/jump-password", json={"password": None}
    )
    assert (denied.status_code, denied.json()["code"]) == (403, "permission_denied")

    missing = await operator.post(f"/api/v1/devices/{device_id}/jump", json={})
    assert (missing.status_code, missing.json()["code"]) == (403, "jump_password_required")
    for _ in range(5):
        wrong = await operator.post(
            f"/api/v1/devices/{device_id}/jump", json={"password": "not it at all"}
        )
        assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_jump_password")
    limited = await operator.post(f"/api/v1/devices/{device_id}/jump", json={"password": secret})
    assert (limited.status_code, limited.json()["code"]) == (429, "too_many_attempts")
    assert int(limited.headers["retry-after"]) > 0
    # Per technician and device: the administrator still jumps with the right password
    right = await org.admin.post(f"/api/v1/devices/{device_id}/jump", json={"password": secret})
    assert right.status_code == 201, right.text

    actions = await audit_actions(harness, "")
    wrongs = [d for a, d in actions if a == "jump.wrong_password"]
    assert len(wrongs) == 5
    assert "device.jump_password_set" in [a for a, _ in actions]
    assert secret not in str(actions) and "not it at all" not in str(actions)

    removed = await org.admin.put(
        f"/api/v1/devices/{device_id}/jump-password", json={"password": None}
    )
    assert removed.json()["password_required"] is False


async def test_schedules_refuse_with_the_next_time_unless_overridden(
    org: Org, harness: Harness
) -> None:
    night = await group(org, "Night shift")
    device_id = await installed_device(harness, org.id, night)
    today = datetime.now(UTC)
    later = (today + timedelta(days=3)).date()
    policy = await org.admin.put(
        f"/api/v1/jump-policies/groups/{night}",
        json={
            "prompt": "none",
            "schedule_timezone": "UTC",
            "schedule_windows": [{"days": [later.weekday()], "start": "00:00", "end": "24:00"}],
        },
    )
    assert policy.status_code == 200, policy.text
    await harness.user(org.id, "olga@acme.test", "operator")  # no "override schedules"
    operator = await harness.signed_in("olga@acme.test")
    status = (await operator.get(f"/api/v1/devices/{device_id}/jump")).json()
    assert (status["allowed_now"], status["may_override_schedule"]) == (False, False)

    refused = await operator.post(f"/api/v1/devices/{device_id}/jump", json={})
    assert (refused.status_code, refused.json()["code"]) == (409, "outside_schedule")
    expected = datetime(later.year, later.month, later.day, tzinfo=UTC)
    assert datetime.fromisoformat(refused.json()["next_allowed"]) == expected
    assert refused.json()["timezone"] == "UTC"
    assert f"{later.day} {later:%B} {later.year}, 00:00 (UTC)" in refused.json()["detail"]

    overridden = await org.admin.post(f"/api/v1/devices/{device_id}/jump", json={})
    assert overridden.status_code == 201, overridden.text
    actions = [(a, d) for a, d in await audit_actions(harness) if a != "jump_policy.saved"]
    assert [a for a, _ in actions] == [
        "jump.outside_schedule",
        "jump.started",
        "jump.schedule_overridden",
    ]
    assert actions[1][1]["override"] is True


async def test_policies_are_validated_scoped_and_the_device_wins(
    org: Org, harness: Harness
) -> None:
    laptops = await group(org, "Laptops")
    device_id = await installed_device(harness, org.id, laptops)
    cases = [
        (
            {
                "schedule_timezone": "Mars/Olympus",
                "schedule_windows": [{"days": [0], "start": "08:00", "end": "18:00"}],
            },
            "invalid_timezone",
        ),
        (
            {
                "schedule_timezone": "UTC",
                "schedule_windows": [{"days": [0], "start": "18:00", "end": "08:00"}],
            },
            "invalid_schedule",
        ),
        (
            {
                "schedule_timezone": "UTC",
                "schedule_windows": [{"days": [9], "start": "08:00", "end": "18:00"}],
            },
            "validation_error",
        ),
        ({"answer_seconds": 1}, "validation_error"),
        ({"prompt": "maybe"}, "validation_error"),
    ]
    for body, code in cases:
        response = await org.admin.put(f"/api/v1/jump-policies/groups/{laptops}", json=body)
        assert (response.status_code, response.json()["code"]) == (422, code), (body, response.text)
    assert (await org.admin.get("/api/v1/jump-policies")).json() == []

    await org.admin.put(f"/api/v1/jump-policies/groups/{laptops}", json={"prompt": "ask"})
    own = await org.admin.put(
        f"/api/v1/devices/{device_id}/jump-policy",
        json={
            "prompt": "none",
            "schedule_timezone": "Europe/Paris",
            "schedule_windows": [{"days": [4, 0, 1], "start": "08:00", "end": "18:00"}],
        },
    )
    assert own.status_code == 200, own.text
    assert own.json()["schedule_windows"] == [{"days": [0, 1, 4], "start": "08:00", "end": "18:00"}]
    status = (await org.admin.get(f"/api/v1/devices/{device_id}/jump")).json()
    assert (status["policy_source"], status["prompt"], status["schedule_timezone"]) == (
        "device",
        "none",
        "Europe/Paris",
    )
    listed = (await org.admin.get("/api/v1/jump-policies")).json()
    assert [(p["device_group_id"], p["device_id"]) for p in listed] == [
        (laptops, None),
        (None, device_id),
    ]
    removed = await org.admin.delete(f"/api/v1/devices/{device_id}/jump-policy")
    assert removed.status_code == 204
    assert (await org.admin.get(f"/api/v1/devices/{device_id}/jump")).json()[
        "policy_source"
    ] == "group"

    await harness.user(org.id, "olga@acme.test", "operator")
    operator = await harness.signed_in("olga@acme.test")
    for response in (
        await operator.get("/api/v1/jump-policies"),
        await operator.put(f"/api/v1/jump-policies/groups/{laptops}", json={}),
        await operator.put(f"/api/v1/devices/{device_id}/jump-policy", json={}),
    ):
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    missing = await org.admin.put("/api/v1/jump-policies/groups/4242", json={})
    assert (missing.status_code, missing.json()["code"]) == (404, "device_group_not_found")
