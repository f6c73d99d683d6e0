"""The signed-in user's own profile and credentials."""

from fastapi import Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from relaydesk.server.api import presenters, schemas
from relaydesk.server.api.deps import (
    BrowserLogin,
    ClientIp,
    CurrentActor,
    CurrentLogin,
    Db,
    Guard,
)
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.routers.auth import sign_in_state
from relaydesk.server.domain import credentials, signin, users
from relaydesk.server.domain.errors import Forbidden

router = api_router("/me", tags=["me"])


def _require_stage(current: BrowserLogin, *allowed: signin.Stage) -> None:
    if current.login.stage not in {signin.Stage.COMPLETE, *allowed}:
        raise Forbidden(
            "signin_incomplete",
            f"Finish signing in first (next step: {current.login.stage.replace('_', ' ')}).",
        )


@router.get("", response_model=schemas.Me)
async def get_me(db: Db, actor: CurrentActor) -> schemas.Me:
    return await presenters.me(db, actor.user)


@router.patch("", response_model=schemas.Me)
async def update_me(body: schemas.MeUpdate, db: Db, actor: CurrentActor) -> schemas.Me:
    user = await users.update_own_profile(db, actor, schemas.present_fields(body))
    return await presenters.me(db, user)


@router.post("/password", response_model=schemas.SignInState)
async def change_password(
    body: schemas.PasswordChange, db: Db, ip: ClientIp, current: CurrentLogin, guard: Guard
) -> schemas.SignInState:
    _require_stage(current, signin.Stage.PASSWORD_CHANGE)
    await credentials.change_password(
        db,
        current.user,
        body.current_password,
        body.new_password,
        ip,
        keep_login_id=current.login.id,
        keep_api_tokens=body.keep_api_tokens,
        guard=guard,
    )
    await signin.advance(db, current.login, current.user, ip)
    return await sign_in_state(db, current.login, current.user)


@router.post("/totp/setup", response_model=schemas.TotpSetup)
async def totp_setup(db: Db, current: CurrentLogin) -> schemas.TotpSetup:
    _require_stage(current, signin.Stage.MFA_ENROLMENT)
    enrolment = await credentials.start_totp_enrolment(db, current.user)
    return schemas.TotpSetup(
        secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg
    )


@router.post("/totp/confirm", response_model=schemas.SignInState)
async def totp_confirm(
    body: schemas.MfaRequest, db: Db, ip: ClientIp, current: CurrentLogin
) -> schemas.SignInState:
    _require_stage(current, signin.Stage.MFA_ENROLMENT)
    await credentials.confirm_totp_enrolment(db, current.user, body.code, ip)
    current.login.mfa_verified = True
    await signin.advance(db, current.login, current.user, ip)
    return await sign_in_state(db, current.login, current.user)


@router.post("/totp/disable", status_code=HTTP_204_NO_CONTENT)
async def totp_disable(
    body: schemas.TotpDisable, db: Db, actor: CurrentActor, guard: Guard
) -> Response:
    await credentials.disable_totp(
        db, actor.user, body.current_password, actor.ip, keep_login_id=actor.login_id, guard=guard
    )
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.get("/tokens", response_model=list[schemas.ApiTokenOut])
async def list_tokens(db: Db, actor: CurrentActor) -> list[schemas.ApiTokenOut]:
    rows = await credentials.list_api_tokens(db, actor.user)
    return [schemas.ApiTokenOut.model_validate(r) for r in rows]


@router.post("/tokens", response_model=schemas.ApiTokenIssued, status_code=HTTP_201_CREATED)
async def create_token(
    body: schemas.ApiTokenCreate, db: Db, actor: CurrentActor
) -> schemas.ApiTokenIssued:
    issued = await credentials.create_api_token(
        db, actor.user, body.name, body.expires_in_days, actor.ip
    )
    return schemas.ApiTokenIssued(
        token=issued.token, api_token=schemas.ApiTokenOut.model_validate(issued.api_token)
    )


@router.delete("/tokens/{token_id}", status_code=HTTP_204_NO_CONTENT)
async def revoke_token(token_id: schemas.Id, db: Db, actor: CurrentActor) -> Response:
    await credentials.revoke_api_token(db, actor.user, token_id, actor.ip)
    return Response(status_code=HTTP_204_NO_CONTENT)
