"""Database tables. Every row that belongs to an organisation carries organisation_id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    remote_support_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_unmanaged_devices: Mapped[bool] = mapped_column(Boolean, default=True)
    chat_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    adhoc_limit_per_user: Mapped[int] = mapped_column(Integer, default=1)
    adhoc_limit_per_organisation: Mapped[int] = mapped_column(Integer, default=5)
    access_password_min_length: Mapped[int] = mapped_column(Integer, default=8)
    recording_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_days: Mapped[int] = mapped_column(Integer, default=30)
    console_ip_ranges: Mapped[list[str]] = mapped_column(JSON, default=list)
    mfa_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The feature switch of unattended access (UNA-8): off, nobody jumps to a device.
    unattended_access_enabled: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    # The licence's count of devices (ADH-6: an ad hoc session needs a free seat); None: unlimited.
    device_seats: Mapped[int | None] = mapped_column(Integer, nullable=True)
    audit_head_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)
    audit_head_seq: Mapped[int] = mapped_column(Integer, default=0)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    verified_domain: Mapped[str] = mapped_column(String(253), default="")
    picture: Mapped[str | None] = mapped_column(Text, nullable=True)
    language: Mapped[str] = mapped_column(String(5), default="en")
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    role_assignments: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_paths: Mapped[list[str]] = mapped_column(JSON, default=list)
    builtin: Mapped[str | None] = mapped_column(String(40), nullable=True)


class DeviceGroup(Base):
    __tablename__ = "device_groups"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), index=True)
    all_devices: Mapped[bool] = mapped_column(Boolean, default=True)
    device_group_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    user: Mapped[User] = relationship(back_populates="role_assignments")
    role: Mapped[Role] = relationship(lazy="selectin")


class ConsoleLogin(Base):
    """A browser sign-in: a cookie token (stored hashed) and the stage the sign-in has reached."""

    __tablename__ = "console_logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(20))
    mfa_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """One link of an organisation's hash chain; see domain/audit.py."""

    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("organisation_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(80), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# --- attended support (ATT) -----------------------------------------------------------------
class Portal(Base):
    """A public customer portal. Every organisation has a default one."""

    __tablename__ = "portals"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class IssueType(Base):
    """What a customer may pick on the portal's issue form; it routes to a team's queue."""

    __tablename__ = "issue_types"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The group a customer's computer joins when he files this issue (GOV-3 scope).
    device_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("device_groups.id", ondelete="SET NULL"), nullable=True
    )


class SessionKey(Base):
    """A single-use credential that starts one attended session (ATT-1). Only its hash is kept."""

    __tablename__ = "session_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    origin: Mapped[str] = mapped_column(String(20))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    queue_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    queue_team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True
    )
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    # The technician's reference for the customer (a ticket number); "" when none.
    reference: Mapped[str] = mapped_column(String(100), default="", server_default="")
    issue_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("issue_types.id", ondelete="SET NULL"), nullable=True
    )
    issue_description: Mapped[str] = mapped_column(Text, default="")
    # The group the key's device joins (GOV-3 scope); None: no group.
    device_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("device_groups.id", ondelete="SET NULL"), nullable=True
    )
    customer_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Revoked by a technician before use: refused on the portal and to agents from then on.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Device(Base):
    """A computer running the agent; kind: temporary (attended), adhoc, unattended."""

    __tablename__ = "devices"
    # The device list pages in hostname order within an organisation (domain/device_list.py).
    __table_args__ = (Index("ix_devices_organisation_id_hostname", "organisation_id", "hostname"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    public_key: Mapped[str] = mapped_column(String(64))
    hostname: Mapped[str] = mapped_column(String(255))
    os: Mapped[str] = mapped_column(String(200), default="")
    os_version: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str] = mapped_column(String(200), default="")
    # Scope (GOV-3): a device without a group is reached only by all-devices assignments.
    device_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("device_groups.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The device list (UNA-5, domain/device_list.py): what the help desk calls and notes about
    # it, the customer company (from its installer), its addresses (public: as the server sees
    # the agent; private: the agent's own, space-separated), its agent's version, the inventory
    # (a summary of the last system report and when it was taken), since when its agent is
    # connected (None: offline), and when its deletion asked the agent to uninstall itself.
    nickname: Mapped[str] = mapped_column(String(100), default="", server_default="")
    comments: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    company: Mapped[str] = mapped_column(String(200), default="", server_default="")
    public_ip: Mapped[str] = mapped_column(String(64), default="", server_default="")
    private_ips: Mapped[str] = mapped_column(String(1100), default="", server_default="")
    agent_version: Mapped[str] = mapped_column(String(100), default="", server_default="")
    inventory: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    inventory_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    online_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    uninstall_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What the device list's search box looks in, lower-cased in one column (one LIKE a row
    # instead of one per field): hostname, nickname, comments, addresses. Kept by the ORM
    # (device_search_text below); tags are searched in device_tags.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The installer that enrolled an installed device; None for attended ones.
    installer_id: Mapped[int | None] = mapped_column(
        ForeignKey("installers.id", ondelete="SET NULL"), nullable=True
    )
    # The password anyone jumping to this device must enter (UNA-1, UNA-6): argon2id; None: none.
    jump_password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)


def device_search_text(device: Device) -> str:
    fields = (
        device.hostname,
        device.nickname,
        device.comments,
        device.public_ip,
        device.private_ips,
    )
    return "\n".join(field or "" for field in fields).lower()


@event.listens_for(Device, "before_insert")
@event.listens_for(Device, "before_update")
def _keep_search_text(_mapper: Any, _connection: Any, device: Device) -> None:
    device.search_text = device_search_text(device)


class DeviceTag(Base):
    """A tag on a device (UNA-5): searchable, a few per device, kept as the technician wrote it."""

    __tablename__ = "device_tags"

    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class DeviceUse(Base):
    """How often a technician used a device (opened its details, jumped to it): the frequently
    used list (UNA-5)."""

    __tablename__ = "device_uses"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    uses: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Installer(Base):
    """A reusable credential that enrols installed (unattended) devices (UNA-2, UNA-4): bound to
    a customer company and a Jump group, counted against a cap. Only the token's hash is kept."""

    __tablename__ = "installers"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    company: Mapped[str] = mapped_column(String(200), default="")
    # The Jump group is a device group: the devices it installs join it (GOV-3 scope).
    device_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("device_groups.id", ondelete="SET NULL"), nullable=True
    )
    max_installations: Mapped[int] = mapped_column(Integer, default=500)
    used: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Single-use enrolments (issue 13, part D): "installer" for the administrator's reusable
    # ones, "self_service" for one issued on the public portal, "jump_client" for one that turns
    # an attended session's agent into an installed one. A single-use one carries the device's
    # nickname, the attended session it converts, and the jump password's argon2id hash.
    purpose: Mapped[str] = mapped_column(
        String(20), default="installer", server_default="installer"
    )
    nickname: Mapped[str | None] = mapped_column(String(200), nullable=True)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    jump_password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # A conversion's progress (domain/jump_client_install.py): asking, installing, installed,
    # denied, failed; and what the agent said when it failed.
    state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(500), nullable=True)


