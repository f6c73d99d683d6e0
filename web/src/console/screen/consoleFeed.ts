/**
 * The screen panel's own subscription to the console WebSocket (/api/v1/console/ws): one
 * connection per page however many panels listen, reopened after a drop while anyone listens.
 * The panel also polls the session (useScreenConsent), so a missed message costs at most a poll.
 */

type Listener = (message: unknown) => void;

const listeners = new Set<Listener>();
let socket: WebSocket | null = null;
let retry: ReturnType<typeof setTimeout> | null = null;

function feedUrl(): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/v1/console/ws`;
}

function open(): void {
  if (socket || typeof WebSocket === "undefined") return;
  const ws = new WebSocket(feedUrl());
  socket = ws;
  ws.onmessage = (event) => {
    let message: unknown;
    try {
      message = JSON.parse(String(event.data));
    } catch {
      return;
    }
    for (const listener of [...listeners]) listener(message);
  };
  ws.onclose = () => {
    if (socket === ws) socket = null;
    if (listeners.size && retry === null) {
      retry = setTimeout(() => {
        retry = null;
        if (listeners.size) open();
      }, 2000);
    }
  };
}

/** Listen to every console message; returns the unsubscribe function. */
export function subscribeConsole(listener: Listener): () => void {
  listeners.add(listener);
  open();
  return () => {
    listeners.delete(listener);
    if (!listeners.size) {
      if (retry !== null) clearTimeout(retry);
      retry = null;
      const ws = socket;
      socket = null;
      ws?.close();
    }
  };
}
