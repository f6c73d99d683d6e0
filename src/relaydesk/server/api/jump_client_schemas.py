"""Bodies of the self-service installation (UNA-3) and of turning an attended session into an
installed Jump client (UNA-1, TOOL-9)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from relaydesk.server.api.schemas import Id, Request, Response

# Lengths are checked by the rules (specific codes and messages); these only bound the body.
Loose = Annotated[str, StringConstraints(max_length=1000)]
PortalSlug = Annotated[str, StringConstraints(max_length=64)] | None


class SelfServiceWithCode(Request):
    portal: PortalSlug = None
    installer_code: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="The installer token (rdi_…) the customer's administrator gave him."
    )
    device_name: Loose = Field(description="The computer's name, as the device list shows it.")


class SelfServiceWithTechnician(Request):
    portal: PortalSlug = None
    email: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    totp_code: Annotated[str, StringConstraints(max_length=20)] = ""
    device_name: Loose
    company: Loose
    device_group_id: Id | None = None


class SelfServiceIssued(Response):
    """A single-use enrolment: shown once; the token goes only into the command's arguments."""

    token: str
    install_command: str
    silent_command: str
    download_url: str
    nickname: str
    company: str
    expires_at: datetime


class JumpClientRequest(Request):
    password: Annotated[str, StringConstraints(min_length=1, max_length=1000)] = Field(
        description="The technician's own password (re-authentication)."
    )
    totp_code: Annotated[str, StringConstraints(max_length=20)] = ""
    nickname: Loose
    company: Loose
    device_group_id: Id | None = None
    jump_password: Annotated[str, StringConstraints(max_length=1000)] = Field(
        default="", description="A password anyone jumping to the device must enter; '': none."
    )


class JumpClientOut(Response):
    """Where the conversion of an attended session stands: asking (the customer's window asks
    him), installing, installed (the session then ends), denied, failed (message: why)."""

    session_id: int
    state: Literal["asking", "installing", "installed", "denied", "failed"]
    nickname: str
    company: str
    device_group_id: int | None
    message: str = ""


class JumpClientPortalAnswer(Request):
    request_id: Id = Field(description="The question the page showed (its snapshot's id).")
    allow: bool
