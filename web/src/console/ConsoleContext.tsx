/** The console's live state for every console page: the WebSocket, the queues, the open
 * session tabs and the operations on them. */

import { createContext, type ComponentChildren } from "preact";
import { useCallback, useContext, useEffect, useMemo, useReducer, useRef } from "preact/hooks";
import { api, call, type SessionDetail } from "../api/client";
import { LiveSocket, socketUrl } from "../shared/socket";
import { asConsoleEvent, type ConsoleEventOf } from "../api/realtime";
import { consoleSocketPath } from "./resume";
import { frameAction, initialState, reduce, tabsToSync, type Action, type ConsoleState } from "./store";

const FRONT_KEY = "relaydesk.console.front";
/** Closed by the server because the sign-in is gone or from another site: do not retry. */
const FINAL_CODES = [4401, 4403];

export type ConsoleOps = {
  state: ConsoleState;
  dispatch: (action: Action) => void;
  accept: (sessionId: number) => Promise<void>;
  hold: (sessionId: number) => Promise<void>;
  end: (sessionId: number) => Promise<void>;
  sendChat: (sessionId: number, text: string) => Promise<void>;
  requestSysinfo: (sessionId: number) => Promise<void>;
  refresh: (sessionId: number) => Promise<void>;
  /** Hears device.online and device.changed from the console's socket (the device list);
   * returns the function that stops listening. */
  onDeviceEvent: (listener: DeviceListener) => () => void;
  /** Hears adhoc.changed (an ad hoc session's progress, the Ad hoc page); returns the function
   * that stops listening. */
  onAdHocEvent: (listener: AdHocListener) => () => void;
};

export type AdHocEvent = ConsoleEventOf<"adhoc.changed">;
type AdHocListener = (event: AdHocEvent) => void;

export type DeviceEvent = ConsoleEventOf<"device.online"> | ConsoleEventOf<"device.changed">;
type DeviceListener = (event: DeviceEvent) => void;

const ConsoleContext = createContext<ConsoleOps | null>(null);

export function useConsole(): ConsoleOps {
  const ops = useContext(ConsoleContext);
  if (!ops) throw new Error("useConsole outside ConsoleProvider");
  return ops;
}

