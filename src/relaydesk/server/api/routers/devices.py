"""Devices: the device list (UNA-5: search, filters, details, edits, moves, inventory,
frequently used, deletion) and a device's history of support sessions. Thin: the rules are in
domain/device_list.py and domain/devices.py."""

from typing import Annotated

from fastapi import Query, Request

from relaydesk.server.api import device_schemas as d
from relaydesk.server.api import presenters
from relaydesk.server.api import support_schemas as s
from relaydesk.server.api.deps import CurrentActor, Db, runtime
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.schemas import Id
from relaydesk.server.domain import device_groups, device_list, devices

router = api_router("/devices", tags=["devices"])


@router.get("", response_model=d.DevicePage)
async def list_devices(
    db: Db,
    actor: CurrentActor,
    q: Annotated[str, Query(max_length=200)] = "",
    company: Annotated[str | None, Query(max_length=200)] = None,
    device_group_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    online: bool | None = None,
    kind: d.DeviceKind | None = None,
    limit: Annotated[int, Query(ge=1, le=device_list.MAX_PAGE)] = device_list.DEVICE_PAGE,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> d.DevicePage:
    """A page of the devices in your scope, in hostname order, with how many match in all.
    `q` searches hostname, nickname, comments, tags, public and private addresses."""
    where = device_list.DeviceFilter(q, company, device_group_id, online, kind)
    page = await device_list.listing(db, actor, where, limit, offset)
    return d.DevicePage(
        devices=[d.summary(row) for row in page.rows],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/frequent", response_model=list[d.FrequentDevice])
async def frequent_devices(db: Db, actor: CurrentActor) -> list[d.FrequentDevice]:
    """The devices you used most (opened their details, jumped to them), most used first."""
    return [d.frequent(row) for row in await device_list.frequent(db, actor)]


@router.get("/filters", response_model=d.DeviceFilters)
async def device_filters(db: Db, actor: CurrentActor) -> d.DeviceFilters:
    """The device groups in your scope and the companies of the devices you may reach."""
    groups = await device_groups.groups_in_scope(db, actor)
    return d.DeviceFilters(
        device_groups=[d.NamedGroup(id=g.id, name=g.name) for g in groups],
        companies=await device_list.companies(db, actor),
    )


@router.get("/{device_id}", response_model=d.DeviceDetails)
async def device_details(
    device_id: Id, request: Request, db: Db, actor: CurrentActor, count_use: bool = True
) -> d.DeviceDetails:
    """A device with its inventory. Opening it counts as a use (the frequently used list);
    count_use=false reads it again without counting (a page following a change)."""
    row = await device_list.details(db, actor, device_id)
    if count_use:
        # This request only reads: the use is counted in a short transaction of its own.
        async with runtime(request).transaction() as writer:
            await device_list.record_use(writer, actor.user.id, device_id)
    return d.details(row)


@router.patch("/{device_id}", response_model=d.DeviceDetails)
async def edit_device(
    device_id: Id, body: d.DeviceEdit, db: Db, actor: CurrentActor
) -> d.DeviceDetails:
    """Rename, comment, tag or move a device to another Jump group (manage devices, on both
    groups for a move)."""
    row = await device_list.edit(db, actor, device_id, body.model_dump(exclude_unset=True))
    return d.details(row)


@router.post("/{device_id}/inventory", response_model=d.InventoryRequested, status_code=202)
async def refresh_inventory(
    device_id: Id, request: Request, db: Db, actor: CurrentActor
) -> d.InventoryRequested:
    """Asks the connected agent for a system report, kept as the inventory when it arrives
    (the consoles hear device.changed); an offline device: device_offline."""
    online = runtime(request).devices_online
    return d.InventoryRequested(
        request_id=await device_list.request_inventory(db, actor, device_id, online)
    )


@router.delete("/{device_id}", response_model=d.DeviceDeleted)
async def delete_device(
    device_id: Id, request: Request, db: Db, actor: CurrentActor
) -> d.DeviceDeleted:
    """Deletes an installed device: it leaves the list and its agent uninstalls itself, now if
    it is connected, else when it next connects."""
    online = await device_list.delete(db, actor, device_id, runtime(request).devices_online)
    return d.DeviceDeleted(id=device_id, uninstall="sent_now" if online else "at_next_connection")


@router.get("/{device_id}/sessions", response_model=s.DeviceHistory)
async def device_sessions(
    device_id: Id, request: Request, db: Db, actor: CurrentActor
) -> s.DeviceHistory:
    """The device, whether its agent is connected, and the sessions it had that you may see."""
    device, cards = await devices.sessions_of(db, actor, device_id)
    return s.DeviceHistory(
        device=s.DeviceOut.model_validate(device),
        kind=device.kind,  # type: ignore[arg-type]
        online=runtime(request).devices_online.is_online(device.id),
        enrolled_at=device.created_at,
        last_seen_at=device.last_seen_at,
        removed_at=device.removed_at,
        sessions=[presenters.session_out(c) for c in cards],
    )
