"""Ad hoc support (ADH-1 … ADH-7, issue 14): a temporary host on a computer that does not belong to
the organisation, for 24 hours from its activation.

The technician's side (console, REST: routers/ad_hoc_sessions.py)
  prepare()        recipient e-mail + access password (the organisation's policy: at least
                   `access_password_min_length` characters) → a deployment link and a security
                   code, both shown once; the e-mail (technician's language) carries the link.
                   Limits (ADH-6), each its own refusal: one active session per technician
                   (adhoc_limit_per_user), five per organisation (adhoc_limit_per_organisation),
                   a free device seat (organisations.device_seats; None: unlimited).
  new_code()       a new security code; the older one is refused from then on.
  connect()        the access password, checked here (argon2id, throttled per technician and
                   ad hoc session, wrong ones audited), then a support session (kind "adhoc") to
                   the device, with no prompt; the host is told (AdHocConnect) and checks the
                   password against its own hash before it serves anything.
  end_now()        "End session now"; sweep() ends those 24 h past activation (and links never
                   used within 24 h). Either way the device is removed (it leaves the device
                   list's "Ad hoc sessions") and its host is told to uninstall (Uninstall).

The deployment link (agreed with the temporary host, part 14-Y)
  {public_url}/adhoc#{token}
  The token (secrets.token_urlsafe(32), 43 characters of [A-Za-z0-9_-]) is in the fragment,
  which browsers never send: no server or proxy log sees it. The page /adhoc (web/src/portal/
  adhoc) reads it, tells the server the link was opened (POST /api/v1/portal/ad-hoc/opened, the
  token in the body) and downloads the support client from /portal/download/support-client,
  saving it as `relaydesk-adhoc-{token}` (the same file for everyone; the token only in the saved
  file's name, as the attended key is: `ad_hoc_token_of_filename()` reads it back). Only the
  token's SHA-256 is stored.

The host's side (called by the agent channel, server/realtime/agents.py, part 14-Y)
  host_arrived(db, token, hello, language=, previous_device_key=, permanent_agent_key=)
                   the host arrives with its token (AdHocCredential) and the key pair it made:
                   the device (kind "adhoc", no group) is enrolled and the session is
                   host_installed; the same host coming back (same public key) gets its session
                   again. Refusals are `AdHocRefused` (codes: protocol/codes.py RefusalCode.ADHOC_*;
                   the message in the recipient's language, protocol/ad_hoc_messages.py).
  waiting_for_code(db, session)    the host's window asks for the code.
  activate(db, session, code, throttle)  → Activation (organisation, technician, expires_at,
                   the access password's argon2id hash for the host); a wrong or older code:
                   AdHocRefused(ErrorCode.ADHOC_CODE_INVALID), counted and audited; too many:
                   AdHocRefused(RefusalCode.TOO_MANY_ATTEMPTS).
  activation_of(db, session)       the same for a host coming back (None before activation).
  connection_answered(db, device_id, session_id, accepted)  the host's AdHocConnectAnswer.
  ended_by_recipient(db, session, reason)  "End session" in the host's window, or its own clock
                   past the expiry ("expired").
  host_uninstalled(db, session)    the host removed itself.
  session_of_device(db, device_id) / uninstall_due(session): a host whose session is over is
                   told to uninstall at its hello.

States: prepared → emailed → link_opened → host_installed → waiting_for_code → activated →
ended | expired. What the console shows changes live through AdHocChanged (protocol/events.py)
on the organisation's topic, delivered to the technicians who see the session.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.ad_hoc_messages import language_of, recipient_message
from relaydesk.protocol.codes import ErrorCode, RefusalCode
from relaydesk.protocol.events import AdHocChanged, AdHocState, DeviceChanged, QueueChanged
from relaydesk.protocol.messages import AdHocConnect, Hello, Uninstall
from relaydesk.protocol.states import ScreenState, SessionStatus
from relaydesk.server.auth.passwords import MAX_PASSWORD_LENGTH, hash_password, verify_password
from relaydesk.server.db.models import (
    AdHocSession,
    AuditEntry,
    Device,
    Organisation,
    SupportSession,
    User,
    utcnow,
)
from relaydesk.server.domain import audit, jumps, session_chat
from relaydesk.server.domain.actor import Actor
from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unavailable,
)
from relaydesk.server.domain.notifications import announce, device_topic, org_topic
from relaydesk.server.domain.organisations import get_organisation
from relaydesk.server.domain.permissions import Permission
from relaydesk.server.domain.presence import Presence
from relaydesk.server.domain.support_sessions import finish_by_system, record_event
from relaydesk.server.domain.throttle import AttemptThrottle
from relaydesk.server.mail.ad_hoc_email import ad_hoc_email
from relaydesk.server.mail.sending import Mailer, MailFailed, compose

KIND = "adhoc"
LINK_PATH = "/adhoc"
FILE_PREFIX = "relaydesk-adhoc-"
LINK_LIFETIME = timedelta(hours=24)
SESSION_LIFETIME = timedelta(hours=24)
CODE_DIGITS = 6

PREPARED, EMAILED, LINK_OPENED = "prepared", "emailed", "link_opened"
HOST_INSTALLED, WAITING_FOR_CODE, ACTIVATED = "host_installed", "waiting_for_code", "activated"
ENDED, EXPIRED = "ended", "expired"
STATES = (
    PREPARED,
    EMAILED,
    LINK_OPENED,
    HOST_INSTALLED,
    WAITING_FOR_CODE,
    ACTIVATED,
    ENDED,
    EXPIRED,
)
OPEN_STATES = STATES[:6]
BEFORE_HOST = (PREPARED, EMAILED, LINK_OPENED)

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,128}$")


class AdHocRefused(DomainError):
    """What the temporary host's recipient is told (ADH-7): `code` is a RefusalCode or ErrorCode,
    `message` in the recipient's language."""

    kind = "forbidden"


