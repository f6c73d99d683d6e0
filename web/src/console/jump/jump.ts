/** Jumping to an installed device (UNA-6, UNA-8), the parts without a page: whether the
 * technician may jump at all, and the next allowed time in the reader's words. */

import type { Me } from "../../api/client";
import type { MessageKey } from "../../i18n";

/** Why the Jump action is greyed out for this technician, or null when it is not: the
 * organisation's switch first, then his roles (the server checks both again, and the scope). */
export function jumpBlocked(me: Pick<Me, "permissions" | "unattended_access_enabled">): MessageKey | null {
  if (!me.unattended_access_enabled) return "jump.off";
  if (!me.permissions.includes("unattended_access")) return "jump.no_permission";
  return null;
}

const LOCALES = { en: "en-GB", fr: "fr-FR", de: "de-DE" } as const;

/** "Monday 7 December, 08:00 CET": the moment in the schedule's time zone, in the reader's
 * language; the zone's name follows when the browser has no short name for it. */
export function nextAllowedText(iso: string, timeZone: string, language: keyof typeof LOCALES): string {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return iso;
  try {
    const text = new Intl.DateTimeFormat(LOCALES[language], {
      weekday: "long",
      day: "numeric",
      month: "long",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZone: timeZone || "UTC",
    }).format(moment);
    return `${text} (${timeZone || "UTC"})`;
  } catch {
    return moment.toISOString();
  }
}
