"""Request-scoped dependencies: the database session, who is calling, CSRF."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.requests import HTTPConnection
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.client_address import TrustedProxies
from relaydesk.server.db.models import ConsoleLogin, User
from relaydesk.server.domain import credentials, device_scope, signin
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.errors import Forbidden, Unauthenticated
from relaydesk.server.domain.organisations import check_console_address_of
from relaydesk.server.domain.password_checks import PasswordGuard
from relaydesk.server.runtime import Runtime

SESSION_COOKIE = "relaydesk_session"
CSRF_COOKIE = "relaydesk_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_READS_ONLY = "relaydesk_reads_only"


def reads_only(endpoint: Endpoint) -> Endpoint:
    """Marks a route (not a GET) whose request transaction only reads, so that it takes no write
    lock: what it writes goes through a group commit of its own (server/group_commit.py)."""
    setattr(endpoint, _READS_ONLY, True)
    return endpoint


def _reads(request: Request) -> bool:
    return request.method in SAFE_METHODS or getattr(
        request.scope.get("endpoint"), _READS_ONLY, False
    )


async def _db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent; a GET's (and a
    reads_only route's) takes no write lock (Runtime.reading)."""
    reads = _reads(request)
    async with (runtime(request).reading if reads else runtime(request).transaction)() as session:
        yield session


Db = Annotated[AsyncSession, Depends(_db_session, scope="function")]


def client_ip(connection: HTTPConnection) -> str:
    """Where a request or WebSocket comes from (X-Forwarded-For only from a trusted proxy)."""
    peer = connection.client.host if connection.client else ""
    proxies: TrustedProxies = connection.app.state.runtime.trusted_proxies
    return proxies.client_address(peer, connection.headers.get("x-forwarded-for"))


ClientIp = Annotated[str, Depends(client_ip)]


def password_guard(request: Request) -> PasswordGuard:
    return runtime(request).password_guard


Guard = Annotated[PasswordGuard, Depends(password_guard)]


@dataclass
class BrowserLogin:
    login: ConsoleLogin
    user: User


def _check_csrf(request: Request, login: ConsoleLogin) -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not secrets.compare_digest(sent, login.csrf_token):
        raise Forbidden(
            "csrf_failed",
            "This request lacks the anti-forgery token; reload the page and try again.",
        )


async def optional_browser_login(request: Request, db: Db) -> BrowserLogin | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = await signin.find_login(db, token)
    return BrowserLogin(*found) if found else None


async def browser_login(
    request: Request,
    db: Db,
    ip: ClientIp,
    found: Annotated[BrowserLogin | None, Depends(optional_browser_login)],
) -> BrowserLogin:
    """A cookie sign-in at any stage (for the steps that complete it)."""
    if found is None:
        raise Unauthenticated("not_signed_in", "Sign in first.")
    _check_csrf(request, found.login)
    await check_console_address_of(db, found.user.organisation_id, ip)
    return found


async def current_actor(
    request: Request,
    db: Db,
    ip: ClientIp,
    found: Annotated[BrowserLogin | None, Depends(optional_browser_login)],
) -> Actor:
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        reads = _reads(request)
        match = await credentials.user_for_api_token(
            db, authorization[7:].strip(), note_use=not reads
        )
        if match is None:
            raise Unauthenticated("invalid_token", "The API token is unknown, revoked or expired.")
        user, token = match
        if reads and credentials.api_token_use_due(token):
            # A reading request's transaction must not write (it could be refused at commit
            # when another writer committed meanwhile): the last use goes in a short one.
            async with runtime(request).transaction() as writer:
                await credentials.note_api_token_use(writer, token.id)
        await check_console_address_of(db, user.organisation_id, ip)
        return Actor(
            user=user,
            ip=ip,
            permissions=await device_scope.permissions_of(db, user),
            via_api_token=True,
        )
    if found is None:
        raise Unauthenticated("not_signed_in", "Sign in first, or send an API token.")
    _check_csrf(request, found.login)
    if found.login.stage != signin.Stage.COMPLETE:
        raise Forbidden(
            "signin_incomplete",
            f"Finish signing in first (next step: {found.login.stage.replace('_', ' ')}).",
        )
    await check_console_address_of(db, found.user.organisation_id, ip)
    return Actor(
        user=found.user,
        ip=ip,
        permissions=await device_scope.permissions_of(db, found.user),
        login_id=found.login.id,
    )


CurrentActor = Annotated[Actor, Depends(current_actor)]
CurrentLogin = Annotated[BrowserLogin, Depends(browser_login)]
