/** Devices (UNA-5): one search box over hostname, nickname, comments, tags and addresses;
 * filters by company, Jump group, online/offline and kind; the server's pages; an online dot
 * that follows the console's socket; the frequently used devices; the details of the one
 * picked (DeviceDetailsPane). */

import { useEffect, useReducer, useRef, useState } from "preact/hooks";
import { api, call } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { formatNumber } from "../../shared/text";
import { Card, ErrorNotice, Loading } from "../../shared/ui";
import { useConsole } from "../ConsoleContext";
import { DeviceDetailsPane } from "./DeviceDetailsPane";
import {
  deviceName,
  initialDeviceList,
  pageRange,
  PAGE_SIZE,
  queryKey,
  queryParams,
  reduceDeviceList,
  type DeviceFilters,
  type DeviceKind,
  type DeviceSummary,
} from "./deviceList";
import "./devices.css";

const SEARCH_DELAY_MS = 250;
const KINDS: DeviceKind[] = ["unattended", "adhoc", "temporary"];
export const KIND_LABELS: Record<DeviceKind, MessageKey> = {
  unattended: "devices.kind.unattended",
  adhoc: "devices.kind.adhoc",
  temporary: "devices.kind.temporary",
};

export function DevicesView() {
  const { t, language } = useI18n();
  const { onDeviceEvent } = useConsole();
  const [state, dispatch] = useReducer(reduceDeviceList, undefined, initialDeviceList);
  const [typed, setTyped] = useState("");
  const [filters, setFilters] = useState<DeviceFilters | null>(null);
  const latestKey = useRef("");

  // The search box asks the server once the technician pauses typing.
  useEffect(() => {
    const timer = setTimeout(() => dispatch({ type: "search", change: { q: typed } }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [typed]);

  const key = queryKey(state.query);
  const query = useRef(state.query);
  query.current = state.query;
  useEffect(() => {
    latestKey.current = key;
    dispatch({ type: "loading" });
    call(api.GET("/api/v1/devices", { params: { query: queryParams(query.current) } })).then(
      (page) => dispatch({ type: "loaded", page, queryKey: key }),
      (error: unknown) => {
        if (latestKey.current === key) dispatch({ type: "failed", error });
      },
    );
  }, [key, state.stale]);

  useEffect(() => {
    call(api.GET("/api/v1/devices/frequent")).then(
      (devices) => dispatch({ type: "frequent", devices }),
      () => undefined,
    );
  }, [state.selected, state.stale]);

  useEffect(() => {
    call(api.GET("/api/v1/devices/filters")).then(setFilters, () => undefined);
  }, [state.stale]);

  useEffect(() => onDeviceEvent((event) => dispatch({ type: "event", event })), [onDeviceEvent]);

  const page = state.page;
  const range = page ? pageRange(page) : { from: 0, to: 0 };
  return (
    <div class="devices-layout">
      <div class="devices-column">
        <Card testid="devices-list">
          <div class="devices-search">
            <input
              type="search"
              class="input devices-search-box"
              placeholder={t("devices.search_placeholder")}
              aria-label={t("devices.search")}
              value={typed}
              data-testid="devices-search"
              onInput={(event) => setTyped(event.currentTarget.value)}
            />
          </div>
          <div class="devices-filters">
            <select
              aria-label={t("devices.filter.company")}
              data-testid="devices-filter-company"
              value={state.query.company}
              onChange={(event) => dispatch({ type: "search", change: { company: event.currentTarget.value } })}
            >
              <option value="">{t("devices.filter.any_company")}</option>
              {filters?.companies.map((company) => (
                <option key={company} value={company}>
                  {company}
                </option>
              ))}
            </select>
            <select
              aria-label={t("devices.filter.group")}
              data-testid="devices-filter-group"
              value={state.query.group}
              onChange={(event) => dispatch({ type: "search", change: { group: event.currentTarget.value } })}
            >
              <option value="">{t("devices.filter.any_group")}</option>
              {filters?.device_groups.map((group) => (
                <option key={group.id} value={String(group.id)}>
                  {group.name}
                </option>
              ))}
            </select>
            <select
              aria-label={t("devices.filter.online")}
              data-testid="devices-filter-online"
              value={state.query.online}
              onChange={(event) =>
                dispatch({
                  type: "search",
                  change: { online: event.currentTarget.value as "" | "online" | "offline" },
                })
              }
            >
              <option value="">{t("devices.filter.any_state")}</option>
              <option value="online">{t("devices.online")}</option>
              <option value="offline">{t("devices.offline")}</option>
            </select>
            <select
              aria-label={t("devices.filter.kind")}
              data-testid="devices-filter-kind"
              value={state.query.kind}
              onChange={(event) =>
                dispatch({ type: "search", change: { kind: event.currentTarget.value as "" | DeviceKind } })
              }
            >
              <option value="">{t("devices.filter.any_kind")}</option>
              {KINDS.map((kind) => (
                <option key={kind} value={kind}>
                  {t(KIND_LABELS[kind])}
                </option>
              ))}
            </select>
          </div>
          <ErrorNotice error={state.error} />
          {!page ? (
            <Loading />
          ) : page.devices.length === 0 ? (
            <p class="muted devices-empty" data-testid="devices-empty">
              {state.query.q || state.query.company || state.query.group || state.query.online || state.query.kind
                ? t("devices.none_match")
                : t("devices.none")}
            </p>
          ) : (
            <ul class="devices-rows" aria-busy={state.loading}>
              {page.devices.map((device) => (
                <DeviceRow
                  key={device.id}
                  device={device}
                  selected={device.id === state.selected}
                  onPick={() => dispatch({ type: "select", id: device.id })}
                />
              ))}
            </ul>
          )}
          {page && (
            <footer class="devices-paging">
              <span class="muted small" data-testid="devices-total">
                {t("devices.range", {
                  from: formatNumber(range.from, language, 0),
                  to: formatNumber(range.to, language, 0),
                  total: formatNumber(page.total, language, 0),
                })}
              </span>
              <span class="devices-paging-buttons">
                <button
                  type="button"
                  class="button button-secondary"
                  data-testid="devices-previous"
                  disabled={page.offset === 0}
                  onClick={() => dispatch({ type: "page-to", offset: page.offset - PAGE_SIZE })}
                >
                  {t("devices.previous")}
                </button>
                <button
                  type="button"
                  class="button button-secondary"
                  data-testid="devices-next"
                  disabled={page.offset + page.devices.length >= page.total}
                  onClick={() => dispatch({ type: "page-to", offset: page.offset + PAGE_SIZE })}
                >
                  {t("devices.next")}
                </button>
              </span>
            </footer>
          )}
        </Card>
        <Card title={t("devices.frequent")} testid="devices-frequent">
          {state.frequent.length === 0 ? (
            <p class="muted small">{t("devices.frequent_none")}</p>
          ) : (
            <ul class="devices-rows">
              {state.frequent.map((device) => (
                <DeviceRow
                  key={device.id}
                  device={device}
                  selected={device.id === state.selected}
                  testid="frequent-row"
                  onPick={() => dispatch({ type: "select", id: device.id })}
                />
              ))}
            </ul>
          )}
        </Card>
      </div>
      <div class="devices-detail">
        {state.selected !== null ? (
          <DeviceDetailsPane
            key={state.selected}
            deviceId={state.selected}
            groups={filters?.device_groups ?? []}
            stale={state.stale}
            onChanged={(device) => dispatch({ type: "changed", device })}
            onGone={(id) => dispatch({ type: "removed", id })}
          />
        ) : (
          <Card testid="device-details-empty">
            <div class="empty-state">
              <p class="empty-title">{t("devices.pick_title")}</p>
              <p class="muted">{t("devices.pick_about")}</p>
            </div>
          </Card>
        )}
      </div>
    </div>
  );
}

export function OnlineDot({ online }: { online: boolean }) {
  const { t } = useI18n();
  return (
    <span
      class={online ? "device-dot device-dot-online" : "device-dot"}
      data-testid="device-dot"
      data-online={online ? "true" : "false"}
      role="img"
      aria-label={online ? t("devices.online") : t("devices.offline")}
      title={online ? t("devices.online") : t("devices.offline")}
    />
  );
}

function DeviceRow({
  device,
  selected,
  onPick,
  testid = "device-row",
}: {
  device: DeviceSummary;
  selected: boolean;
  onPick: () => void;
  testid?: string;
}) {
  const { t } = useI18n();
  const where = [device.company, device.device_group_name].filter(Boolean).join(" · ");
  return (
    <li>
      <button
        type="button"
        class={selected ? "device-row selected" : "device-row"}
        aria-pressed={selected}
        data-testid={testid}
        data-device-id={device.id}
        data-online={device.online ? "true" : "false"}
        onClick={onPick}
      >
        <OnlineDot online={device.online} />
        <span class="device-row-main">
          <span class="device-row-name" dir="auto" data-testid="device-row-name">
            {deviceName(device)}
          </span>
          <span class="muted small" dir="auto">
            {device.nickname ? `${device.hostname} · ` : ""}
            {where || t(KIND_LABELS[device.kind])}
          </span>
        </span>
        <span class="device-row-tags">
          {device.tags.map((tag) => (
            <span key={tag} class="device-tag" dir="auto">
              {tag}
            </span>
          ))}
        </span>
      </button>
    </li>
  );
}
