"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=2000)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
TotpCode = Annotated[str, StringConstraints(min_length=1, max_length=12)]
Language = Literal["en", "fr", "de"]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Picture = Annotated[str, StringConstraints(max_length=400_000)]


def _email(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or any(c.isspace() for c in value.strip())
    ):
        raise ValueError("is not an e-mail address (expected name@example.com)")
    return value.strip().lower()


Email = Annotated[str, StringConstraints(min_length=3, max_length=320), AfterValidator(_email)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- health ---------------------------------------------------------------------------------
class Health(Response):
    status: Literal["ok"]
    version: str


# --- sign-in --------------------------------------------------------------------------------
class SignInRequest(Request):
    email: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: Password


class MfaRequest(Request):
    code: TotpCode


class OrganisationRef(Response):
    id: int
    name: str


class RoleRef(Response):
    id: int
    name: str


class Me(Response):
    id: int
    email: str
    name: str
    title: str
    company: str
    verified_domain: str
    picture: str | None
    language: Language
    totp_enabled: bool
    mfa_required: bool
    organisation: OrganisationRef
    roles: list[RoleRef]
    permissions: list[str]
    is_admin: bool
    # The organisation's unattended access switch (UNA-8): the console greys jumps out when off.
    unattended_access_enabled: bool = True


class SignInState(Response):
    stage: Literal["signed_out", "mfa", "password_change", "mfa_enrolment", "complete"]
    user: Me | None = None


# --- me -------------------------------------------------------------------------------------
class MeUpdate(Request):
    language: Language | None = None
    name: Name | None = None
    title: ShortText | None = None
    company: ShortText | None = None


class PasswordChange(Request):
    current_password: Password
    new_password: Password
    keep_api_tokens: bool = Field(
        default=False,
        description="Keep your API tokens working; by default they are revoked with the change.",
    )


class TotpSetup(Response):
    secret: str
    otpauth_uri: str
    qr_svg: str


class TotpDisable(Request):
    current_password: Password


class ApiTokenCreate(Request):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class ApiTokenOut(Response):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class ApiTokenIssued(Response):
    token: str
    api_token: ApiTokenOut


# --- users ----------------------------------------------------------------------------------
class RoleAssignmentOut(Response):
    id: int
    role_id: int
    role_name: str
    scope: Literal["all", "groups"]
    device_group_ids: list[int]


class RoleAssignmentCreate(Request):
    role_id: Id
    scope: Literal["all", "groups"] = "all"
    device_group_ids: Annotated[list[Id], Field(max_length=500)] = []


class UserOut(Response):
    id: int
    email: str
    name: str
    title: str
    company: str
    verified_domain: str
    picture: str | None
    language: Language
    is_active: bool
    totp_enabled: bool
    created_at: datetime
    role_assignments: list[RoleAssignmentOut]
    team_ids: list[int]


class UserCreate(Request):
    email: Email
    name: Name
    title: ShortText = ""
    company: ShortText = ""
    verified_domain: ShortText = ""
    picture: Picture | None = None
    language: Language = "en"
    password: Password | None = None


class UserCreated(Response):
    user: UserOut
    initial_password: str | None


class PasswordReset(Response):
    initial_password: str


class UserUpdate(Request):
    name: Name | None = None
    title: ShortText | None = None
    company: ShortText | None = None
    verified_domain: ShortText | None = None
    picture: Picture | None = None
    language: Language | None = None
    is_active: bool | None = None


# --- teams, roles, groups -------------------------------------------------------------------
class TeamOut(Response):
    id: int
    name: str
    description: str
    member_ids: list[int]


class TeamCreate(Request):
    name: Name
    description: LongText = ""
    member_ids: Annotated[list[Id], Field(max_length=10_000)] = []


class TeamUpdate(Request):
    name: Name | None = None
    description: LongText | None = None
    member_ids: Annotated[list[Id], Field(max_length=10_000)] | None = None


class PermissionOut(Response):
    key: str
    label: str


PathText = Annotated[str, StringConstraints(max_length=1024)]
PermissionKey = Annotated[str, StringConstraints(max_length=64)]


class RoleOut(Response):
    id: int
    name: str
    description: str
    permissions: list[str]
    allowed_paths: list[str]
    builtin: bool
    assignment_count: int


class RoleCreate(Request):
    name: Name
    description: LongText = ""
    permissions: Annotated[list[PermissionKey], Field(max_length=64)] = []
    allowed_paths: Annotated[list[PathText], Field(max_length=50)] = []


class RoleUpdate(Request):
    name: Name | None = None
    description: LongText | None = None
    permissions: Annotated[list[PermissionKey], Field(max_length=64)] | None = None
    allowed_paths: Annotated[list[PathText], Field(max_length=50)] | None = None


class DeviceGroupOut(Response):
    id: int
    name: str
    description: str


class DeviceGroupCreate(Request):
    name: Name
    description: LongText = ""


class DeviceGroupUpdate(Request):
    name: Name | None = None
    description: LongText | None = None


class IssueTypeOut(Response):
    id: int
    name: str
    team_id: int
    device_group_id: int | None


class IssueTypeCreate(Request):
    name: Name
    team_id: Id
    device_group_id: Id | None = Field(
        default=None,
        description="The device group a customer's computer joins when he files this issue; "
        "none: only technicians whose roles reach all devices see these sessions.",
    )


class IssueTypeUpdate(Request):
    name: Name | None = None
    team_id: Id | None = None
    device_group_id: Id | None = Field(
        default=None, description="null takes the issue type's device group away."
    )


# --- organisation settings ------------------------------------------------------------------
class OrganisationSettings(Response):
    name: str
    remote_support_enabled: bool
    allow_unmanaged_devices: bool
    chat_disabled: bool
    adhoc_limit_per_user: int
    adhoc_limit_per_organisation: int
    access_password_min_length: int
    recording_enabled: bool
    retention_days: int
    console_ip_ranges: list[str]
    mfa_required: bool
    # Unattended access (UNA-8): off, nobody jumps to a device.
    unattended_access_enabled: bool = True
    # The licence's count of devices (ADH-6: an ad hoc session needs a free seat); null: unlimited.
    device_seats: int | None = None


class OrganisationSettingsUpdate(Request):
    name: Name | None = None
    remote_support_enabled: bool | None = None
    allow_unmanaged_devices: bool | None = None
    chat_disabled: bool | None = None
    adhoc_limit_per_user: Annotated[int, Field(ge=0, le=100)] | None = None
    adhoc_limit_per_organisation: Annotated[int, Field(ge=0, le=100_000)] | None = None
    access_password_min_length: Annotated[int, Field(ge=8, le=128)] | None = None
    recording_enabled: bool | None = None
    retention_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    console_ip_ranges: (
        Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=200)]
        | None
    ) = None
    mfa_required: bool | None = None
    unattended_access_enabled: bool | None = None
    device_seats: Annotated[int, Field(ge=0, le=1_000_000)] | None = Field(
        default=None, description="The licence's count of devices; 0 makes it unlimited."
    )


# --- audit ----------------------------------------------------------------------------------
class AuditEntryOut(Response):
    id: int
    seq: int
    at: datetime
    actor_id: int | None
    actor_label: str
    ip: str
    action: str
    target: str
    details: dict[str, Any]
    hash: str


class AuditPage(Response):
    items: list[AuditEntryOut]
    total: int


def present_fields(model: BaseModel) -> dict[str, Any]:
    """The fields a PATCH body actually sent, with explicit nulls left out."""
    return {k: v for k, v in model.model_dump(exclude_unset=True).items() if v is not None}
