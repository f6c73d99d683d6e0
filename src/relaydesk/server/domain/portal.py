"""The public customer portal (ATT-2, ATT-10, GOV-6): what a customer may see and start without
an account. Every way in ends with a single-use key for the agent and a secret for the page."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.auth.rbac import PermissionSet
from relaydesk.server.auth.tokens import token_hash
from relaydesk.server.db.models import IssueType, Organisation, Portal, SessionKey, Team, User
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.errors import Invalid, NotFound, RateLimited
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.refusals import Refusal, RefusalTally
from relaydesk.server.domain.session_keys import (
    TAKEN,
    IssuedKey,
    KeyRefusal,
    issue_for_customer,
    normalise_key,
    redeemable,
    require_remote_support,
)
from relaydesk.server.domain.throttle import AttemptThrottle


@dataclass(frozen=True)
class Technician:
    id: int
    name: str
    title: str
    company: str
    picture: str | None
    verified_domain: str

    @classmethod
    def of(cls, user: User) -> Technician:
        return cls(user.id, user.name, user.title, user.company, user.picture, user.verified_domain)


@dataclass(frozen=True)
class PortalFront:
    portal: Portal
    organisation: Organisation
    technicians: list[Technician]
    issue_types: list[IssueType]


def unguessable_slug() -> str:
    """A portal's address: 128 random bits, so that nobody can list organisations by trying
    addresses (issue 11, 19c)."""
    return secrets.token_urlsafe(16)


async def portal_at(db: AsyncSession, slug: str | None) -> Portal | None:
    """The portal at this address: its slug, or the server's root (`/`, no slug), which is the
    default portal only while the server holds a single organisation; with several, `/` shows
    none of them (a key typed there still finds its own)."""
    if slug:
        return (await db.execute(select(Portal).where(Portal.slug == slug))).scalar_one_or_none()
    defaults = (await db.execute(select(Portal).where(Portal.is_default).limit(2))).scalars()
    only = list(defaults)
    return only[0] if len(only) == 1 else None


async def find_portal(db: AsyncSession, slug: str | None) -> Portal:
    portal = await portal_at(db, slug)
    if portal is None:
        # The same answer for every unknown address: nothing about any organisation.
        raise NotFound("portal_not_found", "There is no support portal at this address.")
    return portal


async def _available(db: AsyncSession, portal: Portal, online_user_ids: set[int]) -> list[User]:
    if not online_user_ids:
        return []
    rows = await db.execute(
        select(User)
        .where(
            User.organisation_id == portal.organisation_id,
            User.is_active.is_(True),
            User.id.in_(online_user_ids),
        )
        .order_by(User.name)
    )
    # A customer who picks a technician brings a computer without a device group (GOV-3): only
    # technicians who may view screens of every device can take him.
    return [
        u for u in rows.scalars() if PermissionSet.of(u).has_for_group(Permission.VIEW_SCREEN, None)
    ]


async def front(db: AsyncSession, slug: str | None, online_user_ids: set[int]) -> PortalFront:
    portal = await find_portal(db, slug)
    organisation = await db.get(Organisation, portal.organisation_id)
    assert organisation is not None
    issue_types = await db.execute(
        select(IssueType)
        .where(IssueType.organisation_id == portal.organisation_id)
        .order_by(IssueType.name)
    )
    technicians = [Technician.of(u) for u in await _available(db, portal, online_user_ids)]
    return PortalFront(portal, organisation, technicians, list(issue_types.scalars()))


@dataclass(frozen=True)
class CustomerStart:
    """What the portal page gets once the customer is on his way: the key for the agent's
    command, the page's own secret, and who will help."""

    key: str
    customer_secret: str
    portal: Portal
    technician: Technician | None
    team_name: str | None


def _give_secret(issued: IssuedKey) -> str:
    secret = secrets.token_urlsafe(32)
    issued.row.customer_secret_hash = token_hash(secret)
    return secret


async def _open_page(db: AsyncSession, key: SessionKey) -> str | None:
    """The page secret for the first page that redeems `key`; None once a page has it (a second
    person typing the same key must not take the customer's page over). One conditional UPDATE,
    so that two pages racing cannot both win."""
    if key.customer_secret_hash is not None:
        return None
    secret = secrets.token_urlsafe(32)
    opened = await db.execute(
        update(SessionKey)
        .where(SessionKey.id == key.id, SessionKey.customer_secret_hash.is_(None))
        .values(customer_secret_hash=token_hash(secret))
    )
    return secret if cast(CursorResult[Any], opened).rowcount == 1 else None


