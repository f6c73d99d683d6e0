"""REST shapes of ad hoc support (ADH-1 … ADH-7, issue 14)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from relaydesk.server.api.schemas import Request, Response

AdHocState = Literal[
    "prepared",
    "emailed",
    "link_opened",
    "host_installed",
    "waiting_for_code",
    "activated",
    "ended",
    "expired",
]


class AdHocPrepareIn(Request):
    recipient_email: Annotated[str, StringConstraints(max_length=320)]
    # Checked against the organisation's policy by the server (access_password_too_short …).
    access_password: Annotated[str, StringConstraints(max_length=1024)]
    chat_on_connect: bool = False
    # "Send e-mail and prepare the session"; false: prepare only (copy the link).
    send_email: bool = True


class AdHocSessionOut(Response):
    id: int
    state: AdHocState
    recipient_email: str
    technician_id: int | None
    technician_name: str
    chat_on_connect: bool
    language: str
    recipient_language: str
    created_at: datetime
    link_expires_at: datetime
    security_code_issued_at: datetime | None
    activated_at: datetime | None
    expires_at: datetime | None
    ended_at: datetime | None
    ended_by: str
    uninstalled_at: datetime | None
    device_id: int | None
    device_hostname: str = ""
    device_online: bool = False
    # A connection of this ad hoc session still open (its support session), if any.
    open_connection_id: int | None = None


class AdHocPreparedOut(Response):
    """Shown once: the link and the security code are not kept in clear anywhere."""

    session: AdHocSessionOut
    link: str
    security_code: str


class AdHocCodeOut(Response):
    security_code: str


class AdHocConnectIn(Request):
    password: Annotated[str, StringConstraints(max_length=1024)]
    # "Start a chat with the user on connection"; null: as prepared.
    chat: bool | None = None


class AdHocConnectOut(Response):
    session_id: int
    chat: bool


class AdHocTimelineEntry(Response):
    at: datetime
    action: str
    actor: str
    details: dict[str, Any]


class AdHocConnectionOut(Response):
    session_id: int
    technician: str
    started_at: datetime | None
    ended_at: datetime | None
    ended_by: str


class AdHocReportOut(Response):
    session: AdHocSessionOut
    timeline: list[AdHocTimelineEntry]
    connections: list[AdHocConnectionOut]


class AdHocLinkOpenedIn(Request):
    token: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    language: Annotated[str, StringConstraints(max_length=35)] = ""


class AdHocLinkOut(Response):
    """What the recipient's page shows before the download."""

    organisation: str
    technician: str
    file_name: str
    link_expires_at: datetime
    support_client_url: str = Field(default="/portal/download/support-client")
