/** The system information snapshot an agent sends (TOOL-5), read defensively: whatever an
 * agent leaves out or gets wrong shows as "—" rather than breaking the panel. */

import type { Language, Translate } from "../i18n";
import { fileSafe, formatBytes, formatDuration, formatNumber, formatPercent } from "../shared/text";

export type Disk = {
  device: string;
  mountpoint: string;
  filesystem: string;
  total_bytes: number | null;
  used_bytes: number | null;
  free_bytes: number | null;
  percent: number | null;
};

export type NetworkInterface = {
  name: string;
  up: boolean | null;
  addresses: { family: string; address: string; netmask: string }[];
};

export type LoggedInUser = { name: string; terminal: string; host: string; since: string };

export type Process = {
  pid: number | null;
  name: string;
  user: string;
  cpu_percent: number | null;
  rss_bytes: number | null;
};

export type Service = { name: string; load: string; active: string; sub: string; description: string };

export type Package = { name: string; version: string };

export type Sysinfo = {
  collected_at: string;
  hostname: string;
  current_user: string;
  os: { name: string; system: string; release: string; version: string; architecture: string };
  uptime_seconds: number | null;
  boot_time: string;
  cpu: {
    model: string;
    physical_cores: number | null;
    logical_cores: number | null;
    percent: number | null;
    load_average: number[];
  };
  memory: {
    total_bytes: number | null;
    available_bytes: number | null;
    percent: number | null;
    swap_total_bytes: number | null;
    swap_used_bytes: number | null;
  };
  disks: Disk[];
  network: NetworkInterface[];
  users: LoggedInUser[];
  processes: { by_cpu: Process[]; by_memory: Process[]; total: number | null };
  services: { manager: string | null; items: Service[] };
  packages: { manager: string | null; count: number; items: Package[] };
};

type Raw = Record<string, unknown>;

function record(value: unknown): Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Raw) : {};
}

function list(value: unknown): Raw[] {
  return Array.isArray(value) ? value.map(record) : [];
}