# --- secrets --------------------------------------------------------------------------------
def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def token_hash(token: str) -> str:
    return _sha256(token)


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code if ch.isdigit())


def code_hash(session_id: int, code: str) -> str:
    """Bound to its session: the same digits of another session do not match."""
    return _sha256(f"adhoc-code:{session_id}:{normalise_code(code)}")


def new_security_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def deployment_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{LINK_PATH}#{token}"


def ad_hoc_token_of_filename(name: str) -> str | None:
    """The token a downloaded support client carries in its file name (browsers may add ' (1)'
    or an extension); None when the name carries none."""
    match = re.search(rf"{re.escape(FILE_PREFIX)}([A-Za-z0-9_-]{{20,128}})", name)
    return match.group(1) if match else None


def code_throttle_key(session_id: int) -> str:
    return f"adhoc-code:{session_id}"


def password_throttle_key(user_id: int, session_id: int) -> str:
    return f"adhoc-password:{user_id}:{session_id}"


def target(session: AdHocSession) -> str:
    return f"ad_hoc_session:{session.id}"


def is_open(session: AdHocSession) -> bool:
    return session.state in OPEN_STATES


# --- announcements --------------------------------------------------------------------------
def _changed(db: AsyncSession, session: AdHocSession) -> None:
    announce(
        db,
        org_topic(session.organisation_id),
        AdHocChanged(
            ad_hoc_session_id=session.id,
            state=cast(AdHocState, session.state),
            technician_id=session.technician_id,
            device_id=session.device_id,
        ),
    )


def _host_who(session: AdHocSession, hostname: str = "", ip: str = "") -> Who:
    label = f"temporary host on {hostname}" if hostname else "temporary host"
    return Who(session.organisation_id, None, label, ip)


async def _audit(
    db: AsyncSession, who: Who, ad_hoc: AdHocSession, action: str, **details: Any
) -> None:
    await audit.record(
        db,
        who,
        action,
        target=target(ad_hoc),
        details={"recipient": ad_hoc.recipient_email, **details},
    )


# --- who sees what ---------------------------------------------------------------------------
def _sees_all(actor: Actor) -> bool:
    return actor.permissions.has(Permission.ADMINISTER)


async def get_visible(db: AsyncSession, actor: Actor, session_id: int) -> AdHocSession:
    """His own ad hoc sessions, and all of the organisation's for an administrator; any other
    (or none) answers ad_hoc_session_not_found (404)."""
    session = await db.get(AdHocSession, session_id)
    if (
        session is None
        or session.organisation_id != actor.organisation_id
        or (session.technician_id != actor.user.id and not _sees_all(actor))
    ):
        raise NotFound("ad_hoc_session_not_found", f"No ad hoc session with id {session_id}.")
    return session


