"""The public customer portal's API: no account, authorised per session by its secret."""

from typing import Annotated

from fastapi import Header, Query, Request, Response
from starlette.status import HTTP_204_NO_CONTENT

from relaydesk.protocol.support_client import download_name
from relaydesk.server.api import presenters
from relaydesk.server.api import support_schemas as s
from relaydesk.server.api.deps import ClientIp, Db, runtime
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.routers.downloads import served_client
from relaydesk.server.api.routers.support import public_url, served_pins
from relaydesk.server.domain import portal, screen, session_chat, support_sessions
from relaydesk.server.domain.customer import customer_view, require_customer_session
from relaydesk.server.domain.errors import Conflict, NotFound
from relaydesk.server.domain.session_keys import KeyRefusal
from relaydesk.server.downloads.support_client import ServedClient
from relaydesk.server.tls import Pins

router = api_router("/portal", tags=["customer portal"])

CustomerToken = Annotated[str, Header(alias="x-customer-token", min_length=1, max_length=128)]


def agent_commands(
    base: str, key: str, pins: Pins | None = None, client: ServedClient | None = None
) -> s.AgentCommands:
    base = base.rstrip("/")
    sh = f"{base}/portal/agent.sh"
    ps1 = f"{base}/portal/agent.ps1"
    # A self-signed server: curl accepts only its public key; the script pins the certificate.
    pinned = f"--insecure --pinnedpubkey '{pins.curl_pin}' " if pins else ""
    return s.AgentCommands(
        linux_macos=f"curl -fsSL {pinned}'{sh}' | sh -s -- --key {key}",
        windows_powershell=(
            "powershell -ExecutionPolicy Bypass -Command "
            f"\"& ([scriptblock]::Create((irm '{ps1}'))) -Key {key}\""
        ),
        # Keyless and relative (the page's download link names the file, which carries the key:
        # `download` counts only for a same-origin link), as the support client's.
        script_url_linux_macos="/portal/agent.sh",
        script_url_windows="/portal/agent.ps1",
        # Relative: the page's download link must be same-origin for its file name to count.
        support_client_url="/portal/download/support-client" if client else None,
        support_client_sha256=client.sha256 if client else None,
        support_client_size=client.size if client else None,
        support_client_file_name=download_name(key),
    )


async def _started(request: Request, start: portal.CustomerStart) -> s.CustomerStartOut:
    return s.CustomerStartOut(
        customer_token=start.customer_secret,
        key=start.key,
        technician=presenters.technician_out(start.technician),
        team_name=start.team_name,
        commands=agent_commands(
            public_url(request), start.key, served_pins(request), await served_client(request)
        ),
    )


@router.get("", response_model=s.PortalFrontOut)
async def front(
    request: Request,
    db: Db,
    slug: Annotated[str | None, Query(max_length=64)] = None,
) -> s.PortalFrontOut:
    view = await portal.front(db, slug, runtime(request).presence.online())
    return s.PortalFrontOut(
        organisation_name=view.organisation.name,
        portal_name=view.portal.name,
        portal_slug=view.portal.slug,
        remote_support_enabled=view.organisation.remote_support_enabled,
        chat_enabled=not view.organisation.chat_disabled,
        technicians=[s.TechnicianOut.model_validate(t) for t in view.technicians],
        issue_types=[s.PortalIssueType.model_validate(i) for i in view.issue_types],
    )


@router.post("/keys", response_model=s.CustomerStartOut)
async def enter_key(
    body: s.PortalKeyEntry, request: Request, db: Db, ip: ClientIp
) -> s.CustomerStartOut:
    rt = runtime(request)
    result = await portal.start_with_key(
        db, body.key, ip, rt.key_throttle, body.portal, refusals=rt.refusals
    )
    if isinstance(result, KeyRefusal):
        error = NotFound if result.code == "session_key_unknown" else Conflict
        raise error(result.code, result.message)
    return await _started(request, result)


@router.post("/technicians", response_model=s.CustomerStartOut)
async def pick_technician(
    body: s.PortalPickTechnician, request: Request, db: Db, ip: ClientIp
) -> s.CustomerStartOut:
    rt = runtime(request)
    start = await portal.start_with_technician(
        db,
        body.portal,
        body.technician_id,
        body.customer_name,
        rt.presence.online(),
        ip=ip,
        throttle=rt.portal_start_throttle,
    )
    return await _started(request, start)


@router.post("/issues", response_model=s.CustomerStartOut)
async def submit_issue(
    body: s.PortalIssue, request: Request, db: Db, ip: ClientIp
) -> s.CustomerStartOut:
    start = await portal.start_with_issue(
        db,
        body.portal,
        body.issue_type_id,
        body.customer_name,
        body.description,
        ip=ip,
        throttle=runtime(request).portal_start_throttle,
    )
    return await _started(request, start)


@router.get("/session", response_model=s.CustomerSessionOut)
async def my_session(db: Db, token: CustomerToken) -> s.CustomerSessionOut:
    view = await customer_view(db, token)
    return s.CustomerSessionOut(
        status=view.status,  # type: ignore[arg-type]
        technician=presenters.technician_out(view.technician),
        chat=[s.ChatMessageOut.model_validate(m) for m in view.chat],
        chat_enabled=view.chat_enabled,
        screen_state=view.screen_state,  # type: ignore[arg-type]
        screen_requested=view.screen_requested,  # type: ignore[arg-type]
    )


@router.post("/session/chat", response_model=s.ChatMessageOut, status_code=201)
async def customer_chat(body: s.ChatPost, db: Db, token: CustomerToken) -> s.ChatMessageOut:
    session = await require_customer_session(db, token)
    return s.ChatMessageOut.model_validate(
        await session_chat.chat_from_customer(db, session, body.text)
    )


@router.post("/session/end", status_code=HTTP_204_NO_CONTENT)
async def customer_end(db: Db, token: CustomerToken) -> Response:
    session = await require_customer_session(db, token)
    await support_sessions.end_by_customer(db, session)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.post("/session/screen/answer", status_code=HTTP_204_NO_CONTENT)
async def answer_screen_request(body: s.ScreenAnswer, db: Db, token: CustomerToken) -> Response:
    await screen.answer(db, await require_customer_session(db, token), body.allow)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.post("/session/screen/revoke-control", status_code=HTTP_204_NO_CONTENT)
async def revoke_control(db: Db, token: CustomerToken) -> Response:
    await screen.revoke_control(db, await require_customer_session(db, token))
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.post("/session/screen/stop", status_code=HTTP_204_NO_CONTENT)
async def stop_sharing(db: Db, token: CustomerToken) -> Response:
    await screen.customer_stops(db, await require_customer_session(db, token))
    return Response(status_code=HTTP_204_NO_CONTENT)
