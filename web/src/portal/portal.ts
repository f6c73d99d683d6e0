/** The customer portal's rules, apart from the page: what the address asks for, what is kept
 * across a reload, which step the session is at. */

import type {
  AgentCommands,
  ChatMessage,
  CustomerSession,
  CustomerStart,
  CustomerStatus,
  Technician,
} from "../api/client";
import type { PortalEvent } from "../api/realtime";

const STORAGE_KEY = "relaydesk.portal.session";

/** Where a portal keeps its session: one entry per portal (the default portal and each
 * organisation's), so that two portals opened in the same browser do not share a session. */
export function storageKey(slug: string | null): string {
  return slug ? `${STORAGE_KEY}:${slug}` : STORAGE_KEY;
}

/** What the portal keeps in localStorage so that a reload, or a closed tab opened again on the
 * same browser, comes back to the live session without the key (never in the address). It is
 * removed when the session ends or the server no longer knows the secret. */
export type StoredStart = {
  token: string;
  key: string;
  technician: Technician | null;
  team_name: string | null;
  commands: AgentCommands;
  /** The portal it was started on (null: the default portal). */
  slug: string | null;
};

export function fromStart(start: CustomerStart, slug: string | null): StoredStart {
  return {
    token: start.customer_token,
    key: start.key,
    technician: start.technician,
    team_name: start.team_name,
    commands: start.commands,
    slug,
  };
}

/** The stored session, or null when there is none or it is not something this page wrote. */
export function parseStored(text: string | null): StoredStart | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<StoredStart> | null;
    if (
      !value ||
      typeof value.token !== "string" ||
      !value.token ||
      typeof value.key !== "string" ||
      typeof value.commands !== "object" ||
      value.commands === null ||
      typeof value.commands.linux_macos !== "string"
    ) {
      return null;
    }
    return {
      token: value.token,
      key: value.key,
      technician: value.technician ?? null,
      team_name: value.team_name ?? null,
      commands: value.commands,
      slug: typeof value.slug === "string" ? value.slug : null,
    };
  } catch {
    return null;
  }
}

export function loadStored(storage: Pick<Storage, "getItem"> | null, slug: string | null): StoredStart | null {
  try {
    const stored = parseStored(storage?.getItem(storageKey(slug)) ?? null);
    return stored && stored.slug === slug ? stored : null;
  } catch {
    return null;
  }
}

export function saveStored(
  storage: Pick<Storage, "setItem" | "removeItem"> | null,
  slug: string | null,
  start: StoredStart | null,
): void {
  try {
    if (!storage) return;
    if (start) storage.setItem(storageKey(slug), JSON.stringify(start));
    else storage.removeItem(storageKey(slug));
  } catch {
    // Storage refused (private mode, quota): the session lasts for this page view.
  }
}

export function browserStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** ?portal=…#key=… from the key's unique link (the key in the fragment, which the browser never
 * sends to a server; ?key=… from older links still works). */
export function entryFromSearch(search: string, hash = ""): { slug: string | null; key: string | null } {
  const params = new URLSearchParams(search);
  const fragment = new URLSearchParams(hash.replace(/^#/, ""));
  const slug = params.get("portal")?.trim() || null;
  const key = fragment.get("key")?.trim() || params.get("key")?.trim() || null;
  return { slug, key };
}

/** The address to show once the key has been used: the portal, without the key (a reload
 * must not enter it again). */
export function addressWithoutKey(slug: string | null): string {
  return slug ? `/?portal=${encodeURIComponent(slug)}` : "/";
}

/** How a typed key is shown while typing: capitals, groups of four joined by dashes. */
export function formatKeyInput(typed: string): string {
  const letters = typed.toUpperCase().replace(/[^A-Z0-9]/g, "");
  if (!letters) return "";
  return (letters.match(/.{1,4}/g) ?? []).join("-").slice(0, 64);
}

export type Platform = "posix" | "windows";

export function detectPlatform(userAgent: string): Platform {
  return /windows/i.test(userAgent) ? "windows" : "posix";
}

export const STEPS = ["start_client", "wait_technician", "in_session", "ended"] as const;
export type Step = (typeof STEPS)[number];

export function stepOf(status: CustomerStatus): Step {
  switch (status) {
    case "waiting_for_agent":
      return "start_client";
    case "waiting":
    case "held":
      return "wait_technician";
    case "active":
      return "in_session";
    case "ended":
      return "ended";
  }
}

/** The session as the portal page knows it, from the snapshots and messages it receives. */
export type PortalView = {
  status: CustomerStatus;
  technician: Technician | null;
  chat: ChatMessage[];
  chat_enabled: boolean;
  screen_state: CustomerSession["screen_state"];
  screen_requested: CustomerSession["screen_requested"];
  /** Who asked for the screen, when the request named him. */
  screen_asked_by: string | null;
  /** A request to install a permanent client waiting for the answer (from the snapshots). */
  jump_client_request_id: number | null;
  jump_client_technician: string;
};

export function viewOf(session: CustomerSession): PortalView {
  return {
    ...session,
    chat: [...session.chat],
    screen_asked_by: null,
    jump_client_request_id: null,
    jump_client_technician: "",
  };
}

export function mergeMessage(chat: readonly ChatMessage[], message: ChatMessage): ChatMessage[] {
  if (chat.some((known) => known.id === message.id)) return chat as ChatMessage[];
  return [...chat, message].sort((a, b) => a.id - b.id);
}

/** The view after the whole session was fetched again: its chat merged with what was already
 * here, the name of whoever asked for the screen kept. */
export function refreshed(before: PortalView | null, session: CustomerSession): PortalView {
  const fresh = viewOf(session);
  if (!before) return fresh;
  return {
    ...fresh,
    chat: session.chat.reduce(mergeMessage, before.chat),
    screen_asked_by: fresh.screen_requested ? before.screen_asked_by : null,
    jump_client_request_id: before.jump_client_request_id,
    jump_client_technician: before.jump_client_technician,
  };
}

/** Applies one portal WebSocket event to the view (the events' types are generated from the
 * server's models, src/api/events.d.ts); an error changes nothing here. */
export function applyFrame(view: PortalView, event: PortalEvent): PortalView {
  switch (event.type) {
    case "snapshot":
      return {
        ...view,
        status: event.status,
        technician: event.technician ?? view.technician,
        chat: event.chat.reduce(mergeMessage, view.chat),
        chat_enabled: event.chat_enabled,
        jump_client_request_id: event.jump_client_request_id ?? null,
        jump_client_technician: event.jump_client_technician ?? "",
      };
    case "chat": {
      const { type: _type, ...message } = event;
      return { ...view, chat: mergeMessage(view.chat, message) };
    }
    case "screen": {
      const asked = event.technician || null;
      return {
        ...view,
        screen_state: event.state,
        screen_requested: event.requested,
        screen_asked_by: asked ?? (event.requested ? view.screen_asked_by : null),
      };
    }
    case "tool":
    case "error":
      return view;
  }
}

export function isOpen(status: CustomerStatus): boolean {
  return status === "waiting" || status === "active" || status === "held";
}
