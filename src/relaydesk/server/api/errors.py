"""How failures look on the wire: {"detail": message, "code": machine code}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from relaydesk.server.domain.errors import DomainError

STATUS_BY_KIND = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unauthenticated": 401,
    "locked": 423,
    "rate_limited": 429,
    "unavailable": 503,
}


class ErrorBody(BaseModel):
    detail: str
    code: str
    field: str | None = None


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: list[ValidationErrorItem]
    message: str
    code: str


def _error(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    body: dict[str, Any] = {"detail": detail, "code": code}
    if extra.get("field"):
        body["field"] = extra["field"]
    return JSONResponse(body, status_code=status, headers=headers)


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    if error.get("type") == "extra_forbidden":
        return f"Unknown field '{location}'."
    return f"{location}: {message}" if location else message


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return _error(STATUS_BY_KIND[exc.kind], exc.code, exc.message, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        summary = "; ".join(_describe(e) for e in exc.errors()[:5]) or "Invalid request."
        return JSONResponse(
            {"detail": errors, "message": summary, "code": "validation_error"}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))


# Documented on every API route so that clients (and schemathesis) know the error shapes.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Not signed in or credentials wrong"},
    403: {"model": ErrorBody, "description": "Permission, CSRF or address refused"},
    404: {"model": ErrorBody, "description": "No such object in your organisation"},
    409: {"model": ErrorBody, "description": "Conflicts with the current state"},
    413: {"model": ErrorBody, "description": "Request body too large"},
    422: {"model": ValidationErrorBody | ErrorBody, "description": "Invalid input"},
    423: {"model": ErrorBody, "description": "Account locked"},
    429: {"model": ErrorBody, "description": "Too many attempts"},
    503: {"model": ErrorBody, "description": "A service it needs is unavailable"},
}
