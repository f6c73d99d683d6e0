/**
 * One upload or download through the files tunnel, in chunks, SHA-256 computed on
 * the way and compared with the device's, progress (bytes, rate, time left), cancel, and resume
 * after a network loss (the device says where it stands; the browser goes on from there).
 * Memory stays bounded: an upload reads the file slice by slice; a download's bytes go into a
 * Blob (which the browser may keep on disk) every few MiB.
 */

import { FilesConnection, FilesError, type Stream } from "./connection";
import { MAX_PAYLOAD_BYTES, type Reply } from "./protocol";
import { Sha256 } from "./sha256";
import { RateMeter, secondsLeft } from "./transfers";

/** Bytes the browser may have queued on the WebSocket before an upload waits. */
const HIGH_WATER = 4 * 1024 * 1024;
/** Upload chunk: the largest payload a frame may carry (the agent takes any size up to it). */
const UPLOAD_CHUNK = MAX_PAYLOAD_BYTES;
/** A download keeps at most this many bytes unacknowledged at the agent. */
const WINDOW = 8 * 1024 * 1024;
const ACK_EVERY = 1024 * 1024;
const FLUSH_EVERY = 16 * 1024 * 1024;
const PROGRESS_MS = 200;

export type TransferState = "starting" | "running" | "paused" | "verifying" | "done" | "failed" | "cancelled";

export type TransferView = {
  key: number;
  direction: "upload" | "download";
  name: string;
  path: string;
  archive: boolean;
  size: number | null;
  bytes: number;
  rate: number | null;
  secondsLeft: number | null;
  state: TransferState;
  error: { code: string; message: string } | null;
  resumed: number;
};

let keys = 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

abstract class Transfer implements Stream {
  readonly key = ++keys;
  protected id = 0;
  protected state: TransferState = "starting";
  protected bytes = 0;
  protected size: number | null;
  protected error: { code: string; message: string } | null = null;
  protected resumed = 0;
  protected readonly meter = new RateMeter();
  private lastReport = 0;

  constructor(
    protected readonly connection: FilesConnection,
    readonly direction: "upload" | "download",
    protected name: string,
    readonly path: string,
    size: number | null,
    protected readonly onChange: (transfer: Transfer) => void,
    protected archive = false,
  ) {
    this.size = size;
  }

  get finished(): boolean {
    return this.state === "done" || this.state === "failed" || this.state === "cancelled";
  }

  view(): TransferView {
    const rate = this.state === "running" ? this.meter.rate() : null;
    return {
      key: this.key,
      direction: this.direction,
      name: this.name,
      path: this.path,
      archive: this.archive,
      size: this.size,
      bytes: this.bytes,
      rate,
      secondsLeft: secondsLeft(this.bytes, this.size, rate),
      state: this.state,
      error: this.error,
      resumed: this.resumed,
    };
  }

  protected changed(force = true): void {
    const now = performance.now();
    this.meter.add(now, this.bytes);
    if (!force && now - this.lastReport < PROGRESS_MS) return;
    this.lastReport = now;
    this.onChange(this);
  }

  protected finish(state: "done" | "failed" | "cancelled", error: { code: string; message: string } | null = null): void {
    if (this.finished) return;
    this.state = state;
    this.error = error;
    this.connection.detach(this.id);
    this.cleanup();
    this.changed();
  }

  protected cleanup(): void {}

  /** Sends the request that starts (or resumes) the transfer on a fresh id. */
  start(): void {
    if (this.finished) return;
    this.connection.detach(this.id);
    this.id = this.connection.newId();
    this.connection.attach(this.id, this);
    try {
      this.request();
      this.state = "starting";
    } catch {
      this.state = "paused";
    }
    this.changed();
  }

  protected abstract request(): void;

  cancel(): void {
    if (this.finished) return;
    try {
      this.connection.send(this.id, { t: "cancel" });
    } catch {
      // Not connected: nothing runs on the device, the partial upload stays for a later resume.
    }
    this.finish("cancelled");
  }

  onLost(): void {
    if (this.finished) return;
    this.state = "paused";
    this.meter.reset();
    this.changed();
  }

  onResume(): void {
    if (this.finished) return;
    this.resumed += 1;
    this.start();
  }

  onGone(): void {
    this.finish("failed", { code: "connection_closed", message: "The connection to the device is closed." });
  }

  /** A reply for this transfer: the ending ones both directions share are handled here, the rest
   * by the direction's own `handle`. */
  onReply(reply: Reply): void {
    if (this.finished) return;
    if (reply.t === "cancelled") this.finish("cancelled");
    else if (reply.t === "error") this.finish("failed", { code: reply.code, message: reply.message });
    else this.handle(reply);
  }

  protected abstract handle(reply: Reply): void;
}

export class UploadTransfer extends Transfer {
  private hasher: Sha256 | null = null;
  private generation = 0;
  private digest = "";

