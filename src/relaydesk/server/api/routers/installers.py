"""Installers: create (the token and commands shown once), list, revoke (UNA-2, UNA-4)."""

from fastapi import Request
from starlette.status import HTTP_201_CREATED

from relaydesk.server.api import installer_schemas as s
from relaydesk.server.api.deps import CurrentActor, Db
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.routers.support import public_url, served_pins
from relaydesk.server.api.schemas import Id
from relaydesk.server.db.models import Installer
from relaydesk.server.domain import installers

router = api_router("/installers", tags=["installers"])


def installer_out(row: Installer, created_by_name: str) -> s.InstallerOut:
    return s.InstallerOut(
        id=row.id,
        company=row.company,
        device_group_id=row.device_group_id,
        max_installations=row.max_installations,
        used=row.used,
        created_by_name=created_by_name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


@router.post("", response_model=s.InstallerIssued, status_code=HTTP_201_CREATED)
async def create_installer(
    body: s.InstallerCreate, request: Request, db: Db, actor: CurrentActor
) -> s.InstallerIssued:
    issued = await installers.create(
        db,
        actor,
        company=body.company,
        device_group_id=body.device_group_id,
        max_installations=body.max_installations,
        expires_at=body.expires_at,
    )
    pins = served_pins(request)
    commands = installers.commands(
        public_url(request), issued.token, pins.curl_pin if pins else None
    )
    return s.InstallerIssued(
        installer=installer_out(issued.row, issued.created_by),
        token=issued.token,
        install_command=commands.install,
        silent_command=commands.silent,
        download_url=commands.download_url,
    )


@router.get("", response_model=list[s.InstallerOut])
async def list_installers(db: Db, actor: CurrentActor) -> list[s.InstallerOut]:
    return [installer_out(row, name) for row, name in await installers.listing(db, actor)]


@router.post("/{installer_id}/revoke", response_model=s.InstallerOut)
async def revoke_installer(installer_id: Id, db: Db, actor: CurrentActor) -> s.InstallerOut:
    return installer_out(*await installers.revoke(db, actor, installer_id))
