/** Small pure pieces of the screen connection: where the relay is, latency probe payloads. */

/** The WebSocket URL of a tunnel path ("/relay/<id>") on the console's own host; the token goes
 * in the subprotocols (shared/bearer), never here. */
export function relayUrl(location: { protocol: string; host: string }, path: string): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const rooted = path.startsWith("/") ? path : `/${path}`;
  return `${scheme}//${location.host}${rooted}`;
}

/**
 * Latency probes are RFB client fences (flags: Request) whose payload names them; the agent
 * answers each in order with the same payload, so the time to the answer is a full round trip
 * browser → relay → agent → relay → browser, behind whatever screen data was already queued.
 */
const PROBE_PREFIX = "rdping:";

export function probePayload(sequence: number): string {
  return `${PROBE_PREFIX}${sequence}`;
}

export function probeSequence(payload: string): number | null {
  if (!payload.startsWith(PROBE_PREFIX)) return null;
  const text = payload.slice(PROBE_PREFIX.length);
  return /^\d+$/.test(text) ? Number(text) : null;
}

/**
 * Reconnection delays in ms: quick at first, then every eight seconds for as long as the view
 * is open (a server restart or the customer's computer waking up can take minutes).
 */
export function reconnectDelay(attempt: number): number {
  const delays = [0, 500, 1000, 2000, 4000, 8000];
  return delays[Math.min(attempt, delays.length - 1)];
}

/**
 * Whether a failed request for a tunnel is worth repeating: the server could not be reached or
 * had a passing fault (5xx). Refusals (no consent, no permission, no such session) are final.
 */
export function tunnelRetryable(status: number): boolean {
  return status === 0 || status >= 500;
}

/** A file name for a screenshot: relaydesk-session-12-2024-05-01-14-03-22.png (local time). */
export function screenshotName(sessionId: number, at: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const stamp = [
    at.getFullYear(),
    two(at.getMonth() + 1),
    two(at.getDate()),
    two(at.getHours()),
    two(at.getMinutes()),
    two(at.getSeconds()),
  ].join("-");
  return `relaydesk-session-${sessionId}-${stamp}.png`;
}
