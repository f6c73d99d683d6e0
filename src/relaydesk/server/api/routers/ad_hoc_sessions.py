"""Ad hoc support (ADH-1 … ADH-7): the technician's ad hoc sessions and the recipient's link page.
Thin: the rules are in domain/ad_hoc_sessions.py."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.api import ad_hoc_schemas as a
from relaydesk.server.api.deps import CurrentActor, Db, client_ip, runtime
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.routers.support import public_url
from relaydesk.server.api.schemas import Id
from relaydesk.server.db.models import AdHocSession, Device, SupportSession
from relaydesk.server.domain import ad_hoc_sessions
from relaydesk.server.domain.ad_hoc_sessions import AdHocRefused
from relaydesk.server.domain.errors import NotFound
from relaydesk.server.domain.organisations import get_organisation
from relaydesk.server.domain.presence import Presence

router = api_router(tags=["ad hoc support"])
SESSIONS = "/ad-hoc-sessions"
COLUMNS = [name for name in a.AdHocSessionOut.model_fields if hasattr(AdHocSession, name)]


async def _out(
    db: AsyncSession, session: AdHocSession, device: Device | None, online: Presence
) -> a.AdHocSessionOut:
    connection = await ad_hoc_sessions.open_connection(db, session)
    return a.AdHocSessionOut.model_validate(
        {
            **{
                k: getattr(session, k)
                for k in a.AdHocSessionOut.model_fields
                if hasattr(session, k)
            },
            "device_hostname": device.hostname if device else "",
            "device_online": device is not None and online.is_online(device.id),
            "open_connection_id": connection.id if connection else None,
        }
    )


async def _one(db: AsyncSession, session: AdHocSession, online: Presence) -> a.AdHocSessionOut:
    return await _out(db, session, await ad_hoc_sessions.device_of(db, session), online)


@router.post(SESSIONS, response_model=a.AdHocPreparedOut, status_code=201)
async def prepare(
    body: a.AdHocPrepareIn, request: Request, db: Db, actor: CurrentActor
) -> a.AdHocPreparedOut:
    """Prepare an ad hoc session (and e-mail the recipient the link): the link and the security
    code are in this answer only. Refusals: permission_denied, invalid_recipient_email,
    access_password_too_short/too_long/spaces, ad_hoc_limit_per_technician,
    ad_hoc_limit_per_organisation, no_free_seat, mail_not_configured, mail_failed."""
    rt = runtime(request)
    prepared = await ad_hoc_sessions.prepare(
        db,
        actor,
        recipient_email=body.recipient_email,
        access_password=body.access_password,
        chat_on_connect=body.chat_on_connect,
        send_email=body.send_email,
        public_url=public_url(request),
        mailer=rt.mailer,
        sender=rt.settings.mail_from,
    )
    return a.AdHocPreparedOut(
        session=await _one(db, prepared.session, rt.devices_online),
        link=prepared.link,
        security_code=prepared.security_code,
    )


@router.get(SESSIONS, response_model=list[a.AdHocSessionOut])
async def listing(request: Request, db: Db, actor: CurrentActor) -> list[a.AdHocSessionOut]:
    """Your ad hoc sessions (all the organisation's for an administrator), open ones first."""
    online = runtime(request).devices_online
    return [
        await _out(db, session, device, online)
        for session, device in await ad_hoc_sessions.listing(db, actor)
    ]


@router.get(SESSIONS + "/{session_id}", response_model=a.AdHocSessionOut)
async def one(session_id: Id, request: Request, db: Db, actor: CurrentActor) -> a.AdHocSessionOut:
    session = await ad_hoc_sessions.get_visible(db, actor, session_id)
    return await _one(db, session, runtime(request).devices_online)


@router.post(SESSIONS + "/{session_id}/security-code", response_model=a.AdHocCodeOut)
async def new_code(session_id: Id, db: Db, actor: CurrentActor) -> a.AdHocCodeOut:
    """A new security code, shown once; the previous one is refused from now on."""
    return a.AdHocCodeOut(security_code=await ad_hoc_sessions.new_code(db, actor, session_id))


@router.post(SESSIONS + "/{session_id}/connect", response_model=a.AdHocConnectOut)
async def connect(
    session_id: Id, body: a.AdHocConnectIn, request: Request, db: Db, actor: CurrentActor
) -> a.AdHocConnectOut:
    """Connect to the ad hoc session's device with its access password (each time). Refusals:
    ad_hoc_session_not_active, access_password_required, wrong_access_password,
    too_many_attempts, device_offline, ad_hoc_connection_in_progress."""
    rt = runtime(request)
    connection = await ad_hoc_sessions.connect(
        db,
        actor,
        session_id,
        body.password,
        rt.devices_online,
        rt.ad_hoc_password_throttle,
        chat=body.chat,
    )
    return a.AdHocConnectOut(session_id=connection.support_session.id, chat=connection.chat)


@router.post(SESSIONS + "/{session_id}/end", response_model=a.AdHocSessionOut)
async def end_now(
    session_id: Id, request: Request, db: Db, actor: CurrentActor
) -> a.AdHocSessionOut:
    """End session now: the host uninstalls itself, the device leaves the device list."""
    session = await ad_hoc_sessions.end_now(db, actor, session_id)
    return await _one(db, session, runtime(request).devices_online)


@router.get(SESSIONS + "/{session_id}/report", response_model=a.AdHocReportOut)
async def report(session_id: Id, request: Request, db: Db, actor: CurrentActor) -> a.AdHocReportOut:
    """The ad hoc session's report: what happened (the audit entries about it) and its
    connections."""
    found: dict[str, Any] = await ad_hoc_sessions.report(db, actor, session_id)
    session: AdHocSession = found["session"]
    connections: list[SupportSession] = found["connections"]
    names: dict[int, str] = found["owner_names"]
    return a.AdHocReportOut(
        session=await _out(db, session, found["device"], runtime(request).devices_online),
        timeline=[
            a.AdHocTimelineEntry(
                at=entry.at, action=entry.action, actor=entry.actor_label, details=entry.details
            )
            for entry in found["timeline"]
        ],
        connections=[
            a.AdHocConnectionOut(
                session_id=c.id,
                technician=names.get(c.owner_id or 0, ""),
                started_at=c.accepted_at,
                ended_at=c.ended_at,
                ended_by=c.ended_by,
            )
            for c in connections
        ],
    )


# --- the recipient's page (public) ------------------------------------------------------------
@router.post("/portal/ad-hoc/opened", response_model=a.AdHocLinkOut)
async def link_opened(body: a.AdHocLinkOpenedIn, request: Request, db: Db) -> a.AdHocLinkOut:
    """The recipient opened the deployment link: the token travels in this body, never in a
    URL. Refusals (in the recipient's language): adhoc_link_unknown, adhoc_link_expired,
    adhoc_session_ended; too_many_attempts after unknown links from one address."""
    rt = runtime(request)
    ip = client_ip(request)
    throttle_key = f"adhoc-link:{ip}"
    await rt.key_throttle.check(throttle_key)
    try:
        session = await ad_hoc_sessions.link_opened(db, body.token, body.language, ip)
    except AdHocRefused as refused:
        if refused.code == "adhoc_link_unknown":
            await rt.key_throttle.count(throttle_key)
        raise NotFound(refused.code, refused.message) from None
    organisation = await get_organisation(db, session.organisation_id)
    return a.AdHocLinkOut(
        organisation=organisation.name,
        technician=session.technician_name,
        file_name=f"{ad_hoc_sessions.FILE_PREFIX}{body.token}",
        link_expires_at=session.link_expires_at,
    )