async def start_with_key(
    db: AsyncSession,
    typed: str,
    ip: str,
    throttle: AttemptThrottle,
    slug: str | None = None,
    *,
    refusals: RefusalTally,
) -> CustomerStart | KeyRefusal:
    try:
        judged = await redeemable(db, typed, ip, throttle)
    except RateLimited:
        # Kept although the request fails: the organisation behind this portal sees who guessed
        # (the first refusal, then one summary per window with the count).
        # Counted first: only the window's first refusal asks the database (a refused guess
        # must cost no transaction; tests/integration/test_key_guessing.py).
        refusal = Refusal("portal.key_guessing_refused", ip, slug or "")
        if await refusals.count(refusal):
            entrance = await portal_at(db, slug)
            if entrance is not None:
                who = Who(entrance.organisation_id, None, "portal visitor", ip)
                await refusals.audit_first(db, refusal, who, target=f"portal:{entrance.slug}")
                await db.commit()
        raise
    if isinstance(judged, KeyRefusal):
        return judged
    await require_remote_support(db, judged.organisation_id)
    portal = await db.get(Portal, judged.portal_id)
    assert portal is not None
    technician = await db.get(User, judged.created_by_id) if judged.created_by_id else None
    secret = await _open_page(db, judged)
    if secret is None:
        return TAKEN
    return CustomerStart(
        normalise_key(typed),
        secret,
        portal,
        Technician.of(technician) if technician else None,
        None,
    )


async def agent_key_guessing_refused(db: AsyncSession, ip: str, refusals: RefusalTally) -> None:
    """An agent presenting keys too fast from one address: audited (first refusal, then one
    summary per window) in the organisation of the server's default portal, whose page hands out
    the agent's command. Commits (the connection is refused right after)."""
    refusal = Refusal("agent.key_guessing_refused", ip)
    if not await refusals.count(refusal):
        return
    try:
        entrance = await find_portal(db, None)
    except NotFound:
        return  # no organisation yet: nothing to audit in (the server log has it)
    who = Who(entrance.organisation_id, None, "agent", ip)
    await refusals.audit_first(db, refusal, who, target="agent_channel")
    await db.commit()


def _customer_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise Invalid(
            "name_required",
            "Tell us your name so the technician can greet you.",
            field="customer_name",
        )
    return cleaned[:200]


async def _one_more_start(throttle: AttemptThrottle, ip: str) -> None:
    """The forms that make a key without any secret: a few per address and window (SEC-2),
    refused at once (429 with Retry-After) before the database is asked."""
    await throttle.check(ip)
    await throttle.count(ip)


async def start_with_technician(
    db: AsyncSession,
    slug: str | None,
    technician_id: int,
    customer_name: str,
    online: set[int],
    *,
    ip: str,
    throttle: AttemptThrottle,
) -> CustomerStart:
    await _one_more_start(throttle, ip)
    portal = await find_portal(db, slug)
    await require_remote_support(db, portal.organisation_id)
    available = {u.id: u for u in await _available(db, portal, online)}
    if technician_id not in available:
        raise NotFound(
            "technician_unavailable",
            "That technician is not available right now; pick another or describe your issue.",
        )
    issued = await issue_for_customer(
        db,
        portal,
        queue_user_id=technician_id,
        queue_team_id=None,
        customer_name=_customer_name(customer_name),
    )
    secret = _give_secret(issued)
    return CustomerStart(issued.key, secret, portal, Technician.of(available[technician_id]), None)


async def start_with_issue(
    db: AsyncSession,
    slug: str | None,
    issue_type_id: int,
    customer_name: str,
    description: str,
    *,
    ip: str,
    throttle: AttemptThrottle,
) -> CustomerStart:
    await _one_more_start(throttle, ip)
    portal = await find_portal(db, slug)
    await require_remote_support(db, portal.organisation_id)
    issue_type = await db.get(IssueType, issue_type_id)
    if issue_type is None or issue_type.organisation_id != portal.organisation_id:
        raise NotFound("issue_type_not_found", "Pick one of the listed kinds of issue.")
    team = await db.get(Team, issue_type.team_id)
    assert team is not None
    issued = await issue_for_customer(
        db,
        portal,
        queue_user_id=None,
        queue_team_id=team.id,
        customer_name=_customer_name(customer_name),
        issue_type_id=issue_type.id,
        issue_description=description.strip()[:4000],
    )
    secret = _give_secret(issued)
    return CustomerStart(issued.key, secret, portal, None, team.name)
