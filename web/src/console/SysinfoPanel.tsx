/** System information (TOOL-5): ask the device for a snapshot, read it by section, copy it,
 * save it as JSON or text. */

import { useMemo, useState } from "preact/hooks";
import { useI18n, type MessageKey } from "../i18n";
import { formatDateTime } from "../shared/format";
import { useAction } from "../shared/hooks";
import { formatBytes, formatDuration, formatNumber, formatPercent, saveFile } from "../shared/text";
import { ErrorNotice } from "../shared/ui";
import { useConsole } from "./ConsoleContext";
import type { OpenSession } from "./store";
import {
  filterRows,
  readSysinfo,
  SECTIONS,
  sysinfoFileName,
  sysinfoText,
  type Process,
  type Sysinfo,
  type SysinfoSection,
} from "./sysinfo";

const LONG_LIST_LIMIT = 200;

const SECTION_TITLES: Record<SysinfoSection, MessageKey> = {
  overview: "sysinfo.section.overview",
  disks: "sysinfo.section.disks",
  network: "sysinfo.section.network",
  users: "sysinfo.section.users",
  processes: "sysinfo.section.processes",
  services: "sysinfo.section.services",
  packages: "sysinfo.section.packages",
};

export function SysinfoPanel({ tab }: { tab: OpenSession }) {
  const { t, language } = useI18n();
  const { requestSysinfo } = useConsole();
  const action = useAction();
  const [section, setSection] = useState<SysinfoSection>("overview");
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");
  const raw = tab.sysinfo.info;
  const info = useMemo(() => (raw ? readSysinfo(raw) : null), [raw]);
  const waiting = tab.sysinfo.status === "waiting";
  const canAsk = tab.session.status === "active";

  const ask = () => void action.run(() => requestSysinfo(tab.session.id));
  const copy = () => {
    if (!info) return;
    navigator.clipboard.writeText(sysinfoText(info, t, language)).then(
      () => setCopied("copied"),
      () => setCopied("failed"),
    );
  };

  return (
    <section class="card sysinfo" data-testid="sysinfo-panel" data-status={tab.sysinfo.status}>
      <header class="card-header sysinfo-header">
        <div>
          <h2>{t("sysinfo.title")}</h2>
          {info && (
            <span class="muted small" data-testid="sysinfo-collected">
              {t("sysinfo.collected", { when: formatDateTime(info.collected_at || tab.sysinfo.receivedAt, language) })}
            </span>
          )}
        </div>
        {info && (
          <div class="card-actions">
            <button type="button" class="button button-secondary" disabled={waiting || !canAsk || action.busy} data-testid="sysinfo-refresh" onClick={ask}>
              {waiting ? t("sysinfo.waiting_short") : t("sysinfo.refresh")}
            </button>
            <button type="button" class="button button-quiet" data-testid="sysinfo-copy" onClick={copy}>
              {t(copied === "copied" ? "common.copied" : copied === "failed" ? "sysinfo.copy_failed" : "common.copy")}
            </button>
            <button
              type="button"
              class="button button-quiet"
              data-testid="sysinfo-save-json"
              onClick={() => saveFile(`${sysinfoFileName(info)}.json`, `${JSON.stringify(raw, null, 2)}\n`, "application/json")}
            >
              {t("sysinfo.save_json")}
            </button>
            <button
              type="button"
              class="button button-quiet"
              data-testid="sysinfo-save-text"
              onClick={() => saveFile(`${sysinfoFileName(info)}.txt`, sysinfoText(info, t, language), "text/plain;charset=utf-8")}
            >
              {t("sysinfo.save_text")}
            </button>
          </div>
        )}
      </header>
      <ErrorNotice error={action.error} />
      {!info ? (
        <div class="empty-state sysinfo-empty">
          {waiting ? (
            <p class="muted" aria-busy="true" data-testid="sysinfo-waiting">
              <span class="spinner" aria-hidden="true" /> {t("sysinfo.waiting")}
            </p>
          ) : canAsk ? (
            <>
              <p class="muted">{t("sysinfo.about")}</p>
              <button type="button" class="button button-primary" disabled={action.busy} data-testid="sysinfo-request" onClick={ask}>
                {t("sysinfo.request")}
              </button>
            </>
          ) : (
            <p class="muted">{t("sysinfo.not_active")}</p>
          )}
        </div>
      ) : (
        <>
          <nav class="subtabs" aria-label={t("sysinfo.sections")}>
            {SECTIONS.map((key) => (
              <button
                key={key}
                type="button"
                class={key === section ? "subtab active" : "subtab"}
                aria-pressed={key === section}
                data-testid={`sysinfo-tab-${key}`}
                onClick={() => setSection(key)}
              >
                {t(SECTION_TITLES[key])}
              </button>
            ))}
          </nav>
          <div class="sysinfo-body" data-testid={`sysinfo-section-${section}`}>
            <SectionView section={section} info={info} />
          </div>
        </>
      )}
    </section>
  );
}

