/** The audit log in the reader's words: actions as sentences, details as "label: value" words.
 * Exports keep the raw codes; this is only for the screen. */
import { isMessageKey, type Translate } from "../i18n";

/** The action as a sentence in the reader's language; an action this web app does not know
 * (a newer server) shows its code. */
export function auditActionLabel(action: string, t: Translate): string {
  const key = `audit.action.${action}`;
  return isMessageKey(key) ? t(key) : action;
}

/** One detail's label: the catalogue's word when there is one, else the code with spaces. */
export function auditDetailLabel(name: string, t: Translate): string {
  const key = `audit.detail.${name}`;
  return isMessageKey(key) ? t(key) : name.replace(/_/g, " ");
}

function detailValue(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** The details as "label: value" pairs in the reader's words, in the server's order. */
export function auditDetailLines(details: Record<string, unknown>, t: Translate): string[] {
  return Object.entries(details).map(([name, value]) => `${auditDetailLabel(name, t)}: ${detailValue(value)}`);
}
