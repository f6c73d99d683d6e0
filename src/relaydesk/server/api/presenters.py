"""Model rows → response bodies, where the mapping is more than attribute copying."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.api import schemas, support_schemas
from relaydesk.server.auth.rbac import PermissionSet
from relaydesk.server.db.models import Role, RoleAssignment, User
from relaydesk.server.domain import session_queues, teams
from relaydesk.server.domain.organisations import get_organisation
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.portal import Technician
from relaydesk.server.domain.roles import assignment_counts
from relaydesk.server.domain.session_queues import SessionCard
from relaydesk.server.domain.users import team_ids_of


async def me(db: AsyncSession, user: User) -> schemas.Me:
    organisation = await get_organisation(db, user.organisation_id)
    permissions = PermissionSet.of(user).all
    return schemas.Me(
        id=user.id,
        email=user.email,
        name=user.name,
        title=user.title,
        company=user.company,
        verified_domain=user.verified_domain,
        picture=user.picture,
        language=user.language,  # type: ignore[arg-type]
        totp_enabled=user.totp_enabled,
        mfa_required=organisation.mfa_required,
        organisation=schemas.OrganisationRef(id=organisation.id, name=organisation.name),
        roles=[schemas.RoleRef(id=a.role.id, name=a.role.name) for a in user.role_assignments],
        permissions=sorted(p.value for p in permissions),
        is_admin=Permission.ADMINISTER in permissions,
        unattended_access_enabled=organisation.unattended_access_enabled,
    )


def role_assignment(assignment: RoleAssignment) -> schemas.RoleAssignmentOut:
    return schemas.RoleAssignmentOut(
        id=assignment.id,
        role_id=assignment.role_id,
        role_name=assignment.role.name,
        scope="all" if assignment.all_devices else "groups",
        device_group_ids=list(assignment.device_group_ids),
    )


async def users(db: AsyncSession, rows: list[User]) -> list[schemas.UserOut]:
    teams = await team_ids_of(db, [u.id for u in rows])
    return [
        schemas.UserOut(
            id=u.id,
            email=u.email,
            name=u.name,
            title=u.title,
            company=u.company,
            verified_domain=u.verified_domain,
            picture=u.picture,
            language=u.language,  # type: ignore[arg-type]
            is_active=u.is_active,
            totp_enabled=u.totp_enabled,
            created_at=u.created_at,
            role_assignments=[role_assignment(a) for a in u.role_assignments],
            team_ids=teams[u.id],
        )
        for u in rows
    ]


async def roles(db: AsyncSession, rows: list[Role]) -> list[schemas.RoleOut]:
    counts = await assignment_counts(db, [r.id for r in rows])
    return [
        schemas.RoleOut(
            id=r.id,
            name=r.name,
            description=r.description,
            permissions=list(r.permissions),
            allowed_paths=list(r.allowed_paths),
            builtin=r.builtin is not None,
            assignment_count=counts[r.id],
        )
        for r in rows
    ]


def session_out(card: SessionCard) -> support_schemas.SessionOut:
    s = card.session
    return support_schemas.SessionOut(
        id=s.id,
        status=s.status,  # type: ignore[arg-type]
        customer_name=s.customer_name,
        reference=s.reference,
        issue_type_name=card.issue_type_name,
        issue_description=s.issue_description,
        queue_user_id=s.queue_user_id,
        queue_team_id=s.queue_team_id,
        owner_id=s.owner_id,
        owner_name=card.owner_name,
        position=card.position,
        device=support_schemas.DeviceOut.model_validate(card.device),
        created_at=s.created_at,
        queued_at=s.queued_at,
        accepted_at=s.accepted_at,
        ended_at=s.ended_at,
        ended_by=s.ended_by,
        screen_state=s.screen_state,  # type: ignore[arg-type]
        screen_requested=s.screen_requested,  # type: ignore[arg-type]
        kind="jump" if s.kind == "jump" else "attended",
        jump_state=s.jump_state,  # type: ignore[arg-type]
        jump_desktop=s.jump_desktop,  # type: ignore[arg-type]
    )


def technician_out(technician: Technician | None) -> support_schemas.TechnicianOut | None:
    if technician is None:
        return None
    return support_schemas.TechnicianOut.model_validate(technician)


async def queue(
    db: AsyncSession, user: User, limit: int = session_queues.QUEUE_PAGE, offset: int = 0
) -> support_schemas.QueueOut:
    view = await session_queues.queue_for(db, user, limit, offset)
    names = {t.id: t.name for t in await teams.teams_of_user(db, user)}
    return support_schemas.QueueOut(
        personal=[session_out(c) for c in view.personal],
        teams=[
            support_schemas.TeamQueue(
                team_id=tid,
                team_name=names.get(tid, ""),
                sessions=[session_out(c) for c in cards],
                total=view.team_totals.get(tid, 0),
            )
            for tid, cards in view.teams.items()
        ],
        mine=[session_out(c) for c in view.mine],
        personal_total=view.personal_total,
        mine_total=view.mine_total,
    )
