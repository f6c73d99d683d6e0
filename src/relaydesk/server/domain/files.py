"""The file manager on the device (TOOL-4): a files tunnel per console view, for technicians who
may upload or download files, confined to their roles' allowed paths.

The relay copies the tunnel's bytes without reading them, so the server enforces what it can
where it can: no tunnel without a file permission, and the tunnel opening tells the agent the
technician's rights (upload, download, allowed roots) which the agent enforces on every request.
The server remembers that grant with the tunnel and checks every transfer the agent reports
against it before it becomes a session event and an audit entry."""

from __future__ import annotations

import logging
import ntpath
import posixpath
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.events import ToolOpened
from relaydesk.protocol.messages import FileChanged, FileGrant, FileTransferred, TunnelOpen
from relaydesk.server.db.models import Device, SupportSession, User
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.errors import Forbidden
from relaydesk.server.domain.notifications import announce, device_topic, session_topic
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.support_sessions import (
    device_of,
    get_visible,
    record_event,
    require_owner,
)
from relaydesk.server.domain.tool_openings import OpeningWriter, ToolOpening, written
from relaydesk.server.domain.tunnels import IssuedTunnel, Tunnel, TunnelRegistry

log = logging.getLogger(__name__)
FILE_PERMISSIONS = (Permission.FILE_UPLOAD, Permission.FILE_DOWNLOAD)


def allowed_roots(actor: Actor, device: Device) -> list[str]:
    """The paths the technician's file rights are confined to; [] means the whole device.

    Several roles add up: a role granting a file permission with no allowed paths opens every
    path; otherwise the roots are the union of those roles' allowed paths. Only assignments
    whose scope holds the device count (GOV-3)."""
    roots: set[str] = set()
    for assignment in actor.user.role_assignments:
        role = assignment.role
        if not any(p.value in role.permissions for p in FILE_PERMISSIONS):
            continue
        if not actor.permissions.covers_device(
            assignment.all_devices, assignment.device_group_ids, device.device_group_id, device.id
        ):
            continue
        if not role.allowed_paths:
            return []
        roots.update(role.allowed_paths)
    return sorted(roots)


def grant_of(actor: Actor, device: Device) -> dict[str, Any]:
    return {
        "technician": actor.label,
        "upload": actor.may(Permission.FILE_UPLOAD, device),
        "download": actor.may(Permission.FILE_DOWNLOAD, device),
        "roots": allowed_roots(actor, device),
    }


async def open_files_tunnel(
    db: AsyncSession,
    actor: Actor,
    session_id: int,
    registry: TunnelRegistry,
    writer: OpeningWriter,
) -> IssuedTunnel:
    """Checked with reads (no write lock); the opening's event and audit entry are written by
    the group commit (domain/tool_openings.py) before the agent and the console hear of it."""
    if not any(actor.permissions.has(p) for p in FILE_PERMISSIONS):
        raise Forbidden(
            "permission_denied",
            "You need the permission 'Upload files' or 'Download files' to do this.",
            permission=Permission.FILE_DOWNLOAD.value,
        )
    session = await get_visible(db, actor, session_id)
    device = await device_of(db, session)
    if not any(actor.may(p, device) for p in FILE_PERMISSIONS):
        raise Forbidden(
            "permission_denied",
            "Your permissions 'Upload files' and 'Download files' do not extend to this "
            "device's group.",
            permission=Permission.FILE_DOWNLOAD.value,
        )
    require_owner(actor, session)
    grant = grant_of(actor, device)
    issued = registry.create(
        session.id,
        session.organisation_id,
        "files",
        actor.user.id,
        input_allowed=False,
        grant=grant,
    )
    details = {
        "tunnel": issued.tunnel.id,
        "upload": grant["upload"],
        "download": grant["download"],
        "roots": grant["roots"],
    }
    opening = ToolOpening.audited(actor, session.id, "files.opened", details)
    await written(db, writer, opening, registry, issued)
    announce(
        db,
        device_topic(session.device_id),
        TunnelOpen(
            type="tunnel_open",
            tunnel_id=issued.tunnel.id,
            kind="files",
            token=issued.agent_token,
            input_allowed=False,
            files=FileGrant.model_validate(grant),
        ),
    )
    announce(db, session_topic(session.id), ToolOpened(kind="files"))
    return issued


