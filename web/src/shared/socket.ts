/** A WebSocket that comes back by itself: after a drop it reconnects with full-jitter
 * exponential backoff, and says what it is doing so that the page can show it. */

export type SocketState = "connecting" | "open" | "retrying" | "closed";

export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_MAX_MS = 15_000;

/** How long to wait before reconnection attempt `attempt` (0 for the first retry): a random
 * delay up to min(max, first · 2^attempt), never less than a tenth of the first step. */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  first = BACKOFF_FIRST_MS,
  max = BACKOFF_MAX_MS,
): number {
  const ceiling = Math.min(max, first * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.max(first / 10, Math.round(random() * ceiling));
}

/** ws:// or wss:// for a path of this site, as the page was loaded over http or https. */
export function socketUrl(path: string, location: { protocol: string; host: string }): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/** Parses a frame as a JSON object with a string `type`; anything else is null. */
export function parseFrame(data: unknown): ({ type: string } & Record<string, unknown>) | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const type = (value as { type?: unknown }).type;
      if (typeof type === "string") return value as { type: string } & Record<string, unknown>;
    }
  } catch {
    // Not JSON: ignored, like any frame this page does not understand.
  }
  return null;
}

export type LiveSocketOptions = {
  url: () => string;
  /** Subprotocols to offer, e.g. a secret presented by shared/bearer (never in the URL). */
  protocols?: () => string[];
  onMessage: (frame: { type: string } & Record<string, unknown>) => void;
  onState?: (state: SocketState) => void;
  /** Called after every (re)connection, before the first message: time to catch up. */
  onOpen?: (reconnected: boolean) => void;
  /** Close codes after which trying again is pointless (signed out, unknown token…). */
  finalCodes?: readonly number[];
};

export class LiveSocket {
  private socket: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private opened = false;
  private stopped = false;

  constructor(private readonly options: LiveSocketOptions) {
    this.connect();
  }

  private state(state: SocketState): void {
    this.options.onState?.(state);
  }

  private connect(): void {
    if (this.stopped) return;
    this.state(this.opened ? "retrying" : "connecting");
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.options.url(), this.options.protocols?.());
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      const reconnected = this.opened;
      this.opened = true;
      this.attempt = 0;
      this.state("open");
      this.options.onOpen?.(reconnected);
    };
    socket.onmessage = (event: MessageEvent) => {
      const frame = parseFrame(event.data);
      if (frame) this.options.onMessage(frame);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      if (this.options.finalCodes?.includes(event.code)) {
        this.stopped = true;
        this.state("closed");
        return;
      }
      this.retry();
    };
  }

  private retry(): void {
    if (this.stopped) return;
    this.state("retrying");
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  /** Ends it for good (the page is leaving, the session ended). */
  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
    this.state("closed");
  }
}
