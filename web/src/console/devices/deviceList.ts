/** The device list's state (UNA-5): what the technician searched for, the page the server sent
 * for it, the device he picked, his frequently used devices; and how live events change it.
 * The server pages and searches: the browser never holds more than one page. */

import type { components } from "../../api/schema";
import type { DeviceEvent } from "../ConsoleContext";

export type DeviceSummary = components["schemas"]["DeviceSummary"];
export type DeviceDetails = components["schemas"]["DeviceDetails"];
export type DevicePage = components["schemas"]["DevicePage"];
export type FrequentDevice = components["schemas"]["FrequentDevice"];
export type DeviceFilters = components["schemas"]["DeviceFilters"];
export type DeviceKind = DeviceSummary["kind"];

export const PAGE_SIZE = 25;

export type DeviceQuery = {
  q: string;
  company: string;
  /** A device group's id as text, "" for any. */
  group: string;
  online: "" | "online" | "offline";
  kind: "" | DeviceKind;
  offset: number;
};

export const EMPTY_QUERY: DeviceQuery = { q: "", company: "", group: "", online: "", kind: "", offset: 0 };

export type DeviceListState = {
  query: DeviceQuery;
  page: DevicePage | null;
  /** The query the page answers (a newer answer replaces an older one, never the reverse). */
  pageFor: string;
  loading: boolean;
  error: unknown;
  selected: number | null;
  frequent: FrequentDevice[];
  /** Bumped when something the list shows changed on the server: the page is read again. */
  stale: number;
};

export function initialDeviceList(): DeviceListState {
  return {
    query: EMPTY_QUERY,
    page: null,
    pageFor: "",
    loading: true,
    error: null,
    selected: null,
    frequent: [],
    stale: 0,
  };
}

export type DeviceListAction =
  | { type: "search"; change: Partial<Omit<DeviceQuery, "offset">> }
  | { type: "page-to"; offset: number }
  | { type: "loading" }
  | { type: "loaded"; page: DevicePage; queryKey: string }
  | { type: "failed"; error: unknown }
  | { type: "select"; id: number | null }
  | { type: "frequent"; devices: FrequentDevice[] }
  | { type: "event"; event: DeviceEvent }
  | { type: "changed"; device: DeviceSummary }
  | { type: "removed"; id: number };

/** The query as the API's parameters (empty filters left out). */
export function queryParams(query: DeviceQuery): {
  q?: string;
  company?: string;
  device_group_id?: number;
  online?: boolean;
  kind?: DeviceKind;
  limit: number;
  offset: number;
} {
  return {
    ...(query.q.trim() ? { q: query.q.trim() } : {}),
    ...(query.company ? { company: query.company } : {}),
    ...(query.group ? { device_group_id: Number(query.group) } : {}),
    ...(query.online ? { online: query.online === "online" } : {}),
    ...(query.kind ? { kind: query.kind } : {}),
    limit: PAGE_SIZE,
    offset: query.offset,
  };
}

export function queryKey(query: DeviceQuery): string {
  return JSON.stringify(queryParams(query));
}

function withDevice<T extends DeviceSummary>(devices: T[], id: number, change: (device: T) => T): T[] {
  return devices.some((d) => d.id === id) ? devices.map((d) => (d.id === id ? change(d) : d)) : devices;
}

function onPage(state: DeviceListState, id: number, change: <T extends DeviceSummary>(device: T) => T): DeviceListState {
  return {
    ...state,
    page: state.page ? { ...state.page, devices: withDevice(state.page.devices, id, change) } : null,
    frequent: withDevice(state.frequent, id, change),
  };
}

export function reduceDeviceList(state: DeviceListState, action: DeviceListAction): DeviceListState {
  switch (action.type) {
    case "search":
      return { ...state, query: { ...state.query, ...action.change, offset: 0 } };
    case "page-to":
      return { ...state, query: { ...state.query, offset: Math.max(0, action.offset) } };
    case "loading":
      return { ...state, loading: true };
    case "loaded":
      if (action.queryKey !== queryKey(state.query)) return state; // an older search's answer
      return { ...state, page: action.page, pageFor: action.queryKey, loading: false, error: null };
    case "failed":
      return { ...state, loading: false, error: action.error };
    case "select":
      return { ...state, selected: action.id };
    case "frequent":
      return { ...state, frequent: action.devices };
    case "changed":
      return onPage(state, action.device.id, (device) => ({ ...device, ...action.device }));
    case "removed": {
      const next = {
        ...state,
        page: state.page
          ? {
              ...state.page,
              devices: state.page.devices.filter((d) => d.id !== action.id),
              total: Math.max(0, state.page.total - (state.page.devices.some((d) => d.id === action.id) ? 1 : 0)),
            }
          : null,
        frequent: state.frequent.filter((d) => d.id !== action.id),
        stale: state.stale + 1,
      };
      return state.selected === action.id ? { ...next, selected: null } : next;
    }
    case "event": {
      const event = action.event;
      if (event.type === "device.online") {
        const moved = onPage(state, event.device_id, (device) => ({
          ...device,
          online: event.online,
          online_since: event.online ? event.at : null,
          last_seen_at: event.at,
        }));
        // A list filtered on online/offline no longer holds the same devices; the device shown
        // in the details is read again (online since, last seen).
        const again = state.query.online !== "" || state.selected === event.device_id;
        return again ? { ...moved, stale: state.stale + 1 } : moved;
      }
      return { ...state, stale: state.stale + 1 };
    }
  }
}

/** What the list calls a device: its nickname, else its hostname. */
export function deviceName(device: Pick<DeviceSummary, "nickname" | "hostname">): string {
  return device.nickname || device.hostname;
}

/** Tags as the technician types them: separated by commas. */
export function parseTags(text: string): string[] {
  return text
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
}

/** "26–50" of a page, 1-based; "0" for an empty one. */
export function pageRange(page: DevicePage): { from: number; to: number } {
  if (!page.devices.length) return { from: 0, to: 0 };
  return { from: page.offset + 1, to: page.offset + page.devices.length };
}
