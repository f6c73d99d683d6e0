/** Session reports (GOV-8) as the admin area shows and exports them. */

import type { SessionEvent, SessionReport, SupportSession } from "../api/client";
import type { MessageKey, Translate } from "../i18n";
import { secondsBetween } from "../shared/text";
import { auditDetailLines } from "./auditLabels";

/** When the support itself started: acceptance, else the session's creation. */
export function startedAt(session: SupportSession): string {
  return session.accepted_at ?? session.created_at;
}

/** Seconds from start to end; null while the session is open. */
export function durationOf(session: SupportSession): number | null {
  return secondsBetween(startedAt(session), session.ended_at);
}

export const EVENT_LABELS: Record<string, MessageKey> = {
  "agent.connected": "reports.event.agent_connected",
  "agent.reconnected": "reports.event.agent_reconnected",
  "agent.disconnected": "reports.event.agent_disconnected",
  "agent.removed": "reports.event.agent_removed",
  "session.accepted": "reports.event.session_accepted",
  "session.held": "reports.event.session_held",
  "session.ended": "reports.event.session_ended",
  chat: "reports.event.chat",
  "sysinfo.viewed": "reports.event.sysinfo_viewed",
  "screen.requested": "reports.event.screen_requested",
  "screen.granted": "reports.event.screen_granted",
  "screen.denied": "reports.event.screen_denied",
  "screen.control_revoked": "reports.event.screen_control_revoked",
  "screen.control_released": "reports.event.screen_control_released",
  "screen.stopped": "reports.event.screen_stopped",
  "tunnel.opened": "reports.event.tunnel_opened",
  "shell.opened": "reports.event.shell_opened",
  "shell.recorded": "reports.event.shell_recorded",
  "files.opened": "reports.event.files_opened",
  "file.uploaded": "reports.event.file_uploaded",
  "file.downloaded": "reports.event.file_downloaded",
  "file.folder_created": "reports.event.file_folder_created",
  "file.renamed": "reports.event.file_renamed",
  "file.deleted": "reports.event.file_deleted",
  "jump.started": "reports.event.jump_started",
  "jump.allowed": "reports.event.jump_allowed",
  "jump.denied": "reports.event.jump_denied",
  "jump.schedule_overridden": "reports.event.jump_schedule_overridden",
  "jump.desktop": "reports.event.jump_desktop",
  "jump_client.requested": "reports.event.jump_client_requested",
  "jump_client.consented": "reports.event.jump_client_consented",
  "jump_client.denied": "reports.event.jump_client_denied",
  "jump_client.installed": "reports.event.jump_client_installed",
  "jump_client.failed": "reports.event.jump_client_failed",
};

/** The catalogue key naming an event, or null for kinds this app does not know yet. */
export function eventLabel(kind: string): MessageKey | null {
  return EVENT_LABELS[kind] ?? null;
}

/** Details worth a glance, in the reader's words ("Modus: steuern, Adresse: 192.0.2.1"),
 * without noise; the customer's name stands for "customer" when known. */
export function eventDetails(event: SessionEvent, t: Translate, customer = ""): string {
  const shown = Object.fromEntries(
    Object.entries(event.details).filter(([, value]) => value !== null && value !== undefined && value !== ""),
  );
  return auditDetailLines(shown, t, customer).join(", ");
}

/** One CSV field (RFC 4180), defused against spreadsheet formulas. */
export function csvField(value: unknown): string {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

export const REPORT_COLUMNS = [
  "id",
  "status",
  "technician",
  "customer",
  "device",
  "os",
  "device_user",
  "issue",
  "created_at",
  "started_at",
  "ended_at",
  "duration_seconds",
  "ended_by",
] as const;

export function reportRow(session: SupportSession): unknown[] {
  return [
    session.id,
    session.status,
    session.owner_name ?? "",
    session.customer_name,
    session.device.hostname,
    [session.device.os, session.device.os_version].filter(Boolean).join(" "),
    session.device.username,
    session.issue_description,
    session.created_at,
    startedAt(session),
    session.ended_at ?? "",
    durationOf(session) ?? "",
    session.ended_by,
  ];
}

export function reportsCsv(sessions: readonly SupportSession[]): string {
  return toCsv(REPORT_COLUMNS, sessions.map(reportRow));
}

/** One session's report as CSV: the summary, then the timeline, then the chat. */
export function reportCsv(report: SessionReport): string {
  const parts = [
    toCsv(REPORT_COLUMNS, [reportRow(report.session)]),
    toCsv(["event_at", "event", "by", "details"], report.events.map((e) => [e.at, e.kind, e.actor_label, JSON.stringify(e.details)])),
    toCsv(["chat_at", "sender", "name", "text"], report.chat.map((m) => [m.at, m.sender, m.sender_name, m.text])),
  ];
  return parts.join("\r\n");
}
