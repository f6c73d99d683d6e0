"""Bodies of the installers API (UNA-2, UNA-4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from relaydesk.server.api.schemas import Id, Request, Response


class InstallerCreate(Request):
    company: Annotated[str, StringConstraints(max_length=200)] = Field(
        default="", description="The customer company whose computers this installer enrols."
    )
    device_group_id: Id | None = Field(
        default=None, description="The Jump group (a device group) its devices join."
    )
    max_installations: Annotated[int, Field(le=1_000_000)] = Field(
        default=500, description="How many devices it may enrol (at least 1)."
    )
    expires_at: datetime | None = Field(
        default=None, description="When it stops enrolling (with its time zone); none: never."
    )


class InstallerOut(Response):
    """An installer as listed: the token itself is never shown again."""

    id: Id
    company: str
    device_group_id: int | None
    max_installations: int
    used: int
    created_by_name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class InstallerIssued(Response):
    """A new installer with its token and commands, shown this once."""

    installer: InstallerOut
    token: str
    install_command: str = Field(description="One line for a root shell on Linux.")
    silent_command: str = Field(
        description="The same for silent mass deployment (configuration management)."
    )
    download_url: str = Field(description="The installer script; run it with --installer TOKEN.")
