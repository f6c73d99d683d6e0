"""Session keys (ATT-1): random, single-use, expiring, stored hashed; and how a key typed by a
customer or presented by an agent is judged."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.codes import RefusalCode
from relaydesk.server.auth.tokens import token_hash
from relaydesk.server.db.models import Organisation, Portal, SessionKey, User, utcnow
from relaydesk.server.domain import audit
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.device_groups import group_for_key
from relaydesk.server.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from relaydesk.server.domain.ownership import get_owned
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.throttle import AttemptThrottle
from relaydesk.server.mail.key_email import key_email
from relaydesk.server.mail.sending import Mailer, MailFailed, compose

KEY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read out over the phone
KEY_GROUPS = 3
KEY_GROUP_LENGTH = 4
VALIDITY_CHOICES_MINUTES = (15, 60, 240, 1440, 10080)


def new_key() -> str:
    groups = [
        "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_GROUP_LENGTH))
        for _ in range(KEY_GROUPS)
    ]
    return "-".join(groups)


def normalise_key(typed: str) -> str:
    """What a person typed → the canonical key (case, spaces and dashes do not matter)."""
    letters = "".join(c for c in typed.upper() if c.isalnum())
    if len(letters) != KEY_GROUPS * KEY_GROUP_LENGTH:
        return letters
    return "-".join(
        letters[i : i + KEY_GROUP_LENGTH] for i in range(0, len(letters), KEY_GROUP_LENGTH)
    )


def key_url(public_url: str, portal: Portal, key: str) -> str:
    """The key's unique link. The key rides in the fragment, which browsers never send: no
    server or proxy log along the way sees it (the portal page reads it and drops it)."""
    return f"{public_url.rstrip('/')}/?portal={portal.slug}#key={key}"


@dataclass(frozen=True)
class IssuedKey:
    key: str
    row: SessionKey
    portal: Portal


async def default_portal(db: AsyncSession, organisation_id: int) -> Portal:
    row = await db.execute(
        select(Portal).where(Portal.organisation_id == organisation_id, Portal.is_default)
    )
    return row.scalar_one()


async def list_portals(db: AsyncSession, actor: Actor) -> list[Portal]:
    rows = await db.execute(
        select(Portal).where(Portal.organisation_id == actor.organisation_id).order_by(Portal.id)
    )
    return list(rows.scalars())


async def require_remote_support(db: AsyncSession, organisation_id: int) -> Organisation:
    organisation = await db.get(Organisation, organisation_id)
    if organisation is None or not organisation.remote_support_enabled:
        raise Forbidden(
            "remote_support_disabled",
            "Remote support is turned off for this organisation; an administrator can turn it "
            "on in the organisation settings.",
        )
    return organisation


def _one_line(text: str, field: str, what: str, limit: int) -> str:
    """Who the key is for, as the queue shows it: one line, spaces folded, at most `limit`."""
    if any(ord(c) < 32 or ord(c) == 127 for c in text.replace("\t", " ")):
        raise Invalid(f"invalid_{field}", f"The {what} must be a single line of text.", field=field)
    cleaned = " ".join(text.split())
    if len(cleaned) > limit:
        raise Invalid(
            f"{field}_too_long", f"The {what} can be at most {limit} characters.", field=field
        )
    return cleaned


async def generate(
    db: AsyncSession,
    actor: Actor,
    validity_minutes: int,
    portal_id: int | None,
    device_group_id: int | None = None,
    *,
    customer_name: str = "",
    reference: str = "",
) -> IssuedKey:
    actor.require(Permission.GENERATE_SESSION_KEYS)
    await require_remote_support(db, actor.organisation_id)
    customer_name = _one_line(customer_name, "customer_name", "customer's name", 200)
    reference = _one_line(reference, "reference", "reference", 100)
    if validity_minutes not in VALIDITY_CHOICES_MINUTES:
        choices = ", ".join(str(m) for m in VALIDITY_CHOICES_MINUTES)
        raise Invalid(
            "invalid_validity",
            f"Choose a validity of {choices} minutes.",
            field="validity_minutes",
        )
    portal = (
        await get_owned(db, Portal, portal_id, actor.organisation_id, "portal")
        if portal_id is not None
        else await default_portal(db, actor.organisation_id)
    )
    group_id = await group_for_key(db, actor, device_group_id)
    key = new_key()
    row = SessionKey(
        organisation_id=actor.organisation_id,
        portal_id=portal.id,
        key_hash=token_hash(key),
        origin="technician",
        created_by_id=actor.user.id,
        queue_user_id=actor.user.id,
        device_group_id=group_id,
        customer_name=customer_name,
        reference=reference,
        expires_at=utcnow() + timedelta(minutes=validity_minutes),
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        actor.who,
        "session_key.generated",
        target=f"session_key:{row.id}",
        details={
            "validity_minutes": validity_minutes,
            "portal": portal.name,
            "device_group_id": group_id,
        },
    )
    return IssuedKey(key, row, portal)


async def issue_for_customer(
    db: AsyncSession,
    portal: Portal,
    *,
    queue_user_id: int | None,
    queue_team_id: int | None,
    customer_name: str,
    issue_type_id: int | None = None,
    issue_description: str = "",
) -> IssuedKey:
    """A key the portal makes for a customer who picked a technician or filled the issue form."""
    key = new_key()
    row = SessionKey(
        organisation_id=portal.organisation_id,
        portal_id=portal.id,
        key_hash=token_hash(key),
        origin="portal",
        queue_user_id=queue_user_id,
        queue_team_id=queue_team_id,
        customer_name=customer_name,
        issue_type_id=issue_type_id,
        issue_description=issue_description,
        expires_at=utcnow() + timedelta(minutes=60),
    )
    db.add(row)
    await db.flush()
    return IssuedKey(key, row, portal)


async def find_for_email(db: AsyncSession, actor: Actor, key: str) -> SessionKey:
    row = await _by_key(db, key)
    if (
        row is None
        or row.organisation_id != actor.organisation_id
        or row.created_by_id != actor.user.id
    ):
        raise NotFound("session_key_unknown", "You have no session key like that.")
    if row.used_at is not None:
        raise Conflict("session_key_used", "This session key has already been used.")
    if row.expires_at <= utcnow():
        raise Conflict("session_key_expired", "This session key has expired; generate a new one.")
    return row


async def _by_key(db: AsyncSession, typed: str) -> SessionKey | None:
    row = await db.execute(
        select(SessionKey).where(SessionKey.key_hash == token_hash(normalise_key(typed)))
    )
    return row.scalar_one_or_none()


async def session_of_used_key(db: AsyncSession, typed: str) -> int | None:
    """The session a used key started; None when the key is unknown or unused."""
    row = await _by_key(db, typed)
    return row.session_id if row is not None and row.used_at is not None else None


@dataclass(frozen=True)
class KeyRefusal:
    code: str
    message: str


UNKNOWN = KeyRefusal(
    RefusalCode.SESSION_KEY_UNKNOWN,
    "This session key is not known. Check it with your technician; keys look like ABCD-EFGH-JKMN.",
)
EXPIRED = KeyRefusal(
    RefusalCode.SESSION_KEY_EXPIRED,
    "This session key has expired. Ask your technician for a new one.",
)
USED = KeyRefusal(
    RefusalCode.SESSION_KEY_USED,
    "This session key has already been used to start a session. Ask your technician for a new one.",
)
REVOKED = KeyRefusal(
    RefusalCode.SESSION_KEY_REVOKED,
    "This session key was revoked by the technician. Ask your technician for a new one.",
)
TAKEN = KeyRefusal(
    RefusalCode.SESSION_KEY_TAKEN,
    "This session key is already open on another support page; only that page can follow the "
    "session. Go back to it, or ask your technician for a new key.",
)


async def redeemable(
    db: AsyncSession, typed: str, ip: str, throttle: AttemptThrottle, now: datetime | None = None
) -> SessionKey | KeyRefusal:
    """Judge a key typed on the portal or presented by an agent. Wrong keys count against the
    address (SEC-2): refused at once, before the database is asked, never slowed down inside
    the transaction. The caller turns a refusal into its own kind of answer."""
    await throttle.check(ip)
    row = await _by_key(db, typed)
    if row is None:
        await throttle.count(ip)
        return UNKNOWN
    if row.revoked_at is not None:
        return REVOKED
    if row.used_at is not None:
        return USED
    if row.expires_at <= (now or utcnow()):
        return EXPIRED
    return row


# --- outstanding keys: seen and revoked by who made them, or by an administrator --------------
def _keys_in_reach(actor: Actor) -> ColumnElement[bool]:
    in_organisation = SessionKey.organisation_id == actor.organisation_id
    if actor.permissions.has(Permission.ADMINISTER):
        return in_organisation
    return and_(in_organisation, SessionKey.created_by_id == actor.user.id)


async def outstanding(db: AsyncSession, actor: Actor) -> list[tuple[SessionKey, str]]:
    """The keys in reach that could still start a session (unused, unrevoked, unexpired),
    soonest to expire first, each with the name of who made it."""
    rows = await db.execute(
        select(SessionKey, User.name)
        .outerjoin(User, User.id == SessionKey.created_by_id)
        .where(
            _keys_in_reach(actor),
            SessionKey.used_at.is_(None),
            SessionKey.revoked_at.is_(None),
            SessionKey.expires_at > utcnow(),
        )
        .order_by(SessionKey.expires_at, SessionKey.id)
    )
    return [(key, name or "") for key, name in rows.tuples()]


async def revoke(db: AsyncSession, actor: Actor, key_id: int) -> SessionKey:
    """Revoke an outstanding key: from now on the portal and agents are told it was revoked."""
    found = await db.execute(
        select(SessionKey).where(SessionKey.id == key_id, _keys_in_reach(actor))
    )
    row = found.scalar_one_or_none()
    if row is None:
        raise NotFound("session_key_not_found", f"No session key with id {key_id}.")
    if row.revoked_at is not None:
        return row
    if row.used_at is not None:
        raise Conflict("session_key_used", "This session key has already started a session.")
    row.revoked_at = utcnow()
    await audit.record(
        db,
        actor.who,
        "session_key.revoked",
        target=f"session_key:{row.id}",
        details={"customer_name": row.customer_name, "created_by_id": row.created_by_id},
    )
    return row


async def email_key(
    db: AsyncSession,
    actor: Actor,
    key: str,
    recipient: str,
    public_url: str,
    mailer: Mailer | None,
    sender: str,
) -> None:
    """Send the customer the key's link (ATT-1)."""
    if mailer is None:
        raise Unavailable(
            "mail_not_configured",
            "This server has no mail server configured (RELAYDESK_SMTP_HOST); "
            "copy the link instead.",
        )
    row = await find_for_email(db, actor, key)
    portal = await db.get(Portal, row.portal_id)
    assert portal is not None
    url = key_url(public_url, portal, normalise_key(key))
    user = actor.user
    email = key_email(
        user.language,
        technician=user.name,
        who=user.name + (f" ({user.title}, {user.company})" if user.title and user.company else ""),
        url=url,
        portal=f"{public_url.rstrip('/')}/",
        key=normalise_key(key),
        expires_at=row.expires_at,
    )
    message = compose(sender, recipient, email.subject, email.body)
    try:
        await mailer.send(message)
    except (OSError, MailFailed) as error:
        raise Unavailable(
            "mail_failed", f"The mail server refused or could not be reached: {error}"
        ) from None
    await audit.record(
        db,
        actor.who,
        "session_key.emailed",
        target=f"session_key:{row.id}",
        details={"to": recipient},
    )
