"""Devices and their history of support sessions."""

from fastapi import Request

from relaydesk.server.api import presenters
from relaydesk.server.api import support_schemas as s
from relaydesk.server.api.deps import CurrentActor, Db, runtime
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.schemas import Id
from relaydesk.server.domain import devices

router = api_router("/devices", tags=["devices"])


@router.get("/{device_id}/sessions", response_model=s.DeviceHistory)
async def device_sessions(
    device_id: Id, request: Request, db: Db, actor: CurrentActor
) -> s.DeviceHistory:
    """The device, whether its agent is connected, and the sessions it had that you may see."""
    device, cards = await devices.sessions_of(db, actor, device_id)
    return s.DeviceHistory(
        device=s.DeviceOut.model_validate(device),
        kind=device.kind,  # type: ignore[arg-type]
        online=runtime(request).devices_online.is_online(device.id),
        enrolled_at=device.created_at,
        last_seen_at=device.last_seen_at,
        removed_at=device.removed_at,
        sessions=[presenters.session_out(c) for c in cards],
    )
