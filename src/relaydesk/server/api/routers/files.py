"""The file manager: the console asks for a files tunnel and speaks protocol.files on it."""

from fastapi import Request

from relaydesk.server.api import support_schemas as s
from relaydesk.server.api.deps import CurrentActor, Db, reads_only, runtime
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.schemas import Id
from relaydesk.server.domain import files
from relaydesk.server.domain.tunnels import TOKEN_LIFETIME_SECONDS

router = api_router("/sessions/{session_id}/files", tags=["files"])


@router.post("/tunnel", response_model=s.FilesTunnelOut, status_code=201)
@reads_only
async def open_files(
    session_id: Id, request: Request, db: Db, actor: CurrentActor
) -> s.FilesTunnelOut:
    """A one-time WebSocket path to the device's files (frames: relaydesk.protocol.files), with
    what the technician may do there: upload, download, and the allowed roots (none: any path)."""
    issued = await files.open_files_tunnel(
        db, actor, session_id, runtime(request).tunnels, runtime(request).tool_openings
    )
    grant = issued.tunnel.grant or {}
    return s.FilesTunnelOut(
        tunnel_id=issued.tunnel.id,
        path=f"/relay/{issued.tunnel.id}",
        token=issued.console_token,
        expires_in_seconds=int(TOKEN_LIFETIME_SECONDS),
        upload=bool(grant.get("upload")),
        download=bool(grant.get("download")),
        roots=list(grant.get("roots", [])),
    )
