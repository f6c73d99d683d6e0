"""Installed (Jump) clients from the portal and from an attended session: the self-service
installation (UNA-3) and the conversion of a session's agent (UNA-1, TOOL-9). Thin: the rules
are in domain/self_service.py and domain/jump_client_install.py."""

from fastapi import Request, Response
from starlette.status import HTTP_204_NO_CONTENT

from relaydesk.protocol.messages import JumpClientAnswer
from relaydesk.server.api import jump_client_schemas as s
from relaydesk.server.api.deps import ClientIp, CurrentActor, Db, Guard, runtime
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.routers.portal import CustomerToken
from relaydesk.server.api.routers.support import public_url, served_pins
from relaydesk.server.api.schemas import Id
from relaydesk.server.db.models import Installer
from relaydesk.server.domain import installers, jump_client_install, self_service
from relaydesk.server.domain.customer import require_customer_session
from relaydesk.server.domain.errors import NotFound

router = api_router("", tags=["installed clients"])


def _issued(request: Request, issued: self_service.SingleUse) -> s.SelfServiceIssued:
    pins = served_pins(request)  # a self-signed server: curl accepts only its key
    commands = installers.commands(
        public_url(request), issued.token, pins.curl_pin if pins else None
    )
    assert issued.row.nickname is not None and issued.row.expires_at is not None
    return s.SelfServiceIssued(
        token=issued.token,
        install_command=commands.install,
        silent_command=commands.silent,
        download_url=commands.download_url,
        nickname=issued.row.nickname,
        company=issued.row.company,
        expires_at=issued.row.expires_at,
    )


@router.post("/portal/self-service/installer-code", response_model=s.SelfServiceIssued)
async def self_service_with_code(
    body: s.SelfServiceWithCode, request: Request, db: Db, ip: ClientIp
) -> s.SelfServiceIssued:
    issued = await self_service.with_installer_code(
        db, body.portal, body.installer_code, body.device_name, ip, runtime(request).key_throttle
    )
    return _issued(request, issued)


@router.post("/portal/self-service/technician", response_model=s.SelfServiceIssued)
async def self_service_with_technician(
    body: s.SelfServiceWithTechnician, request: Request, db: Db, ip: ClientIp, guard: Guard
) -> s.SelfServiceIssued:
    issued = await self_service.with_technician(
        db,
        body.portal,
        email=body.email,
        password=body.password,
        totp_code=body.totp_code,
        name=body.device_name,
        company=body.company,
        device_group_id=body.device_group_id,
        ip=ip,
        guard=guard,
    )
    return _issued(request, issued)


def _conversion(row: Installer) -> s.JumpClientOut:
    return s.JumpClientOut(
        session_id=row.session_id or 0,
        state=row.state,  # type: ignore[arg-type]
        nickname=row.nickname or "",
        company=row.company,
        device_group_id=row.device_group_id,
        message=row.outcome or "",
    )


@router.post("/sessions/{session_id}/jump-client", response_model=s.JumpClientOut, status_code=201)
async def install_jump_client(
    session_id: Id,
    body: s.JumpClientRequest,
    request: Request,
    db: Db,
    actor: CurrentActor,
    guard: Guard,
) -> s.JumpClientOut:
    row = await jump_client_install.request(
        db,
        actor,
        session_id,
        password=body.password,
        totp_code=body.totp_code,
        nickname=body.nickname,
        company=body.company,
        device_group_id=body.device_group_id,
        jump_password=body.jump_password,
        devices_online=runtime(request).devices_online,
        guard=guard,
    )
    return _conversion(row)


@router.get("/sessions/{session_id}/jump-client", response_model=s.JumpClientOut)
async def jump_client_state(session_id: Id, db: Db, actor: CurrentActor) -> s.JumpClientOut:
    row = await jump_client_install.latest(db, actor, session_id)
    if row is None:
        raise NotFound("no_jump_client", "No Jump client installation was asked in this session.")
    return _conversion(row)


@router.post("/portal/session/jump-client/answer", status_code=HTTP_204_NO_CONTENT)
async def answer_jump_client(
    body: s.JumpClientPortalAnswer, db: Db, ip: ClientIp, token: CustomerToken
) -> Response:
    """The customer's answer on his portal page to the technician's request to install a
    permanent client (the same question as in the support client's window)."""
    session = await require_customer_session(db, token)
    await jump_client_install.answered_on_portal(
        db,
        session,
        JumpClientAnswer(type="jump_client_answer", request_id=body.request_id, allow=body.allow),
        ip,
    )
    return Response(status_code=HTTP_204_NO_CONTENT)
