"""REST shapes of jumps and jump policies (UNA-6, issue 13 items 6–8)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from relaydesk.server.api.schemas import Request, Response
from relaydesk.server.db.models import JumpPolicy

Days = Annotated[list[Annotated[int, Field(ge=0, le=6)]], Field(min_length=1, max_length=7)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$")]


class ScheduleWindow(Request):
    """Days (0 Monday … 6 Sunday) and local times HH:MM, the end after the start (24:00 ends
    the day)."""

    days: Days
    start: Clock
    end: Clock


class ScheduleWindowOut(Response):
    days: list[int]
    start: str
    end: str


class JumpPolicyIn(Request):
    prompt: Literal["none", "ask"] = "none"
    when_nobody_answers: Literal["deny", "allow"] = "deny"
    answer_seconds: Annotated[int, Field(ge=5, le=600)] = 30
    schedule_timezone: Annotated[str, StringConstraints(max_length=64)] = ""
    schedule_windows: Annotated[list[ScheduleWindow], Field(max_length=28)] = []


class JumpPolicyOut(Response):
    id: int
    device_group_id: int | None
    device_id: int | None
    prompt: Literal["none", "ask"]
    when_nobody_answers: Literal["deny", "allow"]
    answer_seconds: int
    schedule_timezone: str
    schedule_windows: list[ScheduleWindowOut]
    updated_at: datetime


def policy_out(policy: JumpPolicy) -> JumpPolicyOut:
    return JumpPolicyOut(
        id=policy.id,
        device_group_id=policy.device_group_id,
        device_id=policy.device_id,
        prompt="ask" if policy.prompt == "ask" else "none",
        when_nobody_answers="allow" if policy.when_nobody_answers == "allow" else "deny",
        answer_seconds=policy.answer_seconds,
        schedule_timezone=policy.schedule_timezone,
        schedule_windows=[ScheduleWindowOut(**w) for w in policy.schedule_windows],
        updated_at=policy.updated_at,
    )


class JumpRequest(Request):
    """The device's jump password, when it has one (never logged, never in a URL)."""

    password: Annotated[str, StringConstraints(max_length=256)] | None = None


class JumpPasswordIn(Request):
    """A new jump password for the device, or null to remove it."""

    password: Annotated[str, StringConstraints(max_length=256)] | None


class JumpPasswordOut(Response):
    device_id: int
    password_required: bool


class JumpStatusOut(Response):
    """Before a jump: may you jump to this device now, and what will happen."""

    device_id: int
    can_jump: bool
    reason_code: str
    reason: str
    password_required: bool
    prompt: Literal["none", "ask"]
    when_nobody_answers: Literal["deny", "allow"]
    answer_seconds: int
    policy_source: Literal["device", "group", "default"]
    schedule_timezone: str
    schedule_windows: list[ScheduleWindowOut]
    allowed_now: bool
    may_override_schedule: bool
    next_allowed: datetime | None
    open_session_id: int | None
