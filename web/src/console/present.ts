/** How a session is named and described in the console. */

import type { Queue, SupportSession } from "../api/client";
import type { Translate } from "../i18n";

/** The customer's name and the technician's reference ("Ada Lovelace · T-1234"); without a
 * name, "Customer on laptop-42" — never the OS login the agent runs under. */
export function customerName(session: SupportSession, t: Translate): string {
  if (session.kind === "jump") return t("jump.session_title", { host: session.device.hostname });
  const name = session.customer_name.trim() || t("session.unnamed_customer", { host: session.device.hostname });
  return [name, session.reference.trim()].filter(Boolean).join(" · ");
}

/** The portal issue form's issue, in one line ("Printer · It jams on page 2"), or "". */
export function issueLine(session: SupportSession): string {
  return [session.issue_type_name, session.issue_description.trim()].filter(Boolean).join(" · ");
}

/** "laptop-42 · Ubuntu 24.04" */
export function deviceLabel(session: SupportSession): string {
  const device = session.device;
  // Agents send the OS's own name with its version ("Debian GNU/Linux 12 (bookworm)"); older
  // ones a kernel name and build string, whose first word is enough here.
  const version = device.os_version.split(/\s+/)[0] ?? "";
  const os = device.os.includes(version) ? device.os : [device.os, version].filter(Boolean).join(" ");
  return [device.hostname, os].filter(Boolean).join(" · ");
}

/** How long a session has waited, in words ("just now", "5 min", "2 h 10 min"). */
export function waited(since: string, now: number, t: Translate): string {
  const start = Date.parse(since);
  if (Number.isNaN(start)) return "—";
  const minutes = Math.max(0, Math.floor((now - start) / 60_000));
  if (minutes < 1) return t("queue.just_now");
  if (minutes < 60) return t("queue.minutes", { n: minutes });
  const hours = Math.floor(minutes / 60);
  return t("queue.hours", { h: hours, m: minutes % 60 });
}

/** Which queue a waiting session sits in, in words. */
export function queueName(session: SupportSession, queue: Queue | null, t: Translate): string {
  if (session.queue_team_id !== null) {
    const team = queue?.teams.find((item) => item.team_id === session.queue_team_id);
    return t("queue.team_queue", { team: team?.team_name || `#${session.queue_team_id}` });
  }
  return t("queue.personal");
}
