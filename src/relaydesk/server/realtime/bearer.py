"""The secret a WebSocket client presents (tunnel token, customer page secret): read from the
subprotocols it offered (relaydesk.protocol.bearer), never from the URL. A URL that carries a
token is refused outright, so that no client keeps writing secrets where logs can see them."""

from __future__ import annotations

from fastapi import WebSocket
from fastapi.responses import JSONResponse

from relaydesk.protocol import bearer

TOKEN_IN_URL = (
    "token_in_url",
    "Secrets are never accepted in the URL (logs keep URLs); present the token as the "
    "'relaydesk.bearer.<token>' WebSocket subprotocol.",
)


def _offered(websocket: WebSocket) -> list[str]:
    return list(websocket.scope.get("subprotocols") or [])


async def presented_secret(websocket: WebSocket) -> str | None:
    """The secret the client offered, "" when it offered none; None when the URL carried one:
    then the request has been answered with 400 `token_in_url` and must not go on."""
    if "token" in websocket.query_params:
        code, detail = TOKEN_IN_URL
        await websocket.send_denial_response(
            JSONResponse({"detail": detail, "code": code}, status_code=400)
        )
        return None
    return bearer.presented(_offered(websocket))


async def accept(websocket: WebSocket) -> None:
    """Accepts the upgrade, answering a plain subprotocol (never echoing the secret)."""
    await websocket.accept(subprotocol=bearer.answer(_offered(websocket)))
