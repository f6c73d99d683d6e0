/** Resuming the console's socket: with several server nodes the server numbers the events it
 * sends (`event_id`, from its event stream); the console sends the last one back when it
 * reconnects and gets the events it missed first. */

export const CONSOLE_WS = "/api/v1/console/ws";

/** The console socket's path, resuming after the last event heard when there is one. */
export function consoleSocketPath(lastEventId: string | null): string {
  return lastEventId ? `${CONSOLE_WS}?after=${encodeURIComponent(lastEventId)}` : CONSOLE_WS;
}
