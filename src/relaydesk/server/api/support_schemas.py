"""Bodies of the attended-support API: keys, queues, sessions, chat, portal, reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from relaydesk.server.api.schemas import Email, Id, Request, Response

ChatText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
KeyText = Annotated[str, StringConstraints(min_length=1, max_length=64)]
CustomerName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Reference = Annotated[str, StringConstraints(max_length=100)]


class PortalOut(Response):
    id: int
    name: str
    slug: str
    is_default: bool


class SessionKeyCreate(Request):
    validity_minutes: Literal[15, 60, 240, 1440, 10080] = 60
    customer_name: Annotated[str, StringConstraints(max_length=200)] = Field(
        default="", description="Who the key is for, shown in the queue and the session."
    )
    reference: Reference = Field(
        default="", description="The technician's reference for the customer (a ticket number)."
    )
    portal_id: Id | None = None
    device_group_id: Id | None = Field(
        default=None,
        description="The device group the customer's computer joins; required when the "
        "technician's roles reach only some groups (GET /session-keys/device-groups).",
    )


class SessionKeyIssued(Response):
    key: str
    url: str
    expires_at: datetime
    portal: PortalOut


class OutstandingKeyOut(Response):
    """A session key that could still start a session (the key itself is never shown again)."""

    id: Id
    customer_name: str
    reference: str
    created_by_name: str
    created_at: datetime
    expires_at: datetime


class SessionKeyEmail(Request):
    key: KeyText
    email: Email


class DeviceOut(Response):
    id: int
    hostname: str
    os: str
    os_version: str
    username: str
    device_group_id: int | None


class SessionOut(Response):
    id: int
    status: Literal["waiting", "active", "held", "ended"]
    customer_name: str
    reference: str
    issue_type_name: str
    issue_description: str
    queue_user_id: int | None
    queue_team_id: int | None
    owner_id: int | None
    owner_name: str | None
    position: int | None
    device: DeviceOut
    created_at: datetime
    queued_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None
    ended_by: str
    screen_state: Literal["off", "requested", "view", "control"]
    screen_requested: Literal["", "view", "control"]
    # attended, or jump: a technician jumped to an installed device (UNA-6); a jump's consent
    # (asking the user on the device, allowed, denied) and whether a logged-in user's desktop
    # was found there (none: nobody is logged in, no screen).
    kind: Literal["attended", "jump"] = "attended"
    jump_state: Literal["", "asking", "allowed", "denied"] = ""
    jump_desktop: Literal["", "user", "none"] = ""


class TeamQueue(Response):
    team_id: int
    team_name: str
    sessions: list[SessionOut]
    total: int = 0  # sessions in this queue in all; `sessions` is one page of them


class QueueOut(Response):
    """One page of each list (GET /queue's limit and offset; the console's socket sends the
    first), oldest first, with each list's total."""

    personal: list[SessionOut]
    teams: list[TeamQueue]
    mine: list[SessionOut]
    personal_total: int = 0
    mine_total: int = 0


class ChatMessageOut(Response):
    id: int
    session_id: int
    at: datetime
    sender: Literal["technician", "customer", "system"]
    sender_name: str
    text: str


class ChatPost(Request):
    text: ChatText


class SessionDetail(Response):
    session: SessionOut
    chat: list[ChatMessageOut]
    chat_enabled: bool
    agent_connected: bool = Field(
        description="Whether the device's support client is connected to the server now."
    )


class SysinfoRequested(Response):
    request_id: str


class SessionEventOut(Response):
    id: int
    at: datetime
    kind: str
    actor_label: str
    details: dict[str, Any]


class SessionReportList(Response):
    items: list[SessionOut]
    total: int


class RecordingOut(Response):
    id: int
    kind: str
    opened_by: str
    started_at: datetime
    ended_at: datetime
    output_bytes: int


class SessionReport(Response):
    session: SessionOut
    events: list[SessionEventOut]
    chat: list[ChatMessageOut]
    recordings: list[RecordingOut]
    duration_seconds: int | None


# --- public portal ---------------------------------------------------------------------------
class TechnicianOut(Response):
    id: int
    name: str
    title: str
    company: str
    picture: str | None
    verified_domain: str


class PortalIssueType(Response):
    id: int
    name: str


class PortalFrontOut(Response):
    organisation_name: str
    portal_name: str
    portal_slug: str
    remote_support_enabled: bool
    chat_enabled: bool
    technicians: list[TechnicianOut]
    issue_types: list[PortalIssueType]


class PortalKeyEntry(Request):
    key: KeyText
    portal: Annotated[str, StringConstraints(max_length=64)] | None = None


class PortalPickTechnician(Request):
    portal: Annotated[str, StringConstraints(max_length=64)] | None = None
    technician_id: Id
    customer_name: CustomerName


class PortalIssue(Request):
    portal: Annotated[str, StringConstraints(max_length=64)] | None = None
    issue_type_id: Id
    customer_name: CustomerName
    description: Annotated[str, StringConstraints(max_length=4000)] = ""


class AgentCommands(Response):
    linux_macos: str
    windows_powershell: str
    script_url_linux_macos: str
    script_url_windows: str
    # The self-contained support client (Linux x86_64); None when this server has none built.
    # The page saves it as support_client_file_name, which carries the key: the URL does not.
    support_client_url: str | None
    support_client_sha256: str | None
    support_client_size: int | None
    support_client_file_name: str


class CustomerStartOut(Response):
    customer_token: str
    key: str
    technician: TechnicianOut | None
    team_name: str | None
    commands: AgentCommands


class CustomerSessionOut(Response):
    status: Literal["waiting_for_agent", "waiting", "active", "held", "ended"]
    technician: TechnicianOut | None
    screen_state: Literal["off", "requested", "view", "control"]
    screen_requested: Literal["", "view", "control"]
    chat: list[ChatMessageOut]
    chat_enabled: bool


class ScreenRequest(Request):
    mode: Literal["view", "control"]


class ScreenAnswer(Request):
    allow: bool


class TunnelOut(Response):
    tunnel_id: str
    path: str = Field(description="The WebSocket path, /relay/{tunnel_id}; it carries no secret.")
    token: str = Field(
        description="The one-time token: offer it as the 'relaydesk.bearer.<token>' "
        "subprotocol (never in the URL), next to 'relaydesk' (or noVNC's 'binary')."
    )
    expires_in_seconds: int


class FilesTunnelOut(TunnelOut):
    upload: bool
    download: bool
    roots: list[str]


class DeviceHistory(Response):
    """A device and the support sessions it had (newest first) that the technician may see."""

    device: DeviceOut
    kind: Literal["temporary", "adhoc", "unattended"]
    online: bool
    enrolled_at: datetime
    last_seen_at: datetime | None
    removed_at: datetime | None
    sessions: list[SessionOut]
