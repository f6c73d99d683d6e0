"""Command shells: each console tab asks for its own shell tunnel."""

from fastapi import Request

from relaydesk.server.api import support_schemas as s
from relaydesk.server.api.deps import CurrentActor, Db, reads_only, runtime
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.schemas import Id
from relaydesk.server.domain import shell
from relaydesk.server.domain.tunnels import TOKEN_LIFETIME_SECONDS

router = api_router("/sessions/{session_id}/shell", tags=["shell"])


@router.post("/tunnel", response_model=s.TunnelOut, status_code=201)
@reads_only
async def open_shell(session_id: Id, request: Request, db: Db, actor: CurrentActor) -> s.TunnelOut:
    """A one-time WebSocket path carrying one shell (frames: relaydesk.protocol.shell)."""
    issued = await shell.open_shell_tunnel(
        db, actor, session_id, runtime(request).tunnels, runtime(request).tool_openings
    )
    return s.TunnelOut(
        tunnel_id=issued.tunnel.id,
        path=f"/relay/{issued.tunnel.id}",
        token=issued.console_token,
        expires_in_seconds=int(TOKEN_LIFETIME_SECONDS),
    )
