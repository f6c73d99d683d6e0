"""The relay's WebSocket edge, /relay/{tunnel_id}?token=…: both the console and the agent come
here; the token says which side is which, once."""

from __future__ import annotations

from fastapi import WebSocket

from relaydesk.server.runtime import Runtime


async def relay_endpoint(websocket: WebSocket, tunnel_id: str) -> None:
    runtime: Runtime = websocket.app.state.runtime
    claimed = runtime.tunnels.claim(tunnel_id, websocket.query_params.get("token", ""))
    if claimed is None:
        await websocket.close(code=4403, reason="unknown, used or expired tunnel token")
        return
    tunnel, side = claimed
    # noVNC asks for the "binary" subprotocol; agents ask for none.
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol="binary" if "binary" in offered else None)
    await runtime.relay.join(tunnel, side, websocket)
