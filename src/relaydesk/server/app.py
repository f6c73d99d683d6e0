"""The application factory: settings → database → routers → web app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.routing import APIWebSocketRoute
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from relaydesk import __version__
from relaydesk.server.api.errors import document_error_bodies, install_error_handlers
from relaydesk.server.api.middleware import BodySizeLimit, SecurityHeaders
from relaydesk.server.api.routers import (
    API_PREFIX,
    ad_hoc_sessions,
    audit,
    auth,
    device_groups,
    devices,
    downloads,
    files,
    health,
    installers,
    issue_types,
    jump_clients,
    jump_policies,
    jumps,
    me,
    organisation,
    portal,
    reports,
    roles,
    screen,
    shell,
    support,
    teams,
    users,
)
from relaydesk.server.api.routers.metrics import metrics_endpoint
from relaydesk.server.config import Settings
from relaydesk.server.metrics import CountThrottleHits
from relaydesk.server.realtime.agents import AGENT_CHANNEL, agent_endpoint
from relaydesk.server.realtime.console import console_endpoint
from relaydesk.server.realtime.portal import portal_endpoint
from relaydesk.server.realtime.relay import relay_endpoint
from relaydesk.server.runtime import Runtime

WEB_DIST = Path(__file__).parent / "web_dist"
SPA_AREAS = ("login", "console", "admin", "account", "portal", "adhoc")

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>relaydesk</title></head><body><h1>relaydesk</h1>
<p>The web app has not been built. Run <code>scripts/setup.sh</code>
(or <code>npm run build</code> in <code>web/</code>) and reload.</p></body></html>"""


class RelaydeskApi(FastAPI):
    """FastAPI, with the error bodies of every API route in its OpenAPI document, and the agents'
    control channel on a lean path."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == AGENT_CHANNEL:
            # Straight to its endpoint, past the middleware and the routing (which do nothing for
            # a WebSocket) and their wrappers around every frame sent: 10,000 installed agents
            # come back at once after a restart (issue 13). The endpoint makes every check.
            scope["app"] = self
            await agent_endpoint(WebSocket(scope, receive, send))
            return
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document_error_bodies(super().openapi(), API_PREFIX)
        return super().openapi()


API_AREAS = (
    health,
    auth,
    me,
    users,
    teams,
    roles,
    device_groups,
    devices,
    installers,
    organisation,
    audit,
    support,
    reports,
    portal,
    issue_types,
    screen,
    shell,
    files,
    jumps,
    jump_policies,
    jump_clients,
    ad_hoc_sessions,
)


def declared_routes() -> list[BaseRoute]:
    """The API's routes and the downloads', as their modules declared them (full paths)."""
    return [route for module in (*API_AREAS, downloads) for route in module.router.routes]


def _mount_web_app(app: FastAPI, dist: Path) -> None:
    index = dist / "index.html"
    root = dist.resolve()

    def spa_page() -> Response:
        if index.exists():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(NOT_BUILT)

    @app.get("/", include_in_schema=False)
    async def portal_home() -> Response:
        return spa_page()

    @app.get("/{path:path}", include_in_schema=False)
    async def web_asset(path: str) -> Response:
        if path.startswith(("api/", "relay/", "agent/")):
            return Response(
                '{"detail":"Not found.","code":"not_found"}',
                status_code=404,
                media_type="application/json",
            )
        candidate = (dist / path).resolve()
        if candidate.is_file() and root in candidate.parents:  # noqa: ASYNC240 (stat only)
            cache = (
                "public, max-age=31536000, immutable" if path.startswith("assets/") else "no-cache"
            )
            return FileResponse(candidate, headers={"Cache-Control": cache})
        if path.split("/", 1)[0] in SPA_AREAS:
            return spa_page()
        return Response("Not found", status_code=404, media_type="text/plain")


def create_app(settings: Settings, web_dist: Path = WEB_DIST) -> FastAPI:
    runtime = Runtime.create(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()  # devices' presence as a new process (or node) finds it
        housekeeping = asyncio.create_task(runtime.housekeeping())
        refusal_summaries = asyncio.create_task(runtime.refusal_summaries())
        ad_hoc_expiry = asyncio.create_task(runtime.ad_hoc_expiry())
        live_sockets = asyncio.create_task(runtime.live_sockets.listen(runtime.broker))
        # What start-up made lives as long as the process: out of the collector's way, so that
        # a full collection walks only what came since (issue 13: 10,000 idle agents).
        gc.freeze()
        yield
        housekeeping.cancel()
        ad_hoc_expiry.cancel()
        refusal_summaries.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refusal_summaries  # the open windows' summaries are written first
        live_sockets.cancel()
        await runtime.close()

    app = RelaydeskApi(
        routes=declared_routes(),
        title="relaydesk",
        version=__version__,
        description="Self-hosted remote support: REST API of the server.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.add_api_websocket_route(AGENT_CHANNEL, agent_endpoint)  # (RelaydeskApi.__call__)
    app.add_api_websocket_route(f"{API_PREFIX}/console/ws", console_endpoint)
    app.add_api_websocket_route(f"{API_PREFIX}/portal/ws", portal_endpoint)
    app.add_api_websocket_route("/relay/{tunnel_id}", relay_endpoint)
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    _mount_web_app(app, web_dist)
    # The WebSockets first (in their order): a connection is matched against the four of them
    # before the hundreds of HTTP routes, which was a tenth of the server's time when 10,000
    # agents came back after a restart (issue 13).
    app.router.routes.sort(key=lambda route: not isinstance(route, APIWebSocketRoute))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, https_public=settings.secure_cookies)
    app.add_middleware(CountThrottleHits)
    return app
