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

/** Who did something, as the server labels the parties ("customer", "system"): the customer's
 * name when known, else the word in the reader's language; a person's label stays as written. */
export function partyLabel(label: string, t: Translate, customer = ""): string {
  // "Customer" is the name the server gives the chat's sender when the customer gave none.
  if (label === "customer" || label === "Customer") return customer || t("audit.party.customer");
  if (label === "technician") return t("audit.party.technician");
  if (label === "system") return t("audit.party.system");
  return label;
}

/** The server writes an ending's reason as an English sentence (support_sessions.py); the two it
 * writes are said again in the reader's language, any other stays as written. */
function reasonWords(reason: string, t: Translate): string {
  if (reason === "The customer ended the support session.") return t("audit.value.reason.customer_ended");
  const technician = /^(.+) ended the support session\.$/.exec(reason);
  return technician ? t("audit.value.reason.technician_ended", { name: technician[1] ?? "" }) : reason;
}

/** A detail's value in words: parties and screen modes from the catalogue, the rest as written. */
export function detailValue(name: string, value: unknown, t: Translate, customer = ""): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return t(value ? "audit.value.yes" : "audit.value.no");
  if (typeof value === "string") {
    if (name === "sender" || name === "by") return partyLabel(value, t, customer);
    if (name === "reason") return reasonWords(value, t);
    const key = `audit.value.${name}.${value}`;
    return isMessageKey(key) ? t(key) : value;
  }
  if (typeof value === "number") return String(value);
  return JSON.stringify(value);
}

/** The details as "label: value" pairs in the reader's words, in the server's order. */
export function auditDetailLines(details: Record<string, unknown>, t: Translate, customer = ""): string[] {
  return Object.entries(details).map(
    ([name, value]) => `${auditDetailLabel(name, t)}: ${detailValue(name, value, t, customer)}`,
  );
}
