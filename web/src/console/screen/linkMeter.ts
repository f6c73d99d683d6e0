/**
 * The live indicator's numbers: frames per second, bytes per second each way over a sliding
 * window, the round-trip time of the latest fence probes and the encoding the device sends.
 * Pure: callers pass the clock.
 */

import { leadingEncoding, type SentEncoding } from "./sentEncoding";

export type LinkSnapshot = {
  /** Framebuffer updates completed per second. */
  fps: number;
  /** Bytes per second received from the device (WebSocket payloads). */
  bytesInPerSecond: number;
  /** Bytes per second sent to the device. */
  bytesOutPerSecond: number;
  /** Round trip through the relay to the agent and back, in ms (median of recent probes). */
  rttMs: number | null;
  /** Everything received since the connection started. */
  totalBytesIn: number;
  /** Framebuffer updates completed since the connection started. */
  totalFrames: number;
  /** How the device encodes what it sends: the leading encoding of the window's rectangles,
   * else the one named last (a still screen sends nothing; its encoding has not changed);
   * null before the first. */
  encoding: SentEncoding | null;
};

type Sample = { at: number; bytesIn: number; bytesOut: number; frames: number };

const RTT_SAMPLES = 5;

export class LinkMeter {
  private samples: Sample[] = [];
  private rtts: number[] = [];
  private totalIn = 0;
  private totalFrames = 0;
  private startedAt: number | null = null;
  private encodingsAt = new Map<SentEncoding, number>();
  private lastEncoding: SentEncoding | null = null;

  constructor(private readonly windowMs = 2000) {}

  private add(now: number, bytesIn: number, bytesOut: number, frames: number): void {
    if (this.startedAt === null) this.startedAt = now;
    const last = this.samples[this.samples.length - 1];
    // One sample per 50 ms keeps the list short at hundreds of messages per second.
    if (last && now - last.at < 50) {
      last.bytesIn += bytesIn;
      last.bytesOut += bytesOut;
      last.frames += frames;
    } else {
      this.samples.push({ at: now, bytesIn, bytesOut, frames });
    }
    this.totalIn += bytesIn;
    this.prune(now);
  }

  private prune(now: number): void {
    const oldest = now - this.windowMs;
    while (this.samples.length && this.samples[0].at < oldest) this.samples.shift();
  }

  received(bytes: number, now: number): void {
    this.add(now, bytes, 0, 0);
  }

  sent(bytes: number, now: number): void {
    this.add(now, 0, bytes, 0);
  }

  frame(now: number): void {
    this.add(now, 0, 0, 1);
    this.totalFrames += 1;
  }

  /** A rectangle arrived in this encoding. */
  rect(encoding: SentEncoding, now: number): void {
    this.encodingsAt.set(encoding, now);
  }

  private currentEncoding(now: number): SentEncoding | null {
    const oldest = now - this.windowMs;
    const recent = [...this.encodingsAt].filter(([, at]) => at >= oldest).map(([encoding]) => encoding);
    this.lastEncoding = leadingEncoding(recent) ?? this.lastEncoding;
    return this.lastEncoding;
  }

  roundTrip(ms: number): void {
    this.rtts.push(ms);
    if (this.rtts.length > RTT_SAMPLES) this.rtts.shift();
  }

  snapshot(now: number): LinkSnapshot {
    this.prune(now);
    // Before a full window has passed, divide by the time since the start (never below 250 ms,
    // so that the first burst does not read as an absurd rate).
    const span =
      this.startedAt === null ? this.windowMs : Math.min(this.windowMs, Math.max(250, now - this.startedAt));
    let bytesIn = 0;
    let bytesOut = 0;
    let frames = 0;
    for (const sample of this.samples) {
      bytesIn += sample.bytesIn;
      bytesOut += sample.bytesOut;
      frames += sample.frames;
    }
    const perSecond = 1000 / span;
    return {
      fps: frames * perSecond,
      bytesInPerSecond: bytesIn * perSecond,
      bytesOutPerSecond: bytesOut * perSecond,
      rttMs: median(this.rtts),
      totalBytesIn: this.totalIn,
      totalFrames: this.totalFrames,
      encoding: this.currentEncoding(now),
    };
  }
}

export function median(values: readonly number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Bytes per second as people read bandwidth: bits, with a unit that keeps 1-3 digits. */
export function formatBitRate(bytesPerSecond: number): string {
  const bits = bytesPerSecond * 8;
  if (bits < 1000) return `${Math.round(bits)} bit/s`;
  if (bits < 1e6) return `${(bits / 1e3).toFixed(bits < 1e4 ? 1 : 0)} kbit/s`;
  if (bits < 1e9) return `${(bits / 1e6).toFixed(bits < 1e7 ? 1 : 0)} Mbit/s`;
  return `${(bits / 1e9).toFixed(1)} Gbit/s`;
}

/** A count of bytes in B, kB, MB (decimal units, one decimal under 10). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ["kB", "MB", "GB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** The byte length of what a WebSocket carries (ArrayBuffer, view, Blob or text). */
export function payloadLength(data: unknown): number {
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (typeof Blob !== "undefined" && data instanceof Blob) return data.size;
  if (typeof data === "string") return new TextEncoder().encode(data).length;
  return 0;
}
