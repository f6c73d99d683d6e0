/** The console's state as one pure reducer: the queues, the open session tabs with their chat,
 * unread counters and system information, arrival notifications and the live connection.
 * Everything the server pushes, and everything the technician does, is an action here. */

import type {
  ChatMessage,
  Queue,
  ScreenState,
  SessionDetail,
  SupportSession,
} from "../api/client";
import type { SocketState } from "../shared/socket";
import type { ConsoleEvent, ConsoleEventOf } from "../api/realtime";

export type SysinfoState = {
  /** idle: never asked; waiting: asked, no answer yet; ready: a snapshot is here. */
  status: "idle" | "waiting" | "ready";
  requestId: string | null;
  info: Record<string, unknown> | null;
  receivedAt: string | null;
};

export type OpenSession = {
  session: SupportSession;
  chat: ChatMessage[];
  chatEnabled: boolean;
  unread: number;
  /** Whether the device's agent is connected; null until the server says. */
  online: boolean | null;
  sysinfo: SysinfoState;
};

export type Toast = { id: number; session: SupportSession };

export type ConsoleState = {
  queue: Queue | null;
  tabs: OpenSession[];
  front: number | null;
  /** The tab that was in front before a reload: it comes back to the front when it reopens. */
  preferred: number | null;
  /** The waiting session whose details the queues page shows. */
  selected: number | null;
  /** Whether the sessions page is on screen (else every new message is unread). */
  viewingSessions: boolean;
  toasts: Toast[];
  nextToastId: number;
  connection: SocketState;
};

export const MAX_TOASTS = 4;

export const NO_SYSINFO: SysinfoState = { status: "idle", requestId: null, info: null, receivedAt: null };

export function initialState(preferred: number | null = null): ConsoleState {
  return {
    queue: null,
    tabs: [],
    front: null,
    preferred,
    selected: null,
    viewingSessions: false,
    toasts: [],
    nextToastId: 1,
    connection: "connecting",
  };
}

export type Action =
  | { type: "connection"; state: SocketState }
  | { type: "queue"; queue: Queue }
  | { type: "arrived"; session: SupportSession }
  | { type: "dismiss"; toastId: number }
  | { type: "select"; sessionId: number | null }
  | { type: "open"; detail: SessionDetail; focus: boolean }
  | { type: "detail"; detail: SessionDetail }
  | { type: "session"; session: SupportSession }
  | { type: "close"; sessionId: number }
  | { type: "focus"; sessionId: number }
  | { type: "viewing"; sessions: boolean }
  | { type: "chat"; message: ChatMessage }
  | { type: "online"; sessionId: number; online: boolean }
  | { type: "chat-switch"; enabled: boolean }
  | { type: "sysinfo-requested"; sessionId: number; requestId: string }
  | { type: "sysinfo-failed"; sessionId: number }
  | { type: "sysinfo"; sessionId: number; requestId: string; info: Record<string, unknown>; at: string }
  | { type: "screen"; sessionId: number; state: ScreenState; requested: SupportSession["screen_requested"] }
  /** A device came online, went offline or changed: the device list follows it (devices/). */
  | { type: "device"; event: ConsoleEventOf<"device.online"> | ConsoleEventOf<"device.changed"> }
  | { type: "adhoc"; event: ConsoleEventOf<"adhoc.changed"> };

/** Adds a message to a chat history once (the sender's own copy comes back on the socket),
 * kept in the server's order. */
export function mergeChat(chat: readonly ChatMessage[], message: ChatMessage): ChatMessage[] {
  if (chat.some((known) => known.id === message.id)) return chat as ChatMessage[];
  const merged = [...chat, message];
  merged.sort((a, b) => a.id - b.id);
  return merged;
}

function mergeAll(chat: readonly ChatMessage[], messages: readonly ChatMessage[]): ChatMessage[] {
  return messages.reduce<ChatMessage[]>((all, message) => mergeChat(all, message), [...chat]);
}

/** Every session waiting in a queue this technician sees. */
export function waitingSessions(queue: Queue | null): SupportSession[] {
  if (!queue) return [];
  return [...queue.personal, ...queue.teams.flatMap((team) => team.sessions)];
}