  constructor(
    connection: FilesConnection,
    private readonly file: Blob,
    name: string,
    target: string,
    private readonly overwrite: boolean,
    onChange: (transfer: Transfer) => void,
  ) {
    super(connection, "upload", name, target, file.size, onChange);
  }

  protected request(): void {
    this.generation += 1;
    this.connection.send(this.id, {
      t: "upload",
      path: this.path,
      size: this.file.size,
      offset: this.bytes,
      overwrite: this.overwrite,
    });
  }

  protected handle(reply: Reply): void {
    switch (reply.t) {
      case "upload_ready":
        this.state = "running";
        void this.pump(reply.offset, this.generation).catch((error: unknown) => {
          if (error instanceof FilesError && error.code === "connection_lost") return; // resumes
          this.finish("failed", { code: "io_error", message: String(error) });
        });
        return;
      case "upload_done":
        if (reply.sha256 !== this.digest || reply.size !== this.file.size) {
          this.finish("failed", { code: "hash_mismatch", message: "The file on the device differs from the one sent." });
        } else this.finish("done");
        return;
      default:
        return; // upload_progress: what is on disk; the bytes sent are shown
    }
  }

  onLost(): void {
    this.generation += 1;
    super.onLost();
  }

  private async pump(offset: number, generation: number): Promise<void> {
    const current = () => generation === this.generation && !this.finished;
    if (!this.hasher || this.hasher.bytes !== offset) {
      // Resuming from where the device stands: the hash covers the whole file again.
      const hasher = new Sha256();
      for (let at = 0; at < offset; at += UPLOAD_CHUNK * 4) {
        const part = this.file.slice(at, Math.min(offset, at + UPLOAD_CHUNK * 4));
        hasher.update(new Uint8Array(await part.arrayBuffer()));
        if (!current()) return;
      }
      this.hasher = hasher;
    }
    this.bytes = offset;
    this.changed();
    while (this.bytes < this.file.size) {
      while (this.connection.buffered > HIGH_WATER) {
        await sleep(5);
        if (!current()) return;
      }
      const chunk = new Uint8Array(await this.file.slice(this.bytes, this.bytes + UPLOAD_CHUNK).arrayBuffer());
      if (!current()) return;
      this.connection.sendData(this.id, chunk);
      this.hasher.update(chunk);
      this.bytes += chunk.length;
      this.changed(false);
    }
    this.digest = this.hasher.hex();
    this.hasher = null;
    this.connection.send(this.id, { t: "upload_end", sha256: this.digest });
    this.state = "verifying";
    this.changed();
  }
}

export class DownloadTransfer extends Transfer {
  private hasher = new Sha256();
  private saved: Blob = new Blob([]);
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private acknowledged = 0;

  constructor(
    connection: FilesConnection,
    name: string,
    source: string,
    size: number | null,
    archive: boolean,
    private readonly save: (blob: Blob, name: string) => void,
    onChange: (transfer: Transfer) => void,
  ) {
    super(connection, "download", name, source, size, onChange, archive);
  }

  protected request(): void {
    this.acknowledged = this.bytes;
    this.connection.send(this.id, { t: "download", path: this.path, offset: this.bytes, window: WINDOW });
  }

  protected handle(reply: Reply): void {
    switch (reply.t) {
      case "download_start":
        if (reply.offset !== this.bytes) {
          this.finish("failed", { code: "size_mismatch", message: `The device resumed at ${reply.offset}, not ${this.bytes}.` });
          return;
        }
        this.name = reply.name;
        this.size = reply.size;
        this.archive = reply.kind === "archive";
        this.state = "running";
        this.changed();
        return;
      case "data":
        this.pending.push(reply.payload);
        this.pendingBytes += reply.payload.length;
        this.hasher.update(reply.payload);
        this.bytes += reply.payload.length;
        if (this.pendingBytes >= FLUSH_EVERY) this.flush();
        if (this.bytes - this.acknowledged >= ACK_EVERY) {
          this.acknowledged = this.bytes;
          try {
            this.connection.send(this.id, { t: "ack", bytes: this.bytes });
          } catch {
            // Lost: the transfer resumes from this.bytes.
          }
        }
        this.changed(false);
        return;
      case "download_end": {
        const digest = this.hasher.hex();
        if (reply.sha256 !== digest || reply.size !== this.bytes) {
          this.finish("failed", { code: "hash_mismatch", message: "The bytes received differ from the file on the device." });
          return;
        }
        this.flush();
        const blob = this.saved;
        this.size = this.bytes;
        this.finish("done");
        this.save(blob, this.name);
        return;
      }
      default:
        return;
    }
  }

  private flush(): void {
    if (!this.pending.length) return;
    this.saved = new Blob([this.saved, ...(this.pending as BlobPart[])]);
    this.pending = [];
    this.pendingBytes = 0;
  }

  protected cleanup(): void {
    if (this.state !== "done") this.saved = new Blob([]);
    this.pending = [];
  }
}

export type { Transfer };
