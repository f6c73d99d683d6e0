"""The technician's side of attended support: session keys, queue, sessions, chat, sysinfo."""

from fastapi import Request, Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from relaydesk.server import tls
from relaydesk.server.api import presenters
from relaydesk.server.api import support_schemas as s
from relaydesk.server.api.deps import CurrentActor, Db, runtime
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.schemas import Id
from relaydesk.server.domain import session_keys, support_sessions
from relaydesk.server.domain.organisations import get_organisation
from relaydesk.server.tls import Pins

router = api_router(tags=["attended support"])


def public_url(request: Request) -> str:
    return runtime(request).settings.public_url or str(request.base_url)


def served_pins(request: Request) -> Pins | None:
    """The certificate pins the portal's commands and launchers carry (None: no pinning)."""
    settings = runtime(request).settings
    return tls.served_pins(settings.tls_certfile, settings.tls_pin)


@router.get("/portals", response_model=list[s.PortalOut])
async def list_portals(db: Db, actor: CurrentActor) -> list[s.PortalOut]:
    return [s.PortalOut.model_validate(p) for p in await session_keys.list_portals(db, actor)]


@router.post("/session-keys", response_model=s.SessionKeyIssued, status_code=HTTP_201_CREATED)
async def generate_key(
    body: s.SessionKeyCreate, request: Request, db: Db, actor: CurrentActor
) -> s.SessionKeyIssued:
    issued = await session_keys.generate(db, actor, body.validity_minutes, body.portal_id)
    return s.SessionKeyIssued(
        key=issued.key,
        url=session_keys.key_url(public_url(request), issued.portal, issued.key),
        expires_at=issued.row.expires_at,
        portal=s.PortalOut.model_validate(issued.portal),
    )


@router.post("/session-keys/email", status_code=HTTP_204_NO_CONTENT)
async def email_key(
    body: s.SessionKeyEmail, request: Request, db: Db, actor: CurrentActor
) -> Response:
    rt = runtime(request)
    await session_keys.email_key(
        db, actor, body.key, body.email, public_url(request), rt.mailer, rt.settings.mail_from
    )
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.get("/queue", response_model=s.QueueOut)
async def my_queue(db: Db, actor: CurrentActor) -> s.QueueOut:
    return await presenters.queue(db, actor.user)


def _agent_connected(request: Request, session_id: int) -> bool:
    return session_id in runtime(request).agents_online.online()


async def _detail(
    request: Request, db: Db, actor: CurrentActor, session_id: int
) -> s.SessionDetail:
    session = await support_sessions.get_visible(db, actor, session_id)
    organisation = await get_organisation(db, session.organisation_id)
    chat = await support_sessions.chat_history(db, session)
    return s.SessionDetail(
        session=presenters.session_out(await support_sessions.card(db, session)),
        chat=[s.ChatMessageOut.model_validate(m) for m in chat],
        chat_enabled=not organisation.chat_disabled,
        agent_connected=session.status != "ended" and _agent_connected(request, session.id),
    )


@router.get("/sessions/{session_id}", response_model=s.SessionDetail)
async def get_session(
    session_id: Id, request: Request, db: Db, actor: CurrentActor
) -> s.SessionDetail:
    return await _detail(request, db, actor, session_id)


@router.post("/sessions/{session_id}/accept", response_model=s.SessionDetail)
async def accept(session_id: Id, request: Request, db: Db, actor: CurrentActor) -> s.SessionDetail:
    await support_sessions.accept(db, actor, session_id)
    return await _detail(request, db, actor, session_id)


@router.post("/sessions/{session_id}/hold", response_model=s.SessionDetail)
async def hold(session_id: Id, request: Request, db: Db, actor: CurrentActor) -> s.SessionDetail:
    await support_sessions.hold(db, actor, session_id)
    return await _detail(request, db, actor, session_id)


@router.post("/sessions/{session_id}/end", response_model=s.SessionDetail)
async def end(session_id: Id, request: Request, db: Db, actor: CurrentActor) -> s.SessionDetail:
    await support_sessions.end(db, actor, session_id)
    return await _detail(request, db, actor, session_id)


@router.post(
    "/sessions/{session_id}/chat", response_model=s.ChatMessageOut, status_code=HTTP_201_CREATED
)
async def chat(session_id: Id, body: s.ChatPost, db: Db, actor: CurrentActor) -> s.ChatMessageOut:
    message = await support_sessions.chat_from_technician(db, actor, session_id, body.text)
    return s.ChatMessageOut.model_validate(message)


@router.post("/sessions/{session_id}/sysinfo", response_model=s.SysinfoRequested, status_code=202)
async def sysinfo(
    session_id: Id, request: Request, db: Db, actor: CurrentActor
) -> s.SysinfoRequested:
    """Asks the agent for a snapshot; it arrives on the console WebSocket (session.sysinfo)."""
    connected = _agent_connected(request, session_id)
    return s.SysinfoRequested(
        request_id=await support_sessions.request_sysinfo(db, actor, session_id, connected)
    )
