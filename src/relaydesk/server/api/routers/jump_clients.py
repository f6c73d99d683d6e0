"""Installed (Jump) clients from the portal and from an attended session: the self-service
installation (UNA-3) and the conversion of a session's agent (UNA-1, TOOL-9). Thin: the rules
are in domain/self_service.py and domain/jump_client_install.py."""

from fastapi import Request

from relaydesk.server.api import jump_client_schemas as s
from relaydesk.server.api.deps import ClientIp, Db, Guard, runtime
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.routers.support import public_url
from relaydesk.server.domain import installers, self_service

router = api_router("", tags=["installed clients"])


def _issued(request: Request, issued: self_service.SingleUse) -> s.SelfServiceIssued:
    commands = installers.commands(public_url(request), issued.token)
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
