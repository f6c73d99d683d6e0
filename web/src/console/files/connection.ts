/**
 * The file manager's connection to the device: a files tunnel through the relay (asked for over
 * the API, one WebSocket), requests matched to replies by id, and transfers that survive a
 * network loss — when the WebSocket drops, a new tunnel is asked for and every unfinished
 * transfer resumes where it stopped.
 */

import { ApiError, api, call } from "../../api/client";
import { bearerProtocols } from "../../shared/bearer";
import { relayUrl } from "../screen/tunnel";
import { dataFrame, decodeReply, encodeRequest, FileFrameError, type Reply, type Request } from "./protocol";
import { retryDelay } from "./transfers";

export type Grant = { upload: boolean; download: boolean; roots: string[] };
export type Link = "connecting" | "open" | "reconnecting" | "closed";

/** A refusal from the device (codes of relaydesk.protocol.files), or "connection_lost". */
export class FilesError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "FilesError";
    this.code = code;
  }
}

/** Something that lives over several frames (a transfer): it hears its replies and the link. */
export type Stream = {
  onReply: (reply: Reply) => void;
  onLost: () => void;
  onResume: () => void;
  /** The connection is closed for good. */
  onGone: () => void;
};

type Waiter = { resolve: (reply: Reply) => void; reject: (error: unknown) => void };

export class FilesConnection {
  grant: Grant | null = null;
  link: Link = "connecting";
  /** Why the connection is closed for good (the server refused a tunnel), when it is. */
  failure: unknown = null;
  private ws: WebSocket | null = null;
  private nextId = 1;
  private waiting = new Map<number, Waiter>();
  private streams = new Map<number, Stream>();
  private shut = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly sessionId: number,
    private readonly onChange: (connection: FilesConnection) => void,
  ) {}

  /** Opens the first tunnel; a refusal (no permission, session over) is thrown. */
  async start(): Promise<void> {
    await this.connect();
  }

  close(): void {
    this.shut = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000, "file manager closed");
    this.ws = null;
    for (const stream of [...this.streams.values()]) stream.onGone();
    this.setLink("closed");
  }

  /** Drops the WebSocket as a network loss would (for checking recovery by hand and in tests). */
  dropForTest(): void {
    this.ws?.close(4000, "dropped");
  }

  newId(): number {
    const id = this.nextId;
    this.nextId = (this.nextId % (2 ** 31 - 1)) + 1;
    return id;
  }

  get open(): boolean {
    return this.link === "open" && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Bytes queued in the browser, not yet on the network. */
  get buffered(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  send(id: number, request: Request): void {
    if (!this.open || !this.ws) throw new FilesError("connection_lost", "Not connected.");
    this.ws.send(encodeRequest(id, request));
  }

  sendData(id: number, payload: Uint8Array): void {
    if (!this.open || !this.ws) throw new FilesError("connection_lost", "Not connected.");
    this.ws.send(dataFrame(id, payload));
  }

  /** A one-reply request (roots, list, stat, mkdir, rename, delete). */
  request(request: Request): Promise<Reply> {
    const id = this.newId();
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      try {
        this.send(id, request);
      } catch (error) {
        this.waiting.delete(id);
        reject(error);
      }
    });
  }

  attach(id: number, stream: Stream): void {
    this.streams.set(id, stream);
  }

  detach(id: number): void {
    this.streams.delete(id);
  }

  private setLink(link: Link): void {
    this.link = link;
    this.onChange(this);
  }

  private async connect(): Promise<void> {
    const tunnel = await call(
      api.POST("/api/v1/sessions/{session_id}/files/tunnel", { params: { path: { session_id: this.sessionId } } }),
    );
    if (this.shut) return;
    this.grant = { upload: tunnel.upload, download: tunnel.download, roots: tunnel.roots };
    const ws = new WebSocket(relayUrl(window.location, tunnel.path), bearerProtocols(tunnel.token));
    ws.binaryType = "arraybuffer";
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onclose = () => reject(new FilesError("connection_lost", "The connection closed."));
    });
    if (this.shut) {
      ws.close(1000);
      return;
    }
    this.ws = ws;
    this.attempt = 0;
    ws.onmessage = (event: MessageEvent) => this.receive(event.data);
    ws.onclose = () => {
      if (this.ws === ws) this.lost();
    };
    this.setLink("open");
    for (const stream of [...this.streams.values()]) stream.onResume();
  }

  private receive(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) return;
    let reply: Reply;
    try {
      reply = decodeReply(data);
    } catch (error) {
      if (error instanceof FileFrameError) return; // nothing to match it to
      throw error;
    }
    const waiter = this.waiting.get(reply.id);
    if (waiter) {
      this.waiting.delete(reply.id);
      if (reply.t === "error") waiter.reject(new FilesError(reply.code, reply.message));
      else waiter.resolve(reply);
      return;
    }
    this.streams.get(reply.id)?.onReply(reply);
  }

  private lost(): void {
    this.ws = null;
    if (this.shut) return;
    for (const waiter of this.waiting.values()) waiter.reject(new FilesError("connection_lost", "The connection was lost."));
    this.waiting.clear();
    for (const stream of [...this.streams.values()]) stream.onLost();
    this.setLink("reconnecting");
    this.retry();
  }

  private retry(): void {
    if (this.shut) return;
    this.timer = setTimeout(() => {
      this.connect().catch((error: unknown) => {
        if (this.shut) return;
        // The server said no (the session ended, the right was taken away): stop for good.
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
          this.failure = error;
          for (const stream of [...this.streams.values()]) stream.onGone();
          this.setLink("closed");
          return;
        }
        this.attempt += 1;
        this.retry();
      });
    }, retryDelay(this.attempt));
  }
}