export function findWaiting(queue: Queue | null, sessionId: number | null): SupportSession | null {
  if (sessionId === null) return null;
  return waitingSessions(queue).find((session) => session.id === sessionId) ?? null;
}

/** Which open sessions to fetch after a queue change: the technician's active sessions that
 * have no tab yet (accepted elsewhere, or after a reload), and tabs whose session left his
 * active list (ended, held) and must be looked at again. */
export function tabsToSync(state: ConsoleState, queue: Queue): { open: number[]; refresh: number[] } {
  const mine = new Set(queue.mine.map((session) => session.id));
  const tabs = new Set(state.tabs.map((tab) => tab.session.id));
  return {
    open: queue.mine.filter((session) => !tabs.has(session.id)).map((session) => session.id),
    refresh: state.tabs
      .filter((tab) => tab.session.status === "active" && !mine.has(tab.session.id))
      .map((tab) => tab.session.id),
  };
}

export function unreadTotal(state: ConsoleState): number {
  return state.tabs.reduce((sum, tab) => sum + tab.unread, 0);
}

function updateTab(
  state: ConsoleState,
  sessionId: number,
  change: (tab: OpenSession) => OpenSession,
): ConsoleState {
  let touched = false;
  const tabs = state.tabs.map((tab) => {
    if (tab.session.id !== sessionId) return tab;
    touched = true;
    return change(tab);
  });
  return touched ? { ...state, tabs } : state;
}

function inFront(state: ConsoleState, sessionId: number): boolean {
  return state.viewingSessions && state.front === sessionId;
}

function withDetail(tab: OpenSession, detail: SessionDetail): OpenSession {
  return {
    ...tab,
    session: detail.session,
    chat: mergeAll(tab.chat, detail.chat),
    chatEnabled: detail.chat_enabled,
    online: detail.agent_connected,
  };
}

