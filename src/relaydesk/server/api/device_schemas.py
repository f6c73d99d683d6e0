"""The device list's REST shapes (UNA-5): pages of devices, a device's details, edits."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from relaydesk.server.api.schemas import Response
from relaydesk.server.domain.device_list import DeviceRow

DeviceKind = Literal["temporary", "adhoc", "unattended"]


class DeviceSummary(Response):
    """A device as the list shows it."""

    id: int
    kind: DeviceKind
    hostname: str
    nickname: str
    comments: str
    tags: list[str]
    company: str
    device_group_id: int | None
    device_group_name: str | None
    os: str
    os_version: str
    public_ip: str
    private_ips: list[str]
    agent_version: str
    online: bool
    online_since: datetime | None
    last_seen_at: datetime | None
    enrolled_at: datetime


class DeviceDetails(DeviceSummary):
    """A device with its last inventory (a summary of its last system report)."""

    username: str
    inventory: dict[str, Any] | None
    inventory_at: datetime | None


class DevicePage(Response):
    devices: list[DeviceSummary]
    total: int
    limit: int
    offset: int


class FrequentDevice(DeviceSummary):
    uses: int


class DeviceFilters(Response):
    """What the list's filters offer: the device groups in the caller's scope, and the customer
    companies of the devices he may reach."""

    device_groups: list[NamedGroup]
    companies: list[str]


class NamedGroup(Response):
    id: int
    name: str


class DeviceEdit(BaseModel):
    """The fields to change; a field left out stays as it is. device_group_id null: no group."""

    model_config = ConfigDict(extra="forbid")

    nickname: str | None = None
    comments: str | None = None
    tags: list[str] | None = None
    device_group_id: int | None = None


class InventoryRequested(Response):
    request_id: str


class DeviceDeleted(Response):
    id: int
    uninstall: Literal["sent_now", "at_next_connection"]


DeviceFilters.model_rebuild()


def _fields(row: DeviceRow) -> dict[str, Any]:
    device = row.device
    return {
        "id": device.id,
        "kind": device.kind,
        "hostname": device.hostname,
        "nickname": device.nickname,
        "comments": device.comments,
        "tags": row.tags,
        "company": device.company,
        "device_group_id": device.device_group_id,
        "device_group_name": row.group_name,
        "os": device.os,
        "os_version": device.os_version,
        "public_ip": device.public_ip,
        "private_ips": device.private_ips.split(),
        "agent_version": device.agent_version,
        "online": device.online_since is not None,
        "online_since": device.online_since,
        "last_seen_at": device.last_seen_at,
        "enrolled_at": device.created_at,
    }


def summary(row: DeviceRow) -> DeviceSummary:
    return DeviceSummary(**_fields(row))


def frequent(row: DeviceRow) -> FrequentDevice:
    return FrequentDevice(**_fields(row), uses=row.uses)


def details(row: DeviceRow) -> DeviceDetails:
    device = row.device
    return DeviceDetails(
        **_fields(row),
        username=device.username,
        inventory=device.inventory,
        inventory_at=device.inventory_at,
    )