function storedFront(): number | null {
  try {
    const value = Number(window.sessionStorage.getItem(FRONT_KEY));
    return Number.isInteger(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}

function storeFront(front: number | null): void {
  try {
    if (front === null) window.sessionStorage.removeItem(FRONT_KEY);
    else window.sessionStorage.setItem(FRONT_KEY, String(front));
  } catch {
    // Private browsing: the front tab is simply not remembered.
  }
}

function getDetail(sessionId: number): Promise<SessionDetail> {
  return call(api.GET("/api/v1/sessions/{session_id}", { params: { path: { session_id: sessionId } } }));
}

export function ConsoleProvider({ children }: { children: ComponentChildren }) {
  const [state, dispatch] = useReducer(reduce, undefined, () => initialState(storedFront()));
  const latest = useRef(state);
  latest.current = state;
  const loading = useRef(new Set<number>());
  // Asked for again while its request was out (the session changed meanwhile: a jump refused at
  // once): read once more when that request is back, so the tab does not keep the older state.
  const again = useRef(new Set<number>());
  const deviceListeners = useRef(new Set<DeviceListener>());
  const adHocListeners = useRef(new Set<AdHocListener>());

  /** Fetches sessions: opens tabs for `open`, refreshes the tabs of `refresh` (a tab closed
   * meanwhile, e.g. by Hold, stays closed); one request per session at a time. */
  const sync = useCallback((ids: { open?: number[]; refresh?: number[] }) => {
    const wanted: [number, boolean][] = [
      ...(ids.open ?? []).map((id): [number, boolean] => [id, true]),
      ...(ids.refresh ?? []).map((id): [number, boolean] => [id, false]),
    ];
    for (const [id, opening] of wanted) {
      if (loading.current.has(id)) {
        again.current.add(id);
        continue;
      }
      loading.current.add(id);
      getDetail(id)
        .then(
          (detail) => {
            const open = latest.current.tabs.some((tab) => tab.session.id === id);
            if (open) dispatch({ type: "detail", detail });
            else if (opening) dispatch({ type: "open", detail, focus: false });
          },
          () => undefined,
        )
        .finally(() => {
          loading.current.delete(id);
          if (again.current.delete(id)) {
            getDetail(id).then(
              (detail) => {
                if (latest.current.tabs.some((tab) => tab.session.id === id)) dispatch({ type: "detail", detail });
              },
              () => undefined,
            );
          }
        });
    }
  }, []);

  useEffect(() => {
    // The id of the last event heard (several nodes: the server keeps a stream of them), sent
    // back on reconnection so that the events missed meanwhile come first.
    let lastEventId: string | null = null;
    const socket = new LiveSocket({
      url: () => socketUrl(consoleSocketPath(lastEventId), window.location),
      finalCodes: FINAL_CODES,
      onState: (connection) => {
        dispatch({ type: "connection", state: connection });
        // Closed for good: signed out here or elsewhere, the password changed, the account
        // deactivated. Asking who we are lets the app show the sign-in page if so.
        if (connection === "closed") call(api.GET("/api/v1/me")).catch(() => undefined);
      },
      onOpen: (reconnected) => {
        // Whatever was said while the socket was down: catch up on the open tabs' chat.
        if (reconnected) sync({ refresh: latest.current.tabs.map((tab) => tab.session.id) });
      },
      onMessage: (frame) => {
        if (typeof frame.event_id === "string") lastEventId = frame.event_id;
        const event = asConsoleEvent(frame);
        if (!event) return;
        const action = frameAction(event, () => new Date().toISOString());
        if (action.type === "device") {
          for (const listener of deviceListeners.current) listener(action.event);
          return;
        }
        if (action.type === "adhoc") {
          for (const listener of adHocListeners.current) listener(action.event);
          return;
        }
        if (action.type === "queue") {
          sync(tabsToSync(latest.current, action.queue));
        }
        dispatch(action);
      },
    });
    return () => socket.close();
  }, [sync]);

  useEffect(() => storeFront(state.front), [state.front]);

  const ops = useMemo<Omit<ConsoleOps, "state">>(() => {
    const path = (sessionId: number) => ({ params: { path: { session_id: sessionId } } });
    return {
      dispatch,
      accept: async (sessionId) => {
        const detail = await call(api.POST("/api/v1/sessions/{session_id}/accept", path(sessionId)));
        dispatch({ type: "open", detail, focus: true });
      },
      hold: async (sessionId) => {
        await call(api.POST("/api/v1/sessions/{session_id}/hold", path(sessionId)));
        dispatch({ type: "close", sessionId });
      },
      end: async (sessionId) => {
        const detail = await call(api.POST("/api/v1/sessions/{session_id}/end", path(sessionId)));
        dispatch({ type: "detail", detail });
      },
      sendChat: async (sessionId, text) => {
        const message = await call(
          api.POST("/api/v1/sessions/{session_id}/chat", { ...path(sessionId), body: { text } }),
        );
        dispatch({ type: "chat", message });
      },
      requestSysinfo: async (sessionId) => {
        try {
          const answer = await call(api.POST("/api/v1/sessions/{session_id}/sysinfo", path(sessionId)));
          dispatch({ type: "sysinfo-requested", sessionId, requestId: answer.request_id });
        } catch (error) {
          dispatch({ type: "sysinfo-failed", sessionId });
          throw error;
        }
      },
      refresh: async (sessionId) => {
        dispatch({ type: "detail", detail: await getDetail(sessionId) });
      },
      onDeviceEvent: (listener) => {
        deviceListeners.current.add(listener);
        return () => deviceListeners.current.delete(listener);
      },
      onAdHocEvent: (listener) => {
        adHocListeners.current.add(listener);
        return () => adHocListeners.current.delete(listener);
      },
    };
  }, []);

  const value = useMemo(() => ({ ...ops, state }), [ops, state]);
  return <ConsoleContext.Provider value={value}>{children}</ConsoleContext.Provider>;
}
