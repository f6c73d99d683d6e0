/**
 * Which encoding the agent actually sends, as the live indicator names it: read off the
 * rectangles noVNC decodes (RelayRFB reports each one), not off what the viewer asked for.
 *
 * Tight carries both lossy JPEG and lossless data; its compression-control byte (the first
 * byte of the rectangle, RFB "Tight" encoding) tells them apart: 0x9_ is JPEG, 0x8_ a solid
 * fill, 0xA_ PNG (TightPNG only), 0x0_..0x7_ zlib-compressed "basic" data (lossless).
 */

import { ENC } from "./colourModes";

export const SENT_ENCODINGS = [
  "h264",
  "tight-jpeg",
  "tight-png",
  "tight",
  "jpeg",
  "zrle",
  "zlib",
  "hextile",
  "rre",
  "raw",
] as const;
export type SentEncoding = (typeof SENT_ENCODINGS)[number];

/** The encodings' own names: proper names, the same in every language. */
export const ENCODING_NAMES: Record<SentEncoding, string> = {
  h264: "H.264",
  "tight-jpeg": "Tight JPEG",
  "tight-png": "Tight PNG",
  tight: "Tight",
  jpeg: "JPEG",
  zrle: "ZRLE",
  zlib: "Zlib",
  hextile: "Hextile",
  rre: "RRE",
  raw: "Raw",
};

const LOSSY: ReadonlySet<SentEncoding> = new Set(["h264", "tight-jpeg", "jpeg"]);

/** Whether the picture arrives exactly as the device shows it (the indicator says so). */
export function isLossless(encoding: SentEncoding): boolean {
  return !LOSSY.has(encoding);
}

const TIGHT_FILL = 0x8;
const TIGHT_JPEG = 0x9;
const TIGHT_PNG = 0xa;

/**
 * The encoding of one data rectangle: its RFB encoding number and, for Tight and TightPNG,
 * its compression-control byte. Null for rectangles that say nothing about how the picture is
 * sent (CopyRect moves pixels already there; a Tight fill is one colour in any Tight mode) and
 * for numbers this viewer does not know.
 */
export function rectEncoding(encoding: number, tightControl: number | null): SentEncoding | null {
  switch (encoding) {
    case ENC.h264:
      return "h264";
    case ENC.tight:
    case ENC.tightPng: {
      if (tightControl === null) return null;
      const kind = tightControl >> 4;
      if (kind === TIGHT_FILL) return null;
      if (kind === TIGHT_JPEG) return "tight-jpeg";
      if (kind === TIGHT_PNG) return "tight-png";
      return kind < TIGHT_FILL ? "tight" : null;
    }
    case ENC.jpeg:
      return "jpeg";
    case ENC.zrle:
      return "zrle";
    case ENC.zlib:
      return "zlib";
    case ENC.hextile:
      return "hextile";
    case ENC.rre:
      return "rre";
    case ENC.raw:
      return "raw";
    default:
      return null;
  }
}

/**
 * The one name for several encodings seen together, in SENT_ENCODINGS order: video, then lossy,
 * then lossless. A JPEG stream sends flat areas (text, window borders) as lossless palette
 * rectangles; that does not make the stream lossless.
 */
export function leadingEncoding(seen: Iterable<SentEncoding>): SentEncoding | null {
  const present = new Set(seen);
  return SENT_ENCODINGS.find((encoding) => present.has(encoding)) ?? null;
}