def within(path: str, roots: list[str]) -> bool:
    """Whether a path the agent reports lies under one of the roots ([]: anywhere)."""
    if not roots:
        return True
    for root in roots:
        module: Any = ntpath if (len(root) > 2 and root[1:3] == ":\\") else posixpath
        clean_root = module.normpath(root)
        clean_path = module.normpath(path)
        if module is ntpath:
            clean_root, clean_path = clean_root.lower(), clean_path.lower()
        if clean_path == clean_root or clean_path.startswith(clean_root.rstrip("/\\") + module.sep):
            return True
    return False


async def _tunnel_reporter(
    db: AsyncSession, session_id: int, tunnel: Tunnel | None
) -> tuple[SupportSession, Who, dict[str, Any]] | None:
    """The session, the technician who opened the files tunnel a report names, and his grant;
    None (logged) when the tunnel is not a files tunnel of this session."""
    session = await db.get(SupportSession, session_id)
    if session is None:
        return None
    if tunnel is None or tunnel.session_id != session_id or tunnel.kind != "files":
        log.warning("session %s: file report for an unknown tunnel", session_id)
        return None
    technician = await db.get(User, tunnel.opened_by)
    who = (
        Who.of_user(technician, "")
        if technician is not None
        else Who.system(session.organisation_id, "agent")
    )
    return session, who, dict(tunnel.grant or {})


async def transfer_reported(
    db: AsyncSession, session_id: int, tunnel: Tunnel | None, report: FileTransferred
) -> bool:
    """A completed, verified transfer → a session event and an audit entry, in the name of the
    technician who opened the tunnel. Reports that do not match a files tunnel of this session,
    or that the technician's grant did not allow, are refused (logged, and audited as refused)."""
    reporter = await _tunnel_reporter(db, session_id, tunnel)
    if reporter is None:
        return False
    session, who, grant = reporter
    assert tunnel is not None
    name = posixpath.basename(report.path.replace("\\", "/")) or report.path
    details = {
        "name": name,
        "path": report.path,
        "size": report.size,
        "direction": report.direction,
        "archive": report.kind == "archive",
        "sha256": report.sha256,
        "tunnel": tunnel.id,
    }
    allowed = bool(grant.get(report.direction)) and within(report.path, grant.get("roots", []))
    if not allowed:
        await audit.record(
            db, who, "file.transfer_outside_grant", target=f"session:{session.id}", details=details
        )
        return False
    action = "file.uploaded" if report.direction == "upload" else "file.downloaded"
    record_event(db, session, action, who.label, **details)
    await audit.record(db, who, action, target=f"session:{session.id}", details=details)
    return True


CHANGE_EVENTS = {
    "folder_created": "file.folder_created",
    "renamed": "file.renamed",
    "deleted": "file.deleted",
}


async def change_reported(
    db: AsyncSession, session_id: int, tunnel: Tunnel | None, report: FileChanged
) -> bool:
    """A new folder, rename or deletion made on the device → a session event and an audit entry
    in the name of the technician who opened the tunnel, checked like transfers: a change needs
    the grant's "upload" right and every path inside its roots, else it is audited as refused."""
    reporter = await _tunnel_reporter(db, session_id, tunnel)
    if reporter is None:
        return False
    session, who, grant = reporter
    assert tunnel is not None
    paths = [report.path] + ([report.to] if report.to is not None else [])
    details: dict[str, Any] = {
        "name": posixpath.basename(report.path.replace("\\", "/")) or report.path,
        "path": report.path,
        "tunnel": tunnel.id,
    }
    if report.to is not None:
        details["to"] = report.to
    roots = grant.get("roots", [])
    if not grant.get("upload") or not all(within(path, roots) for path in paths):
        await audit.record(
            db, who, "file.change_outside_grant", target=f"session:{session.id}", details=details
        )
        return False
    action = CHANGE_EVENTS[report.action]
    record_event(db, session, action, who.label, **details)
    await audit.record(db, who, action, target=f"session:{session.id}", details=details)
    return True
