"""The relay's WebSocket edge, /relay/{tunnel_id}: both the console and the agent come here,
presenting their one-time token as a subprotocol (never in the URL); the token says which side
is which, once."""

from __future__ import annotations

import contextlib

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from relaydesk.server.api.deps import SESSION_COOKIE
from relaydesk.server.domain import signin
from relaydesk.server.domain.live_sockets import LiveSocket
from relaydesk.server.domain.tunnels import Tunnel
from relaydesk.server.realtime import bearer
from relaydesk.server.runtime import Runtime


async def relay_endpoint(websocket: WebSocket, tunnel_id: str) -> None:
    runtime: Runtime = websocket.app.state.runtime
    token = await bearer.presented_secret(websocket)
    if token is None:
        return
    claimed = runtime.tunnels.claim(tunnel_id, token)
    if claimed is None:
        await websocket.close(code=4403, reason="unknown, used or expired tunnel token")
        return
    tunnel, side = claimed
    if side != "console":
        await bearer.accept(websocket)
        await runtime.relay.join(tunnel, side, websocket)
        return
    # The technician's side lives while his sign-in and rights do (domain/live_sockets.py):
    # registered before the upgrade is answered, so that no ending passes unseen.
    socket = LiveSocket(tunnel.opened_by, await _login_of(runtime, websocket, tunnel), tunnel.kind)
    ended: list[tuple[int, str]] = []

    async def end(code: int, reason: str) -> None:
        ended.append((code, reason))
        await _end(websocket, code, reason)

    with contextlib.ExitStack() as holds:
        holds.enter_context(runtime.live_sockets.connected(socket, end))
        # noVNC offers the "binary" subprotocol, other clients "relaydesk".
        await bearer.accept(websocket)
        if ended:  # ended while the upgrade was answered: the relay sees it leave at once
            await _end(websocket, *ended[0])
        # A spliced tunnel outlives this call: the relay then keeps the registration (holds).
        await runtime.relay.join(tunnel, side, websocket, holds)


async def _login_of(runtime: Runtime, websocket: WebSocket, tunnel: Tunnel) -> int | None:
    """The browser sign-in the console's tunnel WebSocket came with (None: not a browser)."""
    token = websocket.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with runtime.transaction() as db:
        found = await signin.find_login(db, token)
    return found[0].id if found is not None and found[1].id == tunnel.opened_by else None


async def _end(websocket: WebSocket, code: int, reason: str) -> None:
    """Closing this side ends the pipe, which closes the agent's side."""
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=code, reason=reason)