class SupportSession(Base):
    """One support engagement (see SPEC, Actors). status: waiting, active, held, ended."""

    __tablename__ = "support_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    status: Mapped[str] = mapped_column(String(20), index=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    queue_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    queue_team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True, index=True
    )
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    # The technician's reference for the customer (a ticket number); "" when none.
    reference: Mapped[str] = mapped_column(String(100), default="", server_default="")
    issue_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("issue_types.id", ondelete="SET NULL"), nullable=True
    )
    issue_description: Mapped[str] = mapped_column(Text, default="")
    customer_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_by: Mapped[str] = mapped_column(String(320), default="")
    # Screen sharing consent (TOOL-2): off, requested, view, control.
    screen_state: Mapped[str] = mapped_column(String(20), default="off", server_default="off")
    screen_requested: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # attended (a customer started it) or jump (a technician jumped to an installed device, UNA-6).
    kind: Mapped[str] = mapped_column(String(20), default="attended", server_default="attended")
    # A jump's consent: asking (the device's user is asked), allowed, denied; "" for attended.
    jump_state: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # What the jump found on the device: "user" (a logged-in user's display), "none" (nobody
    # logged in: no screen), "" not known yet.
    jump_desktop: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # A connection to an ad hoc session's device (kind "adhoc", issue 14): that ad hoc session.
    ad_hoc_session_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


class SessionEvent(Base):
    __tablename__ = "session_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("support_sessions.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(60))
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ChatMessage(Base):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("support_sessions.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sender: Mapped[str] = mapped_column(String(20))
    sender_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sender_name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)


class Recording(Base):
    """A recorded tool of a session: a shell as asciicast v2 plus its plain-text transcript."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("support_sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    tunnel_id: Mapped[str] = mapped_column(String(64))
    opened_by: Mapped[str] = mapped_column(String(320), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cast_path: Mapped[str] = mapped_column(String(500))
    transcript_path: Mapped[str] = mapped_column(String(500))
    output_bytes: Mapped[int] = mapped_column(Integer, default=0)


class JumpPolicy(Base):
    """What happens on a device when a technician jumps to it (UNA-6): for a Jump group (device
    group) or one device (a device's own policy wins over its group's). prompt: none | ask;
    when_nobody_answers: deny | allow (after answer_seconds); schedule: weekly windows in a time
    zone (domain/schedules.py), none: any time."""

    __tablename__ = "jump_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    device_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("device_groups.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    prompt: Mapped[str] = mapped_column(String(10), default="none")
    when_nobody_answers: Mapped[str] = mapped_column(String(10), default="deny")
    answer_seconds: Mapped[int] = mapped_column(Integer, default=30)
    schedule_timezone: Mapped[str] = mapped_column(String(64), default="")
    schedule_windows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- ad hoc support (ADH, issue 14) ------------------------------------------------------------
class AdHocSession(Base):
    """A temporary host for one day (ADH-1 … ADH-7, domain/ad_hoc_sessions.py): prepared by a
    technician for a recipient's e-mail address, installed from a deployment link, activated by a
    security code, usable for 24 hours from activation with an access password.

    Only hashes of its secrets are kept: the access password (argon2id, also given to the host,
    which checks it itself), the link's deployment token and the latest security code (SHA-256;
    both are high-entropy or throttled). state: prepared, emailed, link_opened, host_installed,
    waiting_for_code, activated, ended, expired. ended_by says who ended it (a technician's name,
    "recipient", "expiry"); uninstalled_at when the host said it removed itself."""

    __tablename__ = "ad_hoc_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    technician_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    technician_name: Mapped[str] = mapped_column(String(200), default="")
    recipient_email: Mapped[str] = mapped_column(String(320))
    access_password_hash: Mapped[str] = mapped_column(String(200))
    deployment_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    security_code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    security_code_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="prepared", index=True)
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), nullable=True, index=True
    )
    chat_on_connect: Mapped[bool] = mapped_column(Boolean, default=False)
    # The technician's language (the e-mail's) and the recipient's, as his host tells it ("").
    language: Mapped[str] = mapped_column(String(5), default="en")
    recipient_language: Mapped[str] = mapped_column(String(5), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Until when the link installs a host (before activation).
    link_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_by: Mapped[str] = mapped_column(String(320), default="")
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