function str(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return "";
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function process(raw: Raw): Process {
  return {
    pid: num(raw.pid),
    name: str(raw.name),
    user: str(raw.user),
    cpu_percent: num(raw.cpu_percent),
    rss_bytes: num(raw.rss_bytes),
  };
}

export function readSysinfo(value: unknown): Sysinfo {
  const raw = record(value);
  const os = record(raw.os);
  const cpu = record(raw.cpu);
  const memory = record(raw.memory);
  const processes = record(raw.processes);
  const services = record(raw.services);
  const packages = record(raw.packages);
  const countRows = list(processes.count);
  const packageItems = list(packages.items).map((item) => ({ name: str(item.name), version: str(item.version) }));
  return {
    collected_at: str(raw.collected_at),
    hostname: str(raw.hostname),
    current_user: str(raw.current_user),
    os: {
      name: str(os.name),
      system: str(os.system),
      release: str(os.release),
      version: str(os.version),
      architecture: str(os.architecture),
    },
    uptime_seconds: num(raw.uptime_seconds),
    boot_time: str(raw.boot_time),
    cpu: {
      model: str(cpu.model),
      physical_cores: num(cpu.physical_cores),
      logical_cores: num(cpu.logical_cores),
      percent: num(cpu.percent),
      load_average: Array.isArray(cpu.load_average)
        ? cpu.load_average.map(num).filter((n): n is number => n !== null)
        : [],
    },
    memory: {
      total_bytes: num(memory.total_bytes),
      available_bytes: num(memory.available_bytes),
      percent: num(memory.percent),
      swap_total_bytes: num(memory.swap_total_bytes),
      swap_used_bytes: num(memory.swap_used_bytes),
    },
    disks: list(raw.disks).map((disk) => ({
      device: str(disk.device),
      mountpoint: str(disk.mountpoint),
      filesystem: str(disk.filesystem),
      total_bytes: num(disk.total_bytes),
      used_bytes: num(disk.used_bytes),
      free_bytes: num(disk.free_bytes),
      percent: num(disk.percent),
    })),
    network: list(raw.network).map((nic) => ({
      name: str(nic.name),
      up: typeof nic.up === "boolean" ? nic.up : null,
      addresses: list(nic.addresses).map((address) => ({
        family: str(address.family),
        address: str(address.address),
        netmask: str(address.netmask),
      })),
    })),
    users: list(raw.users).map((user) => ({
      name: str(user.name),
      terminal: str(user.terminal),
      host: str(user.host),
      since: str(user.since),
    })),
    processes: {
      by_cpu: list(processes.by_cpu).map(process),
      by_memory: list(processes.by_memory).map(process),
      total: countRows.length ? num(countRows[0]?.total) : num(processes.total),
    },
    services: {
      manager: str(services.manager) || null,
      items: list(services.items).map((item) => ({
        name: str(item.name),
        load: str(item.load),
        active: str(item.active),
        sub: str(item.sub),
        description: str(item.description),
      })),
    },
    packages: {
      manager: str(packages.manager) || null,
      count: num(packages.count) ?? packageItems.length,
      items: packageItems,
    },
  };
}

export const SECTIONS = ["overview", "disks", "network", "users", "processes", "services", "packages"] as const;
export type SysinfoSection = (typeof SECTIONS)[number];

/** Items whose text contains the filter (case-insensitive), at most `limit` of them. */
export function filterRows<T>(items: readonly T[], filter: string, text: (item: T) => string, limit: number): { rows: T[]; matched: number } {
  const needle = filter.trim().toLowerCase();
  const matched = needle ? items.filter((item) => text(item).toLowerCase().includes(needle)) : [...items];
  return { rows: matched.slice(0, limit), matched: matched.length };
}


function dash(text: string): string {
  return text || "—";
}

/** The whole snapshot as plain text, for the clipboard and the .txt file. */
export function sysinfoText(info: Sysinfo, t: Translate, language: Language): string {
  const out: string[] = [];
  const heading = (title: string) => {
    if (out.length) out.push("");
    out.push(title, "=".repeat(title.length));
  };
  const line = (label: string, value: string) => out.push(`${label}: ${value}`);

  out.push(t("sysinfo.text_title", { host: dash(info.hostname) }));
  line(t("sysinfo.collected_at"), dash(info.collected_at));

  heading(t("sysinfo.section.overview"));
  line(t("sysinfo.hostname"), dash(info.hostname));
  line(t("sysinfo.current_user"), dash(info.current_user));
  line(t("sysinfo.os"), dash(info.os.name));
  line(t("sysinfo.os_version"), [info.os.system, info.os.release, info.os.version].filter(Boolean).join(" ") || "—");
  line(t("sysinfo.architecture"), dash(info.os.architecture));
  line(t("sysinfo.uptime"), formatDuration(info.uptime_seconds));
  line(t("sysinfo.cpu"), dash(info.cpu.model));
  line(
    t("sysinfo.cores"),
    t("sysinfo.cores_value", {
      physical: info.cpu.physical_cores ?? "—",
      logical: info.cpu.logical_cores ?? "—",
    }),
  );
  line(t("sysinfo.cpu_usage"), formatPercent(info.cpu.percent, language));
  line(t("sysinfo.load"), info.cpu.load_average.map((n) => formatNumber(n, language, 2)).join(" / ") || "—");
  line(t("sysinfo.memory"), `${formatBytes(info.memory.total_bytes, language)} (${t("sysinfo.available")}: ${formatBytes(info.memory.available_bytes, language)})`);
  line(t("sysinfo.swap"), `${formatBytes(info.memory.swap_used_bytes, language)} / ${formatBytes(info.memory.swap_total_bytes, language)}`);

  heading(t("sysinfo.section.disks"));
  for (const disk of info.disks) {
    out.push(
      `${dash(disk.mountpoint)}  ${dash(disk.device)}  ${dash(disk.filesystem)}  ` +
        `${formatBytes(disk.used_bytes, language)} / ${formatBytes(disk.total_bytes, language)} (${formatPercent(disk.percent, language)})`,
    );
  }
  if (!info.disks.length) out.push("—");

  heading(t("sysinfo.section.network"));
  for (const nic of info.network) {
    const state = nic.up === null ? "" : nic.up ? ` (${t("sysinfo.up")})` : ` (${t("sysinfo.down")})`;
    out.push(`${dash(nic.name)}${state}`);
    for (const address of nic.addresses) {
      out.push(`  ${address.family} ${address.address}${address.netmask ? ` / ${address.netmask}` : ""}`);
    }
  }
  if (!info.network.length) out.push("—");

  heading(t("sysinfo.section.users"));
  for (const user of info.users) {
    out.push(`${dash(user.name)}  ${dash(user.terminal)}  ${dash(user.host)}  ${dash(user.since)}`);
  }
  if (!info.users.length) out.push("—");

  heading(t("sysinfo.section.processes"));
  if (info.processes.total !== null) line(t("sysinfo.process_count"), String(info.processes.total));
  out.push(`${t("sysinfo.top_cpu")}:`);
  for (const p of info.processes.by_cpu) {
    out.push(`  ${p.pid ?? "—"}  ${dash(p.name)}  ${dash(p.user)}  ${formatPercent(p.cpu_percent, language)}  ${formatBytes(p.rss_bytes, language)}`);
  }
  out.push(`${t("sysinfo.top_memory")}:`);
  for (const p of info.processes.by_memory) {
    out.push(`  ${p.pid ?? "—"}  ${dash(p.name)}  ${dash(p.user)}  ${formatPercent(p.cpu_percent, language)}  ${formatBytes(p.rss_bytes, language)}`);
  }

  heading(t("sysinfo.section.services"));
  if (info.services.manager) line(t("sysinfo.manager"), info.services.manager);
  for (const service of info.services.items) {
    out.push(`${service.name}  ${service.active}/${service.sub}  ${service.description}`.trimEnd());
  }
  if (!info.services.items.length) out.push(t("sysinfo.none_known"));

  heading(t("sysinfo.section.packages"));
  if (info.packages.manager) line(t("sysinfo.manager"), `${info.packages.manager} (${info.packages.count})`);
  for (const item of info.packages.items) out.push(`${item.name} ${item.version}`.trimEnd());
  if (!info.packages.items.length) out.push(t("sysinfo.none_known"));

  return `${out.join("\n")}\n`;
}

/** "sysinfo-host-2024-05-01T10-00-00" (no extension). */
export function sysinfoFileName(info: Sysinfo): string {
  const when = (info.collected_at || new Date().toISOString()).slice(0, 19).replace(/:/g, "-");
  return `sysinfo-${fileSafe(info.hostname || "device")}-${fileSafe(when)}`;
}
