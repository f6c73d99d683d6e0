"""GET /metrics: this node's figures for Prometheus (server/metrics.py). Not part of the REST API
(no session, no OpenAPI): who may read it is set by RELAYDESK_METRICS_TOKEN (the scraper sends
`Authorization: Bearer <token>`; a token in the URL is refused) and/or RELAYDESK_METRICS_ALLOW
(addresses or CIDR ranges, judged on the client address as RELAYDESK_TRUSTED_PROXIES says).
Either one is enough; with neither set, nobody may."""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from relaydesk.server import metrics
from relaydesk.server.client_address import TrustedProxies
from relaydesk.server.runtime import Runtime

REFUSALS = {
    "metrics_not_enabled": (
        403,
        "Metrics are off: set RELAYDESK_METRICS_TOKEN or RELAYDESK_METRICS_ALLOW.",
    ),
    "token_in_url": (
        400,
        "Secrets are never accepted in the URL (logs keep URLs); send the metrics token as "
        "'Authorization: Bearer <token>'.",
    ),
    "metrics_token_required": (
        401,
        "Send the metrics token as 'Authorization: Bearer <token>'.",
    ),
    "metrics_token_wrong": (403, "The metrics token is wrong."),
    "metrics_address_not_allowed": (
        403,
        "This address may not read the metrics (RELAYDESK_METRICS_ALLOW) and no token was sent.",
    ),
}


def _refuse(code: str) -> JSONResponse:
    status, detail = REFUSALS[code]
    headers = {"WWW-Authenticate": 'Bearer realm="metrics"'} if status == 401 else None
    return JSONResponse({"detail": detail, "code": code}, status_code=status, headers=headers)


def refusal(request: Request, runtime: Runtime) -> str | None:
    """Why this request may not read the metrics (a code of REFUSALS), or None."""
    settings = runtime.settings
    if "token" in request.query_params:
        return "token_in_url"
    if not settings.metrics_token and not settings.metrics_allow:
        return "metrics_not_enabled"
    authorization = request.headers.get("authorization", "")
    scheme, _, presented = authorization.partition(" ")
    if authorization and settings.metrics_token:
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), settings.metrics_token.encode()
        ):
            return "metrics_token_wrong"
        return None
    if settings.metrics_allow:
        peer = request.client.host if request.client else ""
        address = runtime.trusted_proxies.client_address(
            peer, request.headers.get("x-forwarded-for")
        )
        if TrustedProxies.of(settings.metrics_allow).trusts(address):
            return None
        return "metrics_token_required" if settings.metrics_token else "metrics_address_not_allowed"
    return "metrics_token_required"


async def metrics_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    refused = refusal(request, runtime)
    if refused is not None:
        return _refuse(refused)
    async with runtime.reading() as db:
        sessions = await metrics.session_counts(db)
    text = await metrics.render(
        agents_online=len(runtime.devices_online.online()),
        technicians_online=len(runtime.presence.online()),
        sessions=sessions,
        relay=runtime.relay.figures,
        lag=await metrics.delivery_lag(runtime.broker),
    )
    return Response(text, media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})
