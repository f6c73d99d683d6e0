"""The API's routers, one module per area.

Each module declares its routes on `api_router(...)`, which gives them their full path and the
error responses every API route documents; the application takes the routes as declared
(`FastAPI(routes=...)`) rather than including the routers: FastAPI keeps an included router's
routes twice (as declared, and again as included under the prefix), about 2 MiB of the serving
process for ours."""

from typing import Any

from fastapi import APIRouter

from relaydesk.server.api.errors import ERROR_RESPONSES

API_PREFIX = "/api/v1"


def api_router(prefix: str = "", **options: Any) -> APIRouter:
    """A router whose routes live under API_PREFIX + `prefix`."""
    return APIRouter(prefix=API_PREFIX + prefix, responses=ERROR_RESPONSES, **options)
