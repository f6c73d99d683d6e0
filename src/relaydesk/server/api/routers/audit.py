"""The audit log: search and export (GOV-9)."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Query
from fastapi.responses import Response

from relaydesk.server.api import schemas
from relaydesk.server.api.deps import CurrentActor, Db
from relaydesk.server.api.routers import api_router
from relaydesk.server.domain import audit
from relaydesk.server.domain.errors import Invalid
from relaydesk.server.domain.permissions import Permission

router = api_router("/audit", tags=["audit"])


def audit_filter(
    actor_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    action: Annotated[str | None, Query(max_length=80)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> audit.AuditFilter:
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise Invalid(
                "naive_datetime", "Give dates with a time zone, e.g. 2026-01-31T00:00:00Z."
            )
    return audit.AuditFilter(actor_id=actor_id, action=action, since=since, until=until)


Filter = Annotated[audit.AuditFilter, Depends(audit_filter)]


@router.get("", response_model=schemas.AuditPage)
async def search(
    db: Db,
    actor: CurrentActor,
    where: Filter,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> schemas.AuditPage:
    actor.require(Permission.ADMINISTER)
    rows, total = await audit.search(db, actor.organisation_id, where, limit, offset)
    return schemas.AuditPage(
        items=[schemas.AuditEntryOut.model_validate(r) for r in rows], total=total
    )


@router.get(
    "/export",
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}},
            "description": "The matching entries, oldest first",
        }
    },
    response_class=Response,
)
async def export(
    db: Db, actor: CurrentActor, where: Filter, format: Literal["csv", "json"] = "csv"
) -> Response:
    actor.require(Permission.ADMINISTER)
    body = await audit.export(db, actor.organisation_id, where, format)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="relaydesk-audit.{format}"'},
    )
