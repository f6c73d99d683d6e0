/**
 * The colour modes of the screen view and what each asks of the agent.
 *
 * noVNC talks to the agent in 24-bit true colour with Tight encoding; a mode picks the Tight
 * JPEG quality level (0..9, sent as pseudo-encodings -32..-23) and the zlib compression level
 * (0..9, -256..-247). "All colours" sends no quality level at all, which tells the agent to stay
 * lossless (Tight palette/basic with zlib, never JPEG). "Video optimised" favours frame rate
 * (low compression effort, medium JPEG) and also offers H.264 when the browser can decode it, so
 * an agent that speaks H.264 uses it there.
 *
 * Why no lower pixel depth: noVNC decodes 8-bit pixels only with Raw encoding (no Tight, no
 * ZRLE), which costs several times the bytes of low-quality Tight JPEG; a lower depth would make
 * "black & white" the most expensive mode. Black & white is therefore the cheapest JPEG level,
 * shown in greyscale.
 */

export const COLOUR_MODES = ["bw", "few", "more", "all", "video"] as const;
export type ColourMode = (typeof COLOUR_MODES)[number];

export const DEFAULT_COLOUR_MODE: ColourMode = "more";

export type ModeSettings = {
  /** JPEG quality level 0..9, or null for lossless (no JPEG). */
  quality: number | null;
  /** zlib compression level 0..9 (CPU on the device against bytes on the wire). */
  compression: number;
  /** Offer H.264 (when the browser decodes it). */
  h264: boolean;
  /** Render in greyscale. */
  greyscale: boolean;
};

export const MODE_SETTINGS: Record<ColourMode, ModeSettings> = {
  bw: { quality: 0, compression: 9, h264: false, greyscale: true },
  few: { quality: 2, compression: 9, h264: false, greyscale: false },
  more: { quality: 6, compression: 6, h264: false, greyscale: false },
  all: { quality: null, compression: 2, h264: false, greyscale: false },
  video: { quality: 5, compression: 1, h264: true, greyscale: false },
};

export function isColourMode(value: unknown): value is ColourMode {
  return typeof value === "string" && (COLOUR_MODES as readonly string[]).includes(value);
}

/** RFB encoding numbers (RFC 6143 and the rfbproto community registry). */
export const ENC = {
  raw: 0,
  copyRect: 1,
  rre: 2,
  hextile: 5,
  zlib: 6,
  tight: 7,
  zrle: 16,
  jpeg: 21,
  h264: 50,
  tightPng: -260,
  qualityLevel0: -32,
  compressLevel0: -256,
  desktopSize: -223,
  lastRect: -224,
  cursor: -239,
  qemuExtendedKeyEvent: -258,
  qemuLedEvent: -261,
  desktopName: -307,
  extendedDesktopSize: -308,
  xvp: -309,
  fence: -312,
  continuousUpdates: -313,
  extendedMouseButtons: -316,
  vmwareCursor: 0x574d5664,
  extendedClipboard: 0xc0a1e5ce,
} as const;

/**
 * The SetEncodings list for a mode, in preference order: noVNC 1.7's own list at 24-bit depth,
 * with H.264 only in video mode and no JPEG quality level in lossless mode.
 */
export function encodingsFor(mode: ColourMode, browserDecodesH264: boolean): number[] {
  const settings = MODE_SETTINGS[mode];
  const list: number[] = [ENC.copyRect];
  if (settings.h264 && browserDecodesH264) list.push(ENC.h264);
  list.push(ENC.tight, ENC.tightPng, ENC.zrle, ENC.jpeg, ENC.hextile, ENC.rre, ENC.zlib, ENC.raw);
  if (settings.quality !== null) list.push(ENC.qualityLevel0 + settings.quality);
  list.push(ENC.compressLevel0 + settings.compression);
  list.push(
    ENC.desktopSize,
    ENC.lastRect,
    ENC.qemuExtendedKeyEvent,
    ENC.qemuLedEvent,
    ENC.extendedDesktopSize,
    ENC.xvp,
    ENC.fence,
    ENC.continuousUpdates,
    ENC.desktopName,
    ENC.extendedClipboard,
    ENC.extendedMouseButtons,
    ENC.vmwareCursor,
    ENC.cursor,
  );
  return list;
}
