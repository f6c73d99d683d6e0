import { describe, expect, it } from "vitest";
import {
  EMPTY_QUERY,
  initialDeviceList,
  pageRange,
  parseTags,
  queryKey,
  queryParams,
  reduceDeviceList,
  type DevicePage,
  type DeviceSummary,
} from "./deviceList";

function device(id: number, online = false): DeviceSummary {
  return {
    id,
    kind: "unattended",
    hostname: `pc-${id}`,
    nickname: "",
    comments: "",
    tags: [],
    company: "",
    device_group_id: null,
    device_group_name: null,
    os: "Linux",
    os_version: "",
    public_ip: "",
    private_ips: [],
    agent_version: "1.0",
    online,
    online_since: online ? "2026-12-03T10:00:00Z" : null,
    last_seen_at: "2026-12-03T10:00:00Z",
    enrolled_at: "2026-12-01T10:00:00Z",
  };
}

function loaded(devices: DeviceSummary[], total = devices.length) {
  const state = initialDeviceList();
  const page: DevicePage = { devices, total, limit: 25, offset: 0 };
  return reduceDeviceList(state, { type: "loaded", page, queryKey: queryKey(state.query) });
}

describe("device list state", () => {
  it("sends only the filters that are set, and starts a new search on the first page", () => {
    expect(queryParams(EMPTY_QUERY)).toEqual({ limit: 25, offset: 0 });
    let state = reduceDeviceList(initialDeviceList(), { type: "page-to", offset: 50 });
    state = reduceDeviceList(state, { type: "search", change: { q: " kiosk ", group: "3", online: "offline" } });
    expect(queryParams(state.query)).toEqual({ q: "kiosk", device_group_id: 3, online: false, limit: 25, offset: 0 });
  });

  it("ignores the answer to an older search", () => {
    const state = reduceDeviceList(initialDeviceList(), { type: "search", change: { q: "new" } });
    const old: DevicePage = { devices: [device(1)], total: 1, limit: 25, offset: 0 };
    expect(reduceDeviceList(state, { type: "loaded", page: old, queryKey: queryKey(EMPTY_QUERY) })).toBe(state);
  });

  it("turns the dot of a device online and offline from the socket's events", () => {
    let state = loaded([device(1), device(2)]);
    state = reduceDeviceList(state, {
      type: "event",
      event: { type: "device.online", device_id: 2, online: true, at: "2026-12-03T11:00:00Z", device_group_id: null },
    });
    expect(state.page?.devices.map((d) => d.online)).toEqual([false, true]);
    expect(state.page?.devices[1]?.online_since).toBe("2026-12-03T11:00:00Z");
    expect(state.stale).toBe(0);
    state = reduceDeviceList(state, {
      type: "event",
      event: { type: "device.online", device_id: 2, online: false, at: "2026-12-03T12:00:00Z", device_group_id: null },
    });
    expect(state.page?.devices[1]).toMatchObject({ online: false, online_since: null, last_seen_at: "2026-12-03T12:00:00Z" });
  });

  it("reads the page again when a device changed, or when the list is filtered on online", () => {
    let state = loaded([device(1)]);
    state = reduceDeviceList(state, {
      type: "event",
      event: { type: "device.changed", device_id: 1, change: "edited", device_group_id: null, previous_group_id: null },
    });
    expect(state.stale).toBe(1);
    state = reduceDeviceList(state, { type: "search", change: { online: "online" } });
    state = reduceDeviceList(state, {
      type: "event",
      event: { type: "device.online", device_id: 9, online: true, at: "2026-12-03T11:00:00Z", device_group_id: null },
    });
    expect(state.stale).toBe(2);
  });

  it("drops a deleted device from the page and the selection", () => {
    let state = reduceDeviceList(loaded([device(1), device(2)], 30), { type: "select", id: 2 });
    state = reduceDeviceList(state, { type: "removed", id: 2 });
    expect(state.page?.devices.map((d) => d.id)).toEqual([1]);
    expect(state.selected).toBe(null);
    expect(state.page?.total).toBe(29);
  });

  it("reads tags and page ranges as people write them", () => {
    expect(parseTags(" lobby, touch ,, kiosk")).toEqual(["lobby", "touch", "kiosk"]);
    expect(pageRange({ devices: [device(1), device(2)], total: 40, limit: 25, offset: 25 })).toEqual({ from: 26, to: 27 });
    expect(pageRange({ devices: [], total: 0, limit: 25, offset: 0 })).toEqual({ from: 0, to: 0 });
  });
});
