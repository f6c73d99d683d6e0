/**
 * The shell tunnel's frames, as relaydesk.protocol.shell defines them (one WebSocket message =
 * one frame):
 *
 *     0x00 data…              terminal bytes, either way
 *     0x01 cols:u16 rows:u16  the console's terminal size changed (big-endian)
 *     0x02 code:i32           the shell exited (agent → console, big-endian, signed)
 *
 * Pure: no WebSocket here. parseFrame() throws only ShellFrameError.
 */

export const DATA = 0;
export const RESIZE = 1;
export const EXIT = 2;
export const MAX_COLUMNS = 1000;
export const MAX_ROWS = 1000;

export class ShellFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShellFrameError";
  }
}

export type ShellFrame =
  | { type: "data"; payload: Uint8Array }
  | { type: "resize"; columns: number; rows: number }
  | { type: "exit"; code: number };

function bytesOf(message: ArrayBuffer | Uint8Array): Uint8Array {
  return message instanceof Uint8Array ? message : new Uint8Array(message);
}

export function parseFrame(message: ArrayBuffer | Uint8Array): ShellFrame {
  const bytes = bytesOf(message);
  if (bytes.length === 0) throw new ShellFrameError("empty frame");
  const kind = bytes[0];
  const body = bytes.subarray(1);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (kind === DATA) return { type: "data", payload: body };
  if (kind === RESIZE) {
    if (body.length !== 4) throw new ShellFrameError(`resize frame of ${body.length} bytes, expected 4`);
    const columns = view.getUint16(0);
    const rows = view.getUint16(2);
    if (columns < 1 || columns > MAX_COLUMNS || rows < 1 || rows > MAX_ROWS) {
      throw new ShellFrameError(`terminal size ${columns}x${rows} out of range`);
    }
    return { type: "resize", columns, rows };
  }
  if (kind === EXIT) {
    if (body.length !== 4) throw new ShellFrameError(`exit frame of ${body.length} bytes, expected 4`);
    return { type: "exit", code: view.getInt32(0) };
  }
  throw new ShellFrameError(`unknown frame type ${kind}`);
}

const encoder = new TextEncoder();

/** A data frame: text is sent as UTF-8, bytes as they are. */
export function dataFrame(payload: string | Uint8Array): Uint8Array {
  const body = typeof payload === "string" ? encoder.encode(payload) : payload;
  const frame = new Uint8Array(1 + body.length);
  frame[0] = DATA;
  frame.set(body, 1);
  return frame;
}

/** A resize frame; the size is clamped into what the agent accepts. */
export function resizeFrame(columns: number, rows: number): Uint8Array {
  const clamp = (n: number, max: number) => Math.min(max, Math.max(1, Math.floor(n)));
  const frame = new Uint8Array(5);
  const view = new DataView(frame.buffer);
  frame[0] = RESIZE;
  view.setUint16(1, clamp(columns, MAX_COLUMNS));
  view.setUint16(3, clamp(rows, MAX_ROWS));
  return frame;
}

export function exitFrame(code: number): Uint8Array {
  const frame = new Uint8Array(5);
  frame[0] = EXIT;
  new DataView(frame.buffer).setInt32(1, code);
  return frame;
}
