"""The technician's side of screen sharing: ask, step down, stop, open the tunnel."""

from fastapi import Request

from relaydesk.server.api import presenters
from relaydesk.server.api import support_schemas as s
from relaydesk.server.api.deps import CurrentActor, Db, reads_only, runtime
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.schemas import Id
from relaydesk.server.domain import screen, session_queues, support_sessions
from relaydesk.server.domain.tunnels import TOKEN_LIFETIME_SECONDS

router = api_router("/sessions/{session_id}/screen", tags=["screen sharing"])


async def _out(db: Db, session_id: int, actor: CurrentActor) -> s.SessionOut:
    session = await support_sessions.get_visible(db, actor, session_id)
    return presenters.session_out(await session_queues.card(db, session))


@router.post("/request", response_model=s.SessionOut)
async def request_screen(
    session_id: Id, body: s.ScreenRequest, db: Db, actor: CurrentActor
) -> s.SessionOut:
    await screen.request(db, actor, session_id, body.mode)
    return await _out(db, session_id, actor)


@router.post("/release-control", response_model=s.SessionOut)
async def release_control(session_id: Id, db: Db, actor: CurrentActor) -> s.SessionOut:
    await screen.give_up_control(db, actor, session_id)
    return await _out(db, session_id, actor)


@router.post("/stop", response_model=s.SessionOut)
async def stop(session_id: Id, db: Db, actor: CurrentActor) -> s.SessionOut:
    await screen.technician_stops(db, actor, session_id)
    return await _out(db, session_id, actor)


@router.post("/tunnel", response_model=s.TunnelOut, status_code=201)
@reads_only
async def open_tunnel(session_id: Id, request: Request, db: Db, actor: CurrentActor) -> s.TunnelOut:
    """A one-time WebSocket path for noVNC; it works once and for a few seconds."""
    issued = await screen.open_screen_tunnel(
        db, actor, session_id, runtime(request).tunnels, runtime(request).tool_openings
    )
    return s.TunnelOut(
        tunnel_id=issued.tunnel.id,
        path=f"/relay/{issued.tunnel.id}",
        token=issued.console_token,
        expires_in_seconds=int(TOKEN_LIFETIME_SECONDS),
    )
