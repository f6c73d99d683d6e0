"""Jumping to an installed device (UNA-6), its jump password and the jump's preconditions. Thin:
the rules are in domain/jumps.py."""

from fastapi import Request

from relaydesk.server.api import jump_schemas as j
from relaydesk.server.api import presenters
from relaydesk.server.api import support_schemas as s
from relaydesk.server.api.deps import CurrentActor, Db, runtime
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.schemas import Id
from relaydesk.server.domain import jumps, session_queues

router = api_router("/devices/{device_id}", tags=["jumps"])


@router.post("/jump", response_model=s.SessionOut, status_code=201)
async def jump(
    device_id: Id, body: j.JumpRequest, request: Request, db: Db, actor: CurrentActor
) -> s.SessionOut:
    """Start a session on an installed device with nobody needed in front of it. Refusals:
    unattended_access_off, permission_denied, device_not_found (also out of scope),
    device_not_installed, device_offline, jump_in_progress, jump_password_required,
    wrong_jump_password, too_many_attempts, outside_schedule (with next_allowed)."""
    rt = runtime(request)
    session = await jumps.jump(
        db, actor, device_id, body.password, rt.devices_online, rt.jump_password_throttle
    )
    return presenters.session_out(await session_queues.card(db, session))


@router.get("/jump", response_model=j.JumpStatusOut)
async def jump_status(
    device_id: Id, request: Request, db: Db, actor: CurrentActor
) -> j.JumpStatusOut:
    """Whether you may jump to the device now and what its policy will do."""
    status = await jumps.jump_status(db, actor, device_id, runtime(request).devices_online)
    return j.JumpStatusOut.model_validate(status)


@router.put("/jump-password", response_model=j.JumpPasswordOut)
async def set_jump_password(
    device_id: Id, body: j.JumpPasswordIn, db: Db, actor: CurrentActor
) -> j.JumpPasswordOut:
    """Set or change (a string) or remove (null) the password anyone jumping must enter."""
    device = await jumps.set_password(db, actor, device_id, body.password)
    return j.JumpPasswordOut(
        device_id=device.id, password_required=device.jump_password_hash is not None
    )
