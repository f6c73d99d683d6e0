"""Public downloads of the support client (outside /api/v1: these are files, not API)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse

from relaydesk.server.api.deps import runtime
from relaydesk.server.api.routers.support import public_url, served_pins
from relaydesk.server.domain.errors import NotFound
from relaydesk.server.downloads import install_script, launchers
from relaydesk.server.downloads.agent_wheel import wheel_name
from relaydesk.server.downloads.support_client import ServedClient

router = APIRouter(prefix="/portal", include_in_schema=False)

# The old links carried the session key (`?key=…`); they get a script that says where to get
# the new command, and the key is not used (launchers.py).
OldKey = Annotated[str | None, Query(alias="key", max_length=64)]


async def served_client(request: Request) -> ServedClient | None:
    """The support client as this server serves it (its address and pin appended)."""
    pins = served_pins(request)
    return await runtime(request).support_client.served(
        public_url(request), pins.certificate_sha256 if pins else None
    )


@router.get("/agent.sh")
async def posix_launcher(request: Request, old_key: OldKey = None) -> PlainTextResponse:
    """The attended launcher, the same for every customer: the key is its argument."""
    if old_key is not None:
        script = launchers.outdated_posix_script(public_url(request))
    else:
        client = await served_client(request)
        script = launchers.posix_script(public_url(request), served_pins(request), client)
    return PlainTextResponse(
        script,
        headers={"Content-Disposition": "attachment"},  # the page's link names the file
    )


@router.get("/install.sh")
async def agent_install_script(request: Request) -> PlainTextResponse:
    """Installs the agent as a service (UNA-2): the installer token is the script's argument."""
    client = await served_client(request)
    return PlainTextResponse(
        install_script.install_script(public_url(request), served_pins(request), client),
        headers={"Content-Disposition": 'attachment; filename="relaydesk-agent-install.sh"'},
    )


@router.get("/agent.ps1")
async def powershell_launcher(request: Request, old_key: OldKey = None) -> PlainTextResponse:
    return PlainTextResponse(
        launchers.outdated_powershell_script(public_url(request))
        if old_key is not None
        else launchers.powershell_script(public_url(request), served_pins(request)),
        headers={"Content-Disposition": "attachment"},  # the page's link names the file
    )


@router.get("/download/support-client")
async def support_client(request: Request) -> FileResponse:
    """The same file for every customer of this server, without the key: the portal page names
    the download after the key, so neither this URL nor the server's log ever carries it."""
    client = await served_client(request)
    if client is None:
        raise NotFound(
            "support_client_unavailable",
            "This server has no support client to offer (it was not built here).",
        )
    return FileResponse(client.path, media_type="application/octet-stream")


@router.get("/download/{filename}")
async def agent_wheel(filename: str, request: Request) -> FileResponse:
    if filename != wheel_name():
        raise NotFound("download_not_found", f"No download named {filename[:80]}.")
    path = await runtime(request).agent_wheel.ensure()
    if path is None:
        raise NotFound(
            "agent_package_unavailable",
            "This server cannot offer the support client package (no source tree to build it).",
        )
    return FileResponse(path, media_type="application/octet-stream", filename=filename)
