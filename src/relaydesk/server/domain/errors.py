"""Errors the rules raise. Each has a stable machine code and a message for people; the HTTP
layer maps the kind to a status code."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    kind = "invalid"

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


class Invalid(DomainError):
    kind = "invalid"


class NotFound(DomainError):
    kind = "not_found"


class Conflict(DomainError):
    kind = "conflict"


class Forbidden(DomainError):
    kind = "forbidden"


class Unauthenticated(DomainError):
    kind = "unauthenticated"


class Locked(DomainError):
    kind = "locked"


class RateLimited(DomainError):
    kind = "rate_limited"

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message, retry_after=retry_after)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Something the rule depends on (mail server, agent) cannot be reached now."""

    kind = "unavailable"