function SectionView({ section, info }: { section: SysinfoSection; info: Sysinfo }) {
  switch (section) {
    case "overview":
      return <Overview info={info} />;
    case "disks":
      return <Disks info={info} />;
    case "network":
      return <Network info={info} />;
    case "users":
      return <Users info={info} />;
    case "processes":
      return <Processes info={info} />;
    case "services":
      return <Services info={info} />;
    case "packages":
      return <Packages info={info} />;
  }
}

function Overview({ info }: { info: Sysinfo }) {
  const { t, language } = useI18n();
  const rows: [string, string, string?][] = [
    [t("sysinfo.hostname"), info.hostname || "—", "sysinfo-hostname"],
    [t("sysinfo.current_user"), info.current_user || "—"],
    [t("sysinfo.os"), info.os.name || "—", "sysinfo-os"],
    [t("sysinfo.os_version"), [info.os.system, info.os.release].filter(Boolean).join(" ") || "—"],
    [t("sysinfo.architecture"), info.os.architecture || "—"],
    [t("sysinfo.uptime"), formatDuration(info.uptime_seconds)],
    [t("sysinfo.booted"), formatDateTime(info.boot_time, language)],
  ];
  const hardware: [string, string][] = [
    [t("sysinfo.cpu"), info.cpu.model || "—"],
    [
      t("sysinfo.cores"),
      t("sysinfo.cores_value", { physical: info.cpu.physical_cores ?? "—", logical: info.cpu.logical_cores ?? "—" }),
    ],
    [t("sysinfo.cpu_usage"), formatPercent(info.cpu.percent, language)],
    [t("sysinfo.load"), info.cpu.load_average.map((n) => formatNumber(n, language, 2)).join(" / ") || "—"],
    [t("sysinfo.memory"), formatBytes(info.memory.total_bytes, language)],
    [t("sysinfo.available"), formatBytes(info.memory.available_bytes, language)],
    [t("sysinfo.swap"), `${formatBytes(info.memory.swap_used_bytes, language)} / ${formatBytes(info.memory.swap_total_bytes, language)}`],
  ];
  return (
    <div class="sysinfo-overview">
      <div>
        <h3>{t("sysinfo.system")}</h3>
        <dl class="details-list details-compact">
          {rows.map(([label, value, testid]) => (
            <div key={label} class="details-row">
              <dt>{label}</dt>
              <dd data-testid={testid}>{value}</dd>
            </div>
          ))}
        </dl>
      </div>
      <div>
        <h3>{t("sysinfo.hardware")}</h3>
        <dl class="details-list details-compact">
          {hardware.map(([label, value]) => (
            <div key={label} class="details-row">
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
        {info.memory.percent !== null && <Meter value={info.memory.percent} label={t("sysinfo.memory_used")} />}
      </div>
    </div>
  );
}

function Meter({ value, label }: { value: number; label: string }) {
  const { language } = useI18n();
  const clamped = Math.max(0, Math.min(100, value));
  const tone = clamped >= 90 ? "meter-bad" : clamped >= 75 ? "meter-warn" : "";
  return (
    <div class="meter-row" title={`${label}: ${formatPercent(value, language)}`}>
      <span class={`meter ${tone}`} role="meter" aria-valuenow={clamped} aria-valuemin={0} aria-valuemax={100} aria-label={label}>
        <span style={{ width: `${clamped}%` }} />
      </span>
      <span class="small muted">{formatPercent(value, language)}</span>
    </div>
  );
}

function Empty({ text }: { text?: string }) {
  const { t } = useI18n();
  return <p class="muted">{text ?? t("sysinfo.none_known")}</p>;
}

function Disks({ info }: { info: Sysinfo }) {
  const { t, language } = useI18n();
  if (!info.disks.length) return <Empty />;
  return (
    <div class="table-scroll">
      <table class="table table-compact">
        <thead>
          <tr>
            <th>{t("sysinfo.mountpoint")}</th>
            <th>{t("sysinfo.device")}</th>
            <th>{t("sysinfo.filesystem")}</th>
            <th>{t("sysinfo.size")}</th>
            <th>{t("sysinfo.free")}</th>
            <th>{t("sysinfo.used")}</th>
          </tr>
        </thead>
        <tbody>
          {info.disks.map((disk) => (
            <tr key={`${disk.device}${disk.mountpoint}`}>
              <td class="mono">{disk.mountpoint}</td>
              <td class="mono">{disk.device}</td>
              <td>{disk.filesystem}</td>
              <td class="nowrap">{formatBytes(disk.total_bytes, language)}</td>
              <td class="nowrap">{formatBytes(disk.free_bytes, language)}</td>
              <td class="meter-cell">{disk.percent !== null ? <Meter value={disk.percent} label={t("sysinfo.used")} /> : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Network({ info }: { info: Sysinfo }) {
  const { t } = useI18n();
  if (!info.network.length) return <Empty />;
  return (
    <div class="table-scroll">
      <table class="table table-compact">
        <thead>
          <tr>
            <th>{t("sysinfo.interface")}</th>
            <th>{t("sysinfo.state")}</th>
            <th>{t("sysinfo.addresses")}</th>
          </tr>
        </thead>
        <tbody>
          {info.network.map((nic) => (
            <tr key={nic.name}>
              <td class="mono strong">{nic.name}</td>
              <td>{nic.up === null ? "—" : nic.up ? t("sysinfo.up") : t("sysinfo.down")}</td>
              <td>
                {nic.addresses.map((address) => (
                  <div key={`${address.family}${address.address}`} class="mono small">
                    <span class="muted">{address.family.replace(/^AF_/, "")}</span> {address.address}
                    {address.netmask && <span class="muted"> / {address.netmask}</span>}
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Users({ info }: { info: Sysinfo }) {
  const { t, language } = useI18n();
  return (
    <>
      <p class="small">
        {t("sysinfo.agent_runs_as")} <strong>{info.current_user || "—"}</strong>
      </p>
      {info.users.length === 0 ? (
        <Empty text={t("sysinfo.no_sessions")} />
      ) : (
        <table class="table table-compact">
          <thead>
            <tr>
              <th>{t("sysinfo.user")}</th>
              <th>{t("sysinfo.terminal")}</th>
              <th>{t("sysinfo.from")}</th>
              <th>{t("sysinfo.since")}</th>
            </tr>
          </thead>
          <tbody>
            {info.users.map((user, index) => (
              <tr key={index}>
                <td class="strong">{user.name}</td>
                <td class="mono">{user.terminal || "—"}</td>
                <td>{user.host || "—"}</td>
                <td class="nowrap">{formatDateTime(user.since, language)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function ProcessTable({ rows }: { rows: Process[] }) {
  const { t, language } = useI18n();
  return (
    <div class="table-scroll">
      <table class="table table-compact">
        <thead>
          <tr>
            <th>PID</th>
            <th>{t("sysinfo.process")}</th>
            <th>{t("sysinfo.user")}</th>
            <th class="num">CPU</th>
            <th class="num">{t("sysinfo.memory")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.pid}>
              <td class="mono muted">{row.pid ?? "—"}</td>
              <td class="mono cell-ellipsis" title={row.name}>
                {row.name}
              </td>
              <td>{row.user || "—"}</td>
              <td class="num nowrap">{formatPercent(row.cpu_percent, language)}</td>
              <td class="num nowrap">{formatBytes(row.rss_bytes, language)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Processes({ info }: { info: Sysinfo }) {
  const { t } = useI18n();
  const [order, setOrder] = useState<"cpu" | "memory">("cpu");
  return (
    <>
      <div class="sysinfo-toolbar">
        <div class="segmented segmented-small" role="tablist" aria-label={t("sysinfo.section.processes")}>
          {(["cpu", "memory"] as const).map((key) => (
            <button
              key={key}
              type="button"
              role="tab"
              aria-selected={order === key}
              class={order === key ? "segment active" : "segment"}
              data-testid={`sysinfo-processes-${key}`}
              onClick={() => setOrder(key)}
            >
              {t(key === "cpu" ? "sysinfo.top_cpu" : "sysinfo.top_memory")}
            </button>
          ))}
        </div>
        {info.processes.total !== null && (
          <span class="small muted">
            {t("sysinfo.process_count")}: <strong>{info.processes.total}</strong>
          </span>
        )}
      </div>
      <ProcessTable rows={order === "cpu" ? info.processes.by_cpu : info.processes.by_memory} />
    </>
  );
}

function FilterBox({ value, onInput, shown, matched }: { value: string; onInput: (value: string) => void; shown: number; matched: number }) {
  const { t } = useI18n();
  return (
    <div class="filter-box">
      <input
        type="search"
        value={value}
        placeholder={t("sysinfo.filter")}
        aria-label={t("sysinfo.filter")}
        onInput={(event) => onInput(event.currentTarget.value)}
      />
      <span class="muted small nowrap">{t("sysinfo.showing", { shown, total: matched })}</span>
    </div>
  );
}

function Services({ info }: { info: Sysinfo }) {
  const { t } = useI18n();
  const [filter, setFilter] = useState("");
  if (!info.services.items.length) return <Empty text={t("sysinfo.no_services")} />;
  const { rows, matched } = filterRows(info.services.items, filter, (s) => `${s.name} ${s.description} ${s.active}`, LONG_LIST_LIMIT);
  return (
    <>
      <FilterBox value={filter} onInput={setFilter} shown={rows.length} matched={matched} />
      <div class="table-scroll table-tall">
        <table class="table table-compact">
          <thead>
            <tr>
              <th>{t("sysinfo.service")}</th>
              <th>{t("sysinfo.state")}</th>
              <th>{t("common.description")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((service) => (
              <tr key={service.name}>
                <td class="mono">{service.name}</td>
                <td class="nowrap">
                  <span class={service.active === "active" ? "state-good" : service.active === "failed" ? "state-bad" : "muted"}>
                    {service.active}
                  </span>
                  <span class="muted"> / {service.sub}</span>
                </td>
                <td>{service.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Packages({ info }: { info: Sysinfo }) {
  const { t } = useI18n();
  const [filter, setFilter] = useState("");
  if (!info.packages.items.length) return <Empty text={t("sysinfo.no_packages")} />;
  const { rows, matched } = filterRows(info.packages.items, filter, (p) => `${p.name} ${p.version}`, LONG_LIST_LIMIT);
  return (
    <>
      <p class="small">
        {t("sysinfo.package_manager", { manager: info.packages.manager ?? "—", count: info.packages.count })}
      </p>
      <FilterBox value={filter} onInput={setFilter} shown={rows.length} matched={matched} />
      <div class="table-scroll table-tall">
        <table class="table table-compact">
          <thead>
            <tr>
              <th>{t("sysinfo.package")}</th>
              <th>{t("sysinfo.version")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((item) => (
              <tr key={item.name}>
                <td class="mono">{item.name}</td>
                <td class="mono muted">{item.version}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
