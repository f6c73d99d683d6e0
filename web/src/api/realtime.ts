/** The realtime events the console's and the portal page's WebSockets push: the types are
 * generated from the server's models (events.d.ts, `npm run gen:events`); here, which `type`s
 * each page handles, and the guard that turns a parsed frame into one of them. */

import type { ConsoleEvent, PortalEvent } from "./events";

export type { ConsoleEvent, PortalEvent } from "./events";
export type ConsoleEventOf<T extends ConsoleEvent["type"]> = Extract<ConsoleEvent, { type: T }>;
export type PortalEventOf<T extends PortalEvent["type"]> = Extract<PortalEvent, { type: T }>;

/** Every console event type, once: the compiler refuses a type missing here or one the server
 * does not send (tests/unit/test_realtime_events.py compares it with the models too). */
export const CONSOLE_EVENT_TYPES: Record<ConsoleEvent["type"], true> = {
  queue: true,
  notification: true,
  "session.chat": true,
  "organisation.chat": true,
  "session.updated": true,
  "session.sysinfo": true,
  "session.screen": true,
  "device.online": true,
  "device.changed": true,
  "adhoc.changed": true,
};

/** Every portal page event type, once (same rules). */
export const PORTAL_EVENT_TYPES: Record<PortalEvent["type"], true> = {
  snapshot: true,
  chat: true,
  screen: true,
  tool: true,
  error: true,
};

/** A frame as a console event, or null for a type the console does not know (a newer server). */
export function asConsoleEvent(frame: { type: string }): ConsoleEvent | null {
  return Object.hasOwn(CONSOLE_EVENT_TYPES, frame.type) ? (frame as ConsoleEvent) : null;
}

/** A frame as a portal page event, or null for a type the page does not know. */
export function asPortalEvent(frame: { type: string }): PortalEvent | null {
  return Object.hasOwn(PORTAL_EVENT_TYPES, frame.type) ? (frame as PortalEvent) : null;
}
