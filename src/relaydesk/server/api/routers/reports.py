"""Session reports (GOV-8)."""

from typing import Annotated

from fastapi import Query
from fastapi.responses import FileResponse

from relaydesk.server.api import presenters
from relaydesk.server.api import support_schemas as s
from relaydesk.server.api.deps import CurrentActor, Db
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.schemas import Id
from relaydesk.server.domain import recordings, session_chat, session_queues, support_sessions

router = api_router("/reports", tags=["reports"])


@router.get("/sessions", response_model=s.SessionReportList)
async def list_sessions(
    db: Db,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> s.SessionReportList:
    rows, total = await support_sessions.reports(db, actor, limit, offset)
    cards = await session_queues.cards(db, rows)
    return s.SessionReportList(items=[presenters.session_out(c) for c in cards], total=total)


@router.get("/sessions/{session_id}", response_model=s.SessionReport)
async def get_report(session_id: Id, db: Db, actor: CurrentActor) -> s.SessionReport:
    session = await support_sessions.report(db, actor, session_id)
    end = session.ended_at
    start = session.accepted_at or session.created_at
    return s.SessionReport(
        session=presenters.session_out(await session_queues.card(db, session)),
        events=[
            s.SessionEventOut.model_validate(e)
            for e in await support_sessions.events_of(db, session)
        ],
        chat=[
            s.ChatMessageOut.model_validate(m) for m in await session_chat.chat_history(db, session)
        ],
        recordings=[
            s.RecordingOut.model_validate(r) for r in await recordings.of_session(db, session.id)
        ],
        duration_seconds=int((end - start).total_seconds()) if end else None,
    )


@router.get(
    "/sessions/{session_id}/recordings/{recording_id}/cast",
    response_class=FileResponse,
    responses={200: {"content": {"application/x-asciicast": {}}, "description": "asciicast v2"}},
)
async def recording_cast(
    session_id: Id, recording_id: Id, db: Db, actor: CurrentActor
) -> FileResponse:
    row = await recordings.get_for_report(db, actor, session_id, recording_id)
    return FileResponse(
        row.cast_path,
        media_type="application/x-asciicast",
        filename=f"session-{session_id}-{row.id}.cast",
    )


@router.get(
    "/sessions/{session_id}/recordings/{recording_id}/transcript",
    response_class=FileResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "plain-text transcript"}},
)
async def recording_transcript(
    session_id: Id, recording_id: Id, db: Db, actor: CurrentActor
) -> FileResponse:
    row = await recordings.get_for_report(db, actor, session_id, recording_id)
    return FileResponse(
        row.transcript_path,
        media_type="text/plain; charset=utf-8",
        filename=f"session-{session_id}-{row.id}.txt",
    )