export function reduce(state: ConsoleState, action: Action): ConsoleState {
  switch (action.type) {
    case "connection": {
      if (state.connection === action.state) return state;
      // Without the socket nobody tells us about the agents: their state is unknown until the
      // tabs are read again after the reconnection.
      const tabs = action.state === "open" ? state.tabs : state.tabs.map((tab) => ({ ...tab, online: null }));
      return { ...state, connection: action.state, tabs };
    }

    case "queue": {
      const waiting = new Set(waitingSessions(action.queue).map((session) => session.id));
      const mine = new Map(action.queue.mine.map((session) => [session.id, session]));
      return {
        ...state,
        queue: action.queue,
        selected: state.selected !== null && waiting.has(state.selected) ? state.selected : null,
        toasts: state.toasts.filter((toast) => waiting.has(toast.session.id)),
        tabs: state.tabs.map((tab) => {
          const fresh = mine.get(tab.session.id);
          return fresh ? { ...tab, session: fresh } : tab;
        }),
      };
    }

    case "arrived": {
      if (state.toasts.some((toast) => toast.session.id === action.session.id)) return state;
      const toast = { id: state.nextToastId, session: action.session };
      return {
        ...state,
        toasts: [...state.toasts, toast].slice(-MAX_TOASTS),
        nextToastId: state.nextToastId + 1,
      };
    }

    case "dismiss":
      return { ...state, toasts: state.toasts.filter((toast) => toast.id !== action.toastId) };

    case "select":
      return {
        ...state,
        selected: action.sessionId,
        toasts: state.toasts.filter((toast) => toast.session.id !== action.sessionId),
      };

    case "open": {
      const id = action.detail.session.id;
      const known = state.tabs.find((tab) => tab.session.id === id);
      const tabs = known
        ? state.tabs.map((tab) => (tab.session.id === id ? withDetail(tab, action.detail) : tab))
        : [
            ...state.tabs,
            withDetail(
              { session: action.detail.session, chat: [], chatEnabled: true, unread: 0, online: null, sysinfo: NO_SYSINFO },
              action.detail,
            ),
          ];
      const keep = state.front !== null && tabs.some((tab) => tab.session.id === state.front);
      const front = action.focus || id === state.preferred || !keep ? id : state.front;
      return {
        ...state,
        tabs: tabs.map((tab) => (tab.session.id === front && state.viewingSessions ? { ...tab, unread: 0 } : tab)),
        front,
        preferred: action.focus ? null : state.preferred,
        selected: state.selected === id ? null : state.selected,
        toasts: state.toasts.filter((toast) => toast.session.id !== id),
      };
    }

    case "detail":
      return updateTab(state, action.detail.session.id, (tab) => withDetail(tab, action.detail));

    case "session":
      return updateTab(state, action.session.id, (tab) => ({ ...tab, session: action.session }));

    case "close": {
      const index = state.tabs.findIndex((tab) => tab.session.id === action.sessionId);
      if (index < 0) return state;
      const tabs = state.tabs.filter((tab) => tab.session.id !== action.sessionId);
      let front = state.front;
      if (front === action.sessionId) {
        const next = tabs[Math.min(index, tabs.length - 1)];
        front = next ? next.session.id : null;
      }
      return { ...state, tabs, front };
    }

    case "focus": {
      if (!state.tabs.some((tab) => tab.session.id === action.sessionId)) return state;
      const focused = { ...state, front: action.sessionId, preferred: null };
      return state.viewingSessions
        ? updateTab(focused, action.sessionId, (tab) => (tab.unread ? { ...tab, unread: 0 } : tab))
        : focused;
    }

    case "viewing": {
      const viewing = { ...state, viewingSessions: action.sessions };
      if (!action.sessions || state.front === null) return viewing;
      return updateTab(viewing, state.front, (tab) => (tab.unread ? { ...tab, unread: 0 } : tab));
    }

    case "chat": {
      const message = action.message;
      return updateTab(state, message.session_id, (tab) => {
        const chat = mergeChat(tab.chat, message);
        if (chat === tab.chat) return tab;
        const unseen = message.sender !== "technician" && !inFront(state, message.session_id);
        return { ...tab, chat, unread: tab.unread + (unseen ? 1 : 0) };
      });
    }

    case "online":
      return updateTab(state, action.sessionId, (tab) => ({ ...tab, online: action.online }));

    case "chat-switch":
      return { ...state, tabs: state.tabs.map((tab) => ({ ...tab, chatEnabled: action.enabled })) };

    case "sysinfo-requested":
      return updateTab(state, action.sessionId, (tab) =>
        // The answer can come on the socket before the request's own reply: keep it then.
        tab.sysinfo.status === "ready" && tab.sysinfo.requestId === action.requestId
          ? tab
          : { ...tab, sysinfo: { ...tab.sysinfo, status: "waiting", requestId: action.requestId } },
      );

    case "sysinfo-failed":
      return updateTab(state, action.sessionId, (tab) => ({
        ...tab,
        sysinfo: { ...tab.sysinfo, status: tab.sysinfo.info ? "ready" : "idle", requestId: null },
      }));

    case "sysinfo":
      return updateTab(state, action.sessionId, (tab) => ({
        ...tab,
        sysinfo: { status: "ready", requestId: action.requestId, info: action.info, receivedAt: action.at },
      }));

    case "screen":
      return updateTab(state, action.sessionId, (tab) => ({
        ...tab,
        session: { ...tab.session, screen_state: action.state, screen_requested: action.requested },
      }));

    case "device":
      return state; // the device list listens for these itself (ConsoleOps.onDeviceEvent)
    case "adhoc":
      return state; // the Ad hoc page listens for these itself (ConsoleOps.onAdHocEvent)
  }
}

/** A console WebSocket event as an action (the events' types are generated from the server's
 * models, src/api/events.d.ts). */
export function frameAction(event: ConsoleEvent, now: () => string): Action {
  switch (event.type) {
    case "queue":
      return { type: "queue", queue: event.queue };
    case "notification":
      return { type: "arrived", session: event.session };
    case "session.chat": {
      const { type: _type, ...message } = event;
      return { type: "chat", message };
    }
    case "organisation.chat":
      return { type: "chat-switch", enabled: event.enabled };
    case "session.updated":
      return { type: "online", sessionId: event.session_id, online: event.online };
    case "session.sysinfo":
      return {
        type: "sysinfo",
        sessionId: event.session_id,
        requestId: event.request_id,
        info: event.info,
        at: now(),
      };
    case "session.screen":
      return { type: "screen", sessionId: event.session_id, state: event.state, requested: event.requested };
    case "device.online":
    case "device.changed":
      return { type: "device", event };
    case "adhoc.changed":
      return { type: "adhoc", event };
  }
}
