/**
 * The file manager's tunnel frames, as relaydesk.protocol.files defines them: one binary
 * WebSocket message = u32 big-endian header length, a UTF-8 JSON header {"t", "id", …}, then the
 * payload (only on "data" frames). Pure: no WebSocket here; decodeReply() throws only
 * FileFrameError.
 */

export const CHUNK_BYTES = 512 * 1024;
export const MAX_HEADER_BYTES = 4 * 1024 * 1024;
export const MAX_PAYLOAD_BYTES = 512 * 1024;
export const MAX_OPEN_TRANSFERS = 16;

/** A symbolic link is shown as itself ("link"): the agent never tells where it points. */
export type EntryType = "file" | "directory" | "link" | "other";
export type Entry = {
  name: string;
  path: string;
  type: EntryType;
  size: number;
  mtime: number;
  mode: number;
  hidden: boolean;
};
export type Root = { path: string; name: string; total: number | null; free: number | null };

/** What the console asks (the id is added when it is sent). */
export type Request =
  | { t: "roots" }
  | { t: "list"; path: string }
  | { t: "stat"; path: string }
  | { t: "mkdir"; path: string }
  | { t: "rename"; path: string; to: string }
  | { t: "delete"; path: string; recursive: boolean }
  | { t: "upload"; path: string; size: number; offset: number; overwrite: boolean }
  | { t: "upload_end"; sha256: string }
  | { t: "download"; path: string; offset: number; window: number }
  | { t: "ack"; bytes: number }
  | { t: "cancel" };

export type Reply =
  | { t: "roots_list"; id: number; roots: Root[] }
  | { t: "listing"; id: number; path: string; entries: Entry[]; truncated: boolean }
  | { t: "entry"; id: number; entry: Entry }
  | { t: "ok"; id: number }
  | { t: "upload_ready"; id: number; offset: number }
  | { t: "upload_progress"; id: number; bytes: number }
  | { t: "upload_done"; id: number; path: string; size: number; sha256: string }
  | { t: "download_start"; id: number; kind: "file" | "archive"; name: string; size: number | null; offset: number }
  | { t: "data"; id: number; payload: Uint8Array }
  | { t: "download_end"; id: number; size: number; sha256: string }
  | { t: "cancelled"; id: number }
  | { t: "error"; id: number; code: string; message: string };

export class FileFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FileFrameError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function frame(head: Uint8Array, payload?: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + head.length + (payload?.length ?? 0));
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  if (payload) out.set(payload, 4 + head.length);
  return out;
}

export function encodeRequest(id: number, request: Request): Uint8Array {
  return frame(encoder.encode(JSON.stringify({ ...request, id })));
}

export function dataFrame(id: number, payload: Uint8Array): Uint8Array {
  return frame(encoder.encode(`{"t":"data","id":${id}}`), payload);
}

type Json = Record<string, unknown>;
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isSize = (v: unknown): v is number => isInt(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === "string";
const isSha = (v: unknown): v is string => isText(v) && /^[0-9a-f]{64}$/.test(v);
const ENTRY_TYPES = ["file", "directory", "link", "other"];

function isEntry(v: unknown): v is Entry {
  if (typeof v !== "object" || v === null) return false;
  const e = v as Json;
  return (
    isText(e.name) &&
    isText(e.path) &&
    ENTRY_TYPES.includes(e.type as string) &&
    isInt(e.size) &&
    typeof e.mtime === "number" &&
    isInt(e.mode) &&
    typeof e.hidden === "boolean"
  );
}

function isRoot(v: unknown): v is Root {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Json;
  const optionalSize = (x: unknown) => x === null || x === undefined || isSize(x);
  return isText(r.path) && isText(r.name) && optionalSize(r.total) && optionalSize(r.free);
}

/** Checks of each reply's fields beyond t and id. */
const SHAPES: Record<string, (h: Json) => boolean> = {
  roots_list: (h) => Array.isArray(h.roots) && h.roots.every(isRoot),
  listing: (h) => isText(h.path) && Array.isArray(h.entries) && h.entries.every(isEntry),
  entry: (h) => isEntry(h.entry),
  ok: () => true,
  upload_ready: (h) => isSize(h.offset),
  upload_progress: (h) => isSize(h.bytes),
  upload_done: (h) => isText(h.path) && isSize(h.size) && isSha(h.sha256),
  download_start: (h) =>
    (h.kind === "file" || h.kind === "archive") && isText(h.name) && (h.size === null || isSize(h.size)) && isSize(h.offset),
  data: () => true,
  download_end: (h) => isSize(h.size) && isSha(h.sha256),
  cancelled: () => true,
  error: (h) => isText(h.code) && isText(h.message),
};

export function decodeReply(message: ArrayBuffer | Uint8Array): Reply {
  const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
  if (bytes.length < 4) throw new FileFrameError("Frame shorter than its length prefix.");
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (length > MAX_HEADER_BYTES) throw new FileFrameError(`Header of ${length} bytes is too large.`);
  if (length > bytes.length - 4) throw new FileFrameError("Frame shorter than its header length.");
  const payload = bytes.subarray(4 + length);
  if (payload.length > MAX_PAYLOAD_BYTES) throw new FileFrameError(`Payload of ${payload.length} bytes is too large.`);
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(4, 4 + length)));
  } catch {
    throw new FileFrameError("The header is not valid JSON.");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new FileFrameError("The header must be a JSON object.");
  }
  const h = header as Json;
  if (!isText(h.t)) throw new FileFrameError("The header has no type 't'.");
  const shape = SHAPES[h.t];
  if (!Object.hasOwn(SHAPES, h.t) || !shape) throw new FileFrameError(`Unknown frame type '${h.t.slice(0, 40)}'.`);
  if (!isInt(h.id) || h.id < 0 || h.id > 2 ** 31 - 1) throw new FileFrameError(`Invalid '${h.t}' frame: id`);
  if (!shape(h)) throw new FileFrameError(`Invalid '${h.t}' frame.`);
  if (h.t === "data") return { t: "data", id: h.id, payload };
  if (payload.length) throw new FileFrameError(`A '${h.t}' frame carries no payload.`);
  if (h.t === "listing") return { ...(h as Reply & Json), truncated: h.truncated === true } as Reply;
  return h as Reply;
}
