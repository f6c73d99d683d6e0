/** Audit log filters as the API wants them. */

export type AuditFilters = {
  /** A user id, or "" for everyone. */
  actorId: string;
  action: string;
  /** Calendar days (YYYY-MM-DD) in the browser's time zone, both included; "" for open. */
  since: string;
  until: string;
};

export const NO_FILTERS: AuditFilters = { actorId: "", action: "", since: "", until: "" };

export type AuditQuery = {
  actor_id?: number;
  action?: string;
  since?: string;
  until?: string;
};

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Local midnight at the start of a day, as an ISO instant with zone; null if not a day. */
export function startOfDay(day: string): string | null {
  if (!DAY.test(day)) return null;
  const date = new Date(`${day}T00:00:00`);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Local midnight at the end of a day (the next day's start), so that `until` includes the day. */
export function endOfDay(day: string): string | null {
  if (!DAY.test(day)) return null;
  const date = new Date(`${day}T00:00:00`);
  if (Number.isNaN(date.getTime())) return null;
  date.setDate(date.getDate() + 1);
  return date.toISOString();
}

export function auditQuery(filters: AuditFilters): AuditQuery {
  const query: AuditQuery = {};
  const actor = Number(filters.actorId);
  if (filters.actorId && Number.isInteger(actor) && actor > 0) query.actor_id = actor;
  if (filters.action.trim()) query.action = filters.action.trim();
  const since = startOfDay(filters.since);
  if (since) query.since = since;
  const until = endOfDay(filters.until);
  if (until) query.until = until;
  return query;
}

export function exportUrl(format: "csv" | "json", filters: AuditFilters): string {
  const params = new URLSearchParams({ format });
  for (const [key, value] of Object.entries(auditQuery(filters))) params.set(key, String(value));
  return `/api/v1/audit/export?${params.toString()}`;
}
