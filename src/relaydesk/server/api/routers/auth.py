"""Sign-in steps and sign-out."""

from fastapi import Request, Response
from starlette.status import HTTP_204_NO_CONTENT

from relaydesk.server.api import presenters, schemas
from relaydesk.server.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    BrowserLogin,
    ClientIp,
    CurrentLogin,
    Db,
    optional_browser_login,
    runtime,
)
from relaydesk.server.api.routers import api_router
from relaydesk.server.db.models import ConsoleLogin, User
from relaydesk.server.domain import signin

router = api_router("/auth", tags=["sign-in"])


async def sign_in_state(
    db: Db, login: ConsoleLogin | None, user: User | None
) -> schemas.SignInState:
    if login is None or user is None:
        return schemas.SignInState(stage="signed_out")
    me = await presenters.me(db, user) if login.stage == signin.Stage.COMPLETE else None
    return schemas.SignInState(stage=login.stage, user=me)  # type: ignore[arg-type]


def _set_cookies(request: Request, response: Response, token: str, csrf: str) -> None:
    settings = runtime(request).settings
    secure = settings.secure_cookies or request.url.scheme == "https"
    max_age = settings.session_hours * 3600
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=max_age,
        httponly=False,
        samesite="strict",
        secure=secure,
        path="/",
    )


@router.post("/login", response_model=schemas.SignInState)
async def login(
    body: schemas.SignInRequest, request: Request, response: Response, db: Db, ip: ClientIp
) -> schemas.SignInState:
    rt = runtime(request)
    new = await signin.sign_in(
        db, body.email, body.password, ip, rt.signin_policy, rt.password_guard
    )
    _set_cookies(request, response, new.cookie_token, new.login.csrf_token)
    return await sign_in_state(db, new.login, new.user)


@router.get("/state", response_model=schemas.SignInState)
async def state(request: Request, db: Db) -> schemas.SignInState:
    found: BrowserLogin | None = await optional_browser_login(request, db)
    if found is None:
        return schemas.SignInState(stage="signed_out")
    return await sign_in_state(db, found.login, found.user)


@router.post("/mfa", response_model=schemas.SignInState)
async def mfa(
    body: schemas.MfaRequest, request: Request, db: Db, ip: ClientIp, current: CurrentLogin
) -> schemas.SignInState:
    rt = runtime(request)
    await signin.verify_mfa(db, current.login, current.user, body.code, ip, rt.password_guard)
    return await sign_in_state(db, current.login, current.user)


@router.post("/logout", status_code=HTTP_204_NO_CONTENT)
async def logout(db: Db, ip: ClientIp, current: CurrentLogin) -> Response:
    await signin.sign_out(db, current.login, current.user, ip)
    response = Response(status_code=HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