async def listing(db: AsyncSession, actor: Actor, *, include_finished: bool = True) -> list[Any]:
    """The ad hoc sessions he sees, newest first, with their device (open ones first)."""
    query = (
        select(AdHocSession, Device)
        .outerjoin(Device, Device.id == AdHocSession.device_id)
        .where(AdHocSession.organisation_id == actor.organisation_id)
        .order_by(AdHocSession.id.desc())
        .limit(200)
    )
    if not _sees_all(actor):
        query = query.where(AdHocSession.technician_id == actor.user.id)
    if not include_finished:
        query = query.where(AdHocSession.state.in_(OPEN_STATES))
    rows = [(row[0], row[1]) for row in (await db.execute(query)).all()]
    rows.sort(key=lambda row: (not is_open(row[0]), -row[0].id))
    return rows


# --- preparing (ADH-1, ADH-2, ADH-6) ----------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    session: AdHocSession
    link: str
    security_code: str


def check_access_password(organisation: Organisation, password: str) -> None:
    minimum = organisation.access_password_min_length
    if len(password) < minimum:
        raise Invalid(
            "access_password_too_short",
            f"The access password must have at least {minimum} characters (the organisation's "
            "password policy).",
            field="access_password",
            minimum=minimum,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(
            "access_password_too_long",
            f"The access password may have at most {MAX_PASSWORD_LENGTH} characters.",
            field="access_password",
        )
    if password.strip() != password or not password.strip():
        raise Invalid(
            "access_password_spaces",
            "The access password may not begin or end with a space.",
            field="access_password",
        )


async def _open_count(db: AsyncSession, *conditions: Any) -> int:
    return int(
        (
            await db.execute(
                select(func.count())
                .select_from(AdHocSession)
                .where(AdHocSession.state.in_(OPEN_STATES), *conditions)
            )
        ).scalar_one()
    )


async def seats_taken(db: AsyncSession, organisation_id: int) -> int:
    """Devices of the licence: every device not removed, and every open ad hoc session whose
    host has not arrived yet (its device will take a seat)."""
    devices = (
        await db.execute(
            select(func.count())
            .select_from(Device)
            .where(Device.organisation_id == organisation_id, Device.removed_at.is_(None))
        )
    ).scalar_one()
    waiting = await _open_count(
        db, AdHocSession.organisation_id == organisation_id, AdHocSession.device_id.is_(None)
    )
    return int(devices) + waiting


async def check_limits(db: AsyncSession, actor: Actor, organisation: Organisation) -> None:
    mine = await _open_count(db, AdHocSession.technician_id == actor.user.id)
    if mine >= organisation.adhoc_limit_per_user:
        raise Conflict(
            "ad_hoc_limit_per_technician",
            f"You already have {mine} active ad hoc session(s), the most a technician may have "
            f"({organisation.adhoc_limit_per_user}): end one of yours on the Ad hoc page first.",
            limit=organisation.adhoc_limit_per_user,
        )
    everyone = await _open_count(db, AdHocSession.organisation_id == organisation.id)
    if everyone >= organisation.adhoc_limit_per_organisation:
        raise Conflict(
            "ad_hoc_limit_per_organisation",
            f"The organisation already has {everyone} active ad hoc sessions, its limit "
            f"({organisation.adhoc_limit_per_organisation}): one of them must end first (an "
            "administrator can end it or raise the limit in Administration → Settings).",
            limit=organisation.adhoc_limit_per_organisation,
        )
    seats = organisation.device_seats
    if seats is not None and await seats_taken(db, organisation.id) >= seats:
        raise Conflict(
            "no_free_seat",
            f"All {seats} device seats of the organisation's licence are taken: free one by "
            "removing a device from the device list (or end an ad hoc session).",
            seats=seats,
        )


async def prepare(
    db: AsyncSession,
    actor: Actor,
    *,
    recipient_email: str,
    access_password: str,
    chat_on_connect: bool,
    send_email: bool,
    public_url: str,
    mailer: Mailer | None,
    sender: str,
    now: datetime | None = None,
) -> Prepared:
    moment = now or utcnow()
    actor.require(Permission.AD_HOC_SUPPORT)
    email = recipient_email.strip()
    if not EMAIL.match(email) or len(email) > 320:
        raise Invalid(
            "invalid_recipient_email",
            "Enter the recipient's e-mail address (like name@example.com).",
            field="recipient_email",
        )
    organisation = await get_organisation(db, actor.organisation_id)
    check_access_password(organisation, access_password)
    if send_email and mailer is None:
        raise Unavailable(
            "mail_not_configured",
            "This server has no mail server configured (RELAYDESK_SMTP_HOST): prepare the "
            "session without the e-mail and copy the link instead.",
        )
    await check_limits(db, actor, organisation)
    token = secrets.token_urlsafe(32)
    user = actor.user
    session = AdHocSession(
        organisation_id=organisation.id,
        technician_id=user.id,
        technician_name=user.name[:200],
        recipient_email=email,
        access_password_hash=hash_password(access_password),
        deployment_token_hash=token_hash(token),
        state=PREPARED,
        chat_on_connect=chat_on_connect,
        language=user.language if user.language in ("en", "fr", "de") else "en",
        created_at=moment,
        link_expires_at=moment + LINK_LIFETIME,
        ended_by="",
        recipient_language="",
    )
    db.add(session)
    await db.flush()
    code = new_security_code()
    session.security_code_hash = code_hash(session.id, code)
    session.security_code_issued_at = moment
    link = deployment_link(public_url, token)
    await _audit(db, actor.who, session, "ad_hoc.prepared", chat_on_connect=chat_on_connect)
    if send_email:
        assert mailer is not None
        mail = ad_hoc_email(
            session.language,
            technician=user.name,
            company=user.company or organisation.name,
            link=link,
            expires_at=session.link_expires_at,
        )
        try:
            await mailer.send(compose(sender, email, mail.subject, mail.body))
        except (OSError, MailFailed) as error:
            raise Unavailable(
                "mail_failed",
                f"The mail server refused or could not be reached ({error}): nothing was "
                "prepared; try again, or prepare without the e-mail and copy the link.",
            ) from None
        session.state = EMAILED
        await _audit(db, actor.who, session, "ad_hoc.emailed", to=email)
    _changed(db, session)
    return Prepared(session=session, link=link, security_code=code)


async def new_code(
    db: AsyncSession, actor: Actor, session_id: int, now: datetime | None = None
) -> str:
    """A new security code (the older one is refused from now on), while not activated."""
    actor.require(Permission.AD_HOC_SUPPORT)
    session = await get_visible(db, actor, session_id)
    if session.state in (ACTIVATED, ENDED, EXPIRED):
        raise Conflict(
            "ad_hoc_session_not_waiting",
            "This ad hoc session is already activated or over: it needs no security code.",
        )
    code = new_security_code()
    session.security_code_hash = code_hash(session.id, code)
    session.security_code_issued_at = now or utcnow()
    await _audit(db, actor.who, session, "ad_hoc.code_issued")
    _changed(db, session)
    return code


# --- the recipient's link ---------------------------------------------------------------------
async def find(db: AsyncSession, token: str) -> AdHocSession | None:
    if not TOKEN.match(token):
        return None
    return (
        await db.execute(
            select(AdHocSession).where(AdHocSession.deployment_token_hash == token_hash(token))
        )
    ).scalar_one_or_none()


def _judge(session: AdHocSession | None, now: datetime, language: str) -> AdHocSession:
    """Refuse a link that is unknown, over, or unused past its lifetime."""
    if session is None:
        code = RefusalCode.ADHOC_LINK_UNKNOWN
        raise AdHocRefused(code, recipient_message(code, language))
    if not is_open(session):
        code = RefusalCode.ADHOC_SESSION_ENDED
        raise AdHocRefused(code, recipient_message(code, language))
    if session.activated_at is None and now >= session.link_expires_at:
        code = RefusalCode.ADHOC_LINK_EXPIRED
        raise AdHocRefused(code, recipient_message(code, language))
    return session


async def link_opened(
    db: AsyncSession, token: str, language: str = "", ip: str = "", now: datetime | None = None
) -> AdHocSession:
    """The recipient opened the deployment link (the portal page says so, before it downloads)."""
    session = _judge(await find(db, token), now or utcnow(), language)
    if session.state in (PREPARED, EMAILED):
        session.state = LINK_OPENED
        await _audit(
            db, Who(session.organisation_id, None, "recipient", ip), session, "ad_hoc.link_opened"
        )
        _changed(db, session)
    return session


# --- the temporary host (part 14-Y calls these from the agent channel) ---------------------
async def session_of_device(db: AsyncSession, device_id: int) -> AdHocSession | None:
    return (
        await db.execute(
            select(AdHocSession)
            .where(AdHocSession.device_id == device_id)
            .order_by(AdHocSession.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


def uninstall_due(session: AdHocSession) -> bool:
    """A host whose session is over removes itself (told at its hello until it has)."""
    return not is_open(session)


async def host_arrived(
    db: AsyncSession,
    token: str,
    hello: Hello,
    *,
    language: str = "",
    previous_device_key: str | None = None,
    permanent_agent_key: str | None = None,
    ip: str = "",
    now: datetime | None = None,
) -> AdHocSession:
    """The host installed from the link says hello with its token and new key pair: the device
    (kind adhoc, in no group) is enrolled once; the same key coming back gets the same session.
    `previous_device_key`: the key of an earlier temporary host still on this computer;
    `permanent_agent_key`: the key of an installed agent on it (the host reads both locally)."""
    moment = now or utcnow()
    lang = language_of(language)
    session = await find(db, token)
    if session is not None and session.device_id is not None:
        device = await db.get(Device, session.device_id)
        if device is not None and secrets.compare_digest(device.public_key, hello.public_key):
            if not is_open(session):
                code = RefusalCode.ADHOC_SESSION_ENDED
                raise AdHocRefused(code, recipient_message(code, lang))
            return session  # the same host coming back (a reboot, the network)
        code = RefusalCode.ADHOC_LINK_USED
        raise AdHocRefused(code, recipient_message(code, lang))
    session = _judge(session, moment, lang)
    organisation = await get_organisation(db, session.organisation_id)
    if permanent_agent_key:
        installed = (
            await db.execute(
                select(Device.id).where(
                    Device.organisation_id == session.organisation_id,
                    Device.kind == "unattended",
                    Device.removed_at.is_(None),
                    Device.public_key == permanent_agent_key,
                )
            )
        ).first()
        if installed is not None:
            code = RefusalCode.ADHOC_PERMANENT_AGENT
            raise AdHocRefused(code, recipient_message(code, lang, organisation=organisation.name))
    if previous_device_key:
        previous = (
            await db.execute(
                select(AdHocSession, Organisation.name)
                .join(Device, Device.id == AdHocSession.device_id)
                .join(Organisation, Organisation.id == AdHocSession.organisation_id)
                .where(
                    Device.public_key == previous_device_key,
                    AdHocSession.state.in_(OPEN_STATES),
                )
            )
        ).first()
        if previous is not None:
            code = RefusalCode.ADHOC_PREVIOUS_SESSION_OPEN
            raise AdHocRefused(
                code,
                recipient_message(
                    code, lang, organisation=previous[1], technician=previous[0].technician_name
                ),
                organisation=previous[1],
                technician=previous[0].technician_name,
            )
    device = Device(
        organisation_id=session.organisation_id,
        kind=KIND,
        public_key=hello.public_key,
        hostname=hello.device.hostname,
        os=hello.device.os,
        os_version=hello.device.os_version,
        username=hello.device.username,
        device_group_id=None,
        last_seen_at=moment,
        created_at=moment,
    )
    db.add(device)
    await db.flush()
    session.device_id = device.id
    session.recipient_language = lang if language else ""
    session.state = HOST_INSTALLED
    await _audit(
        db,
        _host_who(session, device.hostname, ip),
        session,
        "ad_hoc.installed",
        device=device.hostname,
        os=device.os,
    )
    _changed(db, session)
    return session


async def by_id(db: AsyncSession, ad_hoc_id: int) -> AdHocSession | None:
    """The ad hoc session a temporary host's link belongs to (the host proved its key)."""
    return await db.get(AdHocSession, ad_hoc_id)


async def waiting_for_code(db: AsyncSession, session: AdHocSession) -> None:
    if session.state == HOST_INSTALLED:
        session.state = WAITING_FOR_CODE
        _changed(db, session)


@dataclass(frozen=True)
class Activation:
    organisation: str
    technician: str
    expires_at: datetime
    password_hash: str


async def activation_of(db: AsyncSession, session: AdHocSession) -> Activation | None:
    if session.state != ACTIVATED or session.expires_at is None:
        return None
    organisation = await get_organisation(db, session.organisation_id)
    return Activation(
        organisation=organisation.name,
        technician=session.technician_name,
        expires_at=session.expires_at,
        password_hash=session.access_password_hash,
    )


async def activate(
    db: AsyncSession,
    session: AdHocSession,
    code: str,
    throttle: AttemptThrottle,
    *,
    ip: str = "",
    now: datetime | None = None,
) -> Activation:
    """The recipient typed the security code into the host's window (ADH-3)."""
    moment = now or utcnow()
    lang = session.recipient_language or "en"
    if not is_open(session):
        refusal = RefusalCode.ADHOC_SESSION_ENDED
        raise AdHocRefused(refusal, recipient_message(refusal, lang))
    if session.state == ACTIVATED:
        found = await activation_of(db, session)
        assert found is not None
        return found
    key = code_throttle_key(session.id)
    try:
        await throttle.check(key)
    except RateLimited as limited:
        refusal = RefusalCode.TOO_MANY_ATTEMPTS
        raise AdHocRefused(
            refusal,
            recipient_message(refusal, lang, seconds=limited.retry_after),
            retry_after=limited.retry_after,
        ) from None
    device = await db.get(Device, session.device_id) if session.device_id else None
    hostname = device.hostname if device else ""
    expected = session.security_code_hash
    if expected is None or not secrets.compare_digest(expected, code_hash(session.id, code)):
        await throttle.count(key)
        await _audit(db, _host_who(session, hostname, ip), session, "ad_hoc.wrong_code")
        await db.commit()  # kept although the host is refused
        invalid = ErrorCode.ADHOC_CODE_INVALID
        raise AdHocRefused(invalid, recipient_message(invalid, lang))
    await throttle.forget(key)
    session.state = ACTIVATED
    session.activated_at = moment
    session.expires_at = moment + SESSION_LIFETIME
    session.security_code_hash = None  # used: no code works any more
    await _audit(
        db,
        _host_who(session, hostname, ip),
        session,
        "ad_hoc.activated",
        device=hostname,
        expires_at=session.expires_at.isoformat(),
    )
    _changed(db, session)
    if device is not None:
        announce(
            db,
            org_topic(session.organisation_id),
            DeviceChanged(device_id=device.id, change="edited", device_group_id=None),
        )
    found = await activation_of(db, session)
    assert found is not None
    return found


# --- using it (ADH-4) -------------------------------------------------------------------------
async def open_connection(db: AsyncSession, session: AdHocSession) -> SupportSession | None:
    return (
        await db.execute(
            select(SupportSession).where(
                SupportSession.ad_hoc_session_id == session.id,
                SupportSession.status != SessionStatus.ENDED,
            )
        )
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Connection:
    """A connection to the host: the support session and what the host is told (the password
    goes to the host only, over its channel: it checks it against its own hash)."""

    support_session: SupportSession
    password: str
    technician: str
    company: str
    chat: bool


async def connect(
    db: AsyncSession,
    actor: Actor,
    session_id: int,
    password: str,
    devices_online: Presence,
    throttle: AttemptThrottle,
    *,
    chat: bool | None = None,
    now: datetime | None = None,
) -> Connection:
    actor.require(Permission.AD_HOC_SUPPORT)
    session = await get_visible(db, actor, session_id)
    if session.state != ACTIVATED or session.device_id is None:
        raise Conflict(
            "ad_hoc_session_not_active",
            "This ad hoc session is not active: connect once the recipient has typed the "
            "security code, and until it ends.",
        )
    device = await db.get(Device, session.device_id)
    assert device is not None
    key = password_throttle_key(actor.user.id, session.id)
    await throttle.check(key)
    if not password:
        raise Invalid(
            "access_password_required",
            "Enter the access password of this ad hoc session.",
            field="password",
        )
    if not verify_password(session.access_password_hash, password[:MAX_PASSWORD_LENGTH]):
        await throttle.count(key)
        await _audit(db, actor.who, session, "ad_hoc.wrong_password", device=device.hostname)
        await db.commit()  # kept although the request fails
        raise Forbidden(
            "wrong_access_password",
            "The access password is wrong.",
            field="password",
        )
    await throttle.forget(key)
    if not devices_online.is_online(device.id):
        raise Conflict(
            "device_offline",
            f"{device.hostname} is offline: the ad hoc session goes on, connect when it is "
            "back online.",
        )
    organisation = await get_organisation(db, session.organisation_id)
    with_chat = session.chat_on_connect if chat is None else chat
    current = await open_connection(db, session)
    if current is not None and current.owner_id != actor.user.id:
        owner = await db.get(User, current.owner_id) if current.owner_id else None
        raise Conflict(
            "ad_hoc_connection_in_progress",
            f"{owner.name if owner else 'Another technician'} is connected to "
            f"{device.hostname} now.",
        )
    support = current
    if support is None:
        support = SupportSession(
            organisation_id=session.organisation_id,
            portal_id=await jumps.default_portal(db, session.organisation_id),
            device_id=device.id,
            kind=KIND,
            status=SessionStatus.ACTIVE,
            owner_id=actor.user.id,
            queue_user_id=actor.user.id,
            accepted_at=now or utcnow(),
            customer_name=session.recipient_email,
            ad_hoc_session_id=session.id,
            screen_state=ScreenState.OFF,
        )
        # The screen comes when the technician asks, as in a jump: the access password was the
        # recipient's consent (domain/screen.py).
        db.add(support)
        await db.flush()
        record_event(db, support, "ad_hoc.connected", actor.label, device=device.hostname)
        await _audit(
            db,
            actor.who,
            session,
            "ad_hoc.connected",
            device=device.hostname,
            session=support.id,
            chat=with_chat,
        )
        announce(
            db,
            org_topic(session.organisation_id),
            QueueChanged(session_id=support.id, change="accepted"),
        )
        if with_chat:
            await _start_chat(db, actor, support, session)
    # The host checks the password against its own hash before it serves this session's
    # tunnels (AdHocConnectAnswer → connection_answered).
    announce(
        db,
        device_topic(device.id),
        AdHocConnect(
            type="adhoc_connect",
            session_id=support.id,
            technician=actor.user.name[:500],
            company=(actor.user.company or organisation.name)[:500],
            password=password[:MAX_PASSWORD_LENGTH],
        ),
    )
    _changed(db, session)
    return Connection(
        support_session=support,
        password=password,
        technician=actor.user.name,
        company=actor.user.company or organisation.name,
        chat=with_chat,
    )


CHAT_GREETING = {
    "en": "{technician} is connected to your computer. You can chat with me here.",
    "fr": "{technician} est connecté à votre ordinateur. Vous pouvez discuter avec moi ici.",
    "de": "{technician} ist mit Ihrem Computer verbunden. Sie können hier mit mir chatten.",
}


async def _start_chat(
    db: AsyncSession, actor: Actor, support: SupportSession, session: AdHocSession
) -> None:
    """'Start a chat with the user on connection': the technician's first line, in the
    recipient's language; nothing when the organisation turned chat off."""
    language = language_of(session.recipient_language or session.language)
    greeting = CHAT_GREETING[language].format(technician=actor.user.name)
    with contextlib.suppress(Forbidden):
        await session_chat.chat_from_technician(db, actor, support.id, greeting)


async def connection_answered(
    db: AsyncSession, device_id: int, support_session_id: int, accepted: bool
) -> None:
    """The host checked the password against its own hash: refused, the connection ends."""
    support = await db.get(SupportSession, support_session_id)
    if support is None or support.device_id != device_id or support.ad_hoc_session_id is None:
        return
    session = await db.get(AdHocSession, support.ad_hoc_session_id)
    if session is None:
        return
    device = await db.get(Device, device_id)
    hostname = device.hostname if device else ""
    if accepted:
        record_event(db, support, "ad_hoc.host_accepted", hostname)
        return
    await _audit(db, _host_who(session, hostname), session, "ad_hoc.host_refused_password")
    await finish_by_system(
        db, support, "The temporary host refused the access password.", f"host on {hostname}"
    )


# --- ending (ADH-5) ---------------------------------------------------------------------------
async def _finish(
    db: AsyncSession, session: AdHocSession, state: str, by: str, moment: datetime
) -> None:
    """Over: its connection ends, its device leaves every list (the "Ad hoc sessions" of the
    device list) and the host is told to uninstall itself, now or at its next hello."""
    session.state = state
    session.ended_at = moment
    session.ended_by = by[:320]
    support = await open_connection(db, session)
    if support is not None:
        await finish_by_system(db, support, "The ad hoc session ended.", by)
    if session.device_id is not None:
        device = await db.get(Device, session.device_id)
        if device is not None and device.removed_at is None:
            device.removed_at = device.uninstall_requested_at = moment
            reason = (
                "The ad hoc session ended." if state == ENDED else "The ad hoc session expired."
            )
            announce(db, device_topic(device.id), Uninstall(type="uninstall", reason=reason))
            announce(
                db,
                org_topic(device.organisation_id),
                DeviceChanged(device_id=device.id, change="removed", device_group_id=None),
            )
    _changed(db, session)


async def end_now(
    db: AsyncSession, actor: Actor, session_id: int, now: datetime | None = None
) -> AdHocSession:
    actor.require(Permission.AD_HOC_SUPPORT)
    session = await get_visible(db, actor, session_id)
    if not is_open(session):
        raise Conflict("ad_hoc_session_over", "This ad hoc session has already ended.")
    await _finish(db, session, ENDED, actor.user.name, now or utcnow())
    await _audit(db, actor.who, session, "ad_hoc.ended", by="technician")
    return session


async def ended_by_recipient(
    db: AsyncSession, session: AdHocSession, reason: str = "recipient", now: datetime | None = None
) -> None:
    """'End session' in the host's window, or the host's own clock past the expiry."""
    if not is_open(session):
        return
    device = await db.get(Device, session.device_id) if session.device_id else None
    hostname = device.hostname if device else ""
    expired = reason == "expired"
    await _finish(db, session, EXPIRED if expired else ENDED, "recipient", now or utcnow())
    await _audit(
        db,
        _host_who(session, hostname),
        session,
        "ad_hoc.expired" if expired else "ad_hoc.ended",
        by="host" if expired else "recipient",
    )


async def host_uninstalled(db: AsyncSession, session: AdHocSession, ip: str = "") -> None:
    if session.uninstalled_at is not None:
        return
    session.uninstalled_at = utcnow()
    device = await db.get(Device, session.device_id) if session.device_id else None
    await _audit(
        db,
        _host_who(session, device.hostname if device else "", ip),
        session,
        "ad_hoc.uninstalled",
    )
    _changed(db, session)


async def sweep(db: AsyncSession, now: datetime | None = None) -> int:
    """End what is past its time: 24 h after activation, or a link unused for 24 h (the caller
    commits; run periodically by the server, with an injected clock in tests)."""
    moment = now or utcnow()
    due = (
        (
            await db.execute(
                select(AdHocSession).where(
                    AdHocSession.state.in_(OPEN_STATES),
                    (
                        (AdHocSession.expires_at.is_not(None) & (AdHocSession.expires_at <= moment))
                        | (
                            AdHocSession.activated_at.is_(None)
                            & (AdHocSession.link_expires_at <= moment)
                        )
                    ),
                )
            )
        )
        .scalars()
        .all()
    )
    for session in due:
        await _finish(db, session, EXPIRED, "expiry", moment)
        await audit.record(
            db,
            Who.system(session.organisation_id, "system"),
            "ad_hoc.expired",
            target=target(session),
            details={
                "recipient": session.recipient_email,
                "activated": session.activated_at is not None,
            },
        )
    return len(due)


# --- the report (item 9) ----------------------------------------------------------------------
async def report(db: AsyncSession, actor: Actor, session_id: int) -> dict[str, Any]:
    """One ad hoc session: its facts, its timeline (the audit entries about it, oldest first)
    and its connections (the support sessions to its device, each with its own report)."""
    session = await get_visible(db, actor, session_id)
    device = await db.get(Device, session.device_id) if session.device_id else None
    entries = (
        (
            await db.execute(
                select(AuditEntry)
                .where(
                    AuditEntry.organisation_id == session.organisation_id,
                    AuditEntry.target == target(session),
                )
                .order_by(AuditEntry.seq)
            )
        )
        .scalars()
        .all()
    )
    connections = (
        (
            await db.execute(
                select(SupportSession)
                .where(SupportSession.ad_hoc_session_id == session.id)
                .order_by(SupportSession.id)
            )
        )
        .scalars()
        .all()
    )
    owners = {c.owner_id for c in connections if c.owner_id is not None}
    names: dict[int, str] = {}
    if owners:
        rows = await db.execute(select(User.id, User.name).where(User.id.in_(owners)))
        names = {user_id: name for user_id, name in rows.tuples()}
    return {
        "session": session,
        "device": device,
        "timeline": list(entries),
        "connections": list(connections),
        "owner_names": names,
    }


async def device_of(db: AsyncSession, session: AdHocSession) -> Device | None:
    """The device the session's host runs on (None until the host arrived)."""
    return await db.get(Device, session.device_id) if session.device_id else None
