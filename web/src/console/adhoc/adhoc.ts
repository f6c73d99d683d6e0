/** Ad hoc sessions in the console's words (ADH-1 … ADH-7): the steps of the progress and which
 * actions each state allows. Pure, so it is tested without a browser. */

import type { components } from "../../api/schema";
import type { MessageKey } from "../../i18n";

export type AdHocSession = components["schemas"]["AdHocSessionOut"];
export type AdHocPrepared = components["schemas"]["AdHocPreparedOut"];
export type AdHocReport = components["schemas"]["AdHocReportOut"];
export type AdHocState = AdHocSession["state"];

/** The steps the Ad hoc page shows, in order; a session is at one of them (or over). */
export const STEPS: readonly AdHocState[] = [
  "prepared",
  "link_opened",
  "host_installed",
  "waiting_for_code",
  "activated",
];

export const STATE_LABELS: Record<AdHocState, MessageKey> = {
  prepared: "adhoc.state.prepared",
  emailed: "adhoc.state.emailed",
  link_opened: "adhoc.state.link_opened",
  host_installed: "adhoc.state.host_installed",
  waiting_for_code: "adhoc.state.waiting_for_code",
  activated: "adhoc.state.activated",
  ended: "adhoc.state.ended",
  expired: "adhoc.state.expired",
};

/** Where the session stands on the steps: the index of its step (emailed counts as prepared);
 * -1 once it is over. */
export function stepOf(state: AdHocState): number {
  if (state === "ended" || state === "expired") return -1;
  return STEPS.indexOf(state === "emailed" ? "prepared" : state);
}

export function isOpen(state: AdHocState): boolean {
  return state !== "ended" && state !== "expired";
}

/** What the technician may do now. */
export function actionsOf(session: AdHocSession): { newCode: boolean; connect: boolean; end: boolean } {
  const open = isOpen(session.state);
  return {
    newCode: open && session.state !== "activated",
    connect: session.state === "activated",
    end: open,
  };
}
