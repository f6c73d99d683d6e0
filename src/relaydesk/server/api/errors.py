"""How failures look on the wire: {"detail": message, "code": machine code}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import Schema
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
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
    # outside_schedule (a jump outside its policy's windows): when jumps are allowed again (ISO
    # 8601, UTC) and the schedule's time zone, for the console to say it in the reader's words.
    next_allowed: str | None = None
    timezone: str | None = None


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
    for name in ("next_allowed", "timezone"):
        if extra.get(name):
            body[name] = extra[name]
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


# Documented on every API route so that clients (and schemathesis) know the error shapes. The
# router carries these descriptions; the bodies' schemas are written into the OpenAPI document by
# `document_error_bodies`. (As per-route response models, FastAPI would build a validator per
# route and status, twice, about 6 MiB of the serving process for documentation only.)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in or credentials wrong"},
    403: {"description": "Permission, CSRF or address refused"},
    404: {"description": "No such object in your organisation"},
    409: {"description": "Conflicts with the current state"},
    413: {"description": "Request body too large"},
    422: {"description": "Invalid input"},
    423: {"description": "Account locked"},
    429: {"description": "Too many attempts"},
    503: {"description": "A service it needs is unavailable"},
}
_SCHEMAS = "#/components/schemas/"


def document_error_bodies(openapi: dict[str, Any], prefix: str) -> None:
    """Adds the error bodies' schemas to every error response of the operations under
    `prefix` (422: a validation error or an error; others: an error), and the models to the
    document's components, as FastAPI does for response models."""
    _, definitions = models_json_schema(
        [(model, "serialization") for model in (ErrorBody, ValidationErrorBody)],
        ref_template=_SCHEMAS + "{model}",
    )
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in definitions["$defs"].items():  # encoded as FastAPI encodes its own
        schemas[name] = jsonable_encoder(Schema(**definition), by_alias=True, exclude_none=True)
    for path, operations in openapi.get("paths", {}).items():
        if not path.startswith(prefix):
            continue
        for operation in operations.values():
            for status in ERROR_RESPONSES:
                response = operation["responses"].get(str(status))
                if response is None or "content" in response:
                    continue
                schema: dict[str, Any] = {"$ref": _SCHEMAS + "ErrorBody"}
                if status == 422:  # titled as FastAPI titles a response model's union
                    title = f"Response 422 {operation['operationId'].replace('_', ' ')}".title()
                    validation = {"$ref": _SCHEMAS + "ValidationErrorBody"}
                    schema = {"anyOf": [validation, schema], "title": title}
                response["content"] = {"application/json": {"schema": schema}}
