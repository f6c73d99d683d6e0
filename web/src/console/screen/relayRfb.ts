/**
 * noVNC's RFB with what the console adds over the relay tunnel:
 * - the encodings of the chosen colour mode (lossless without a JPEG quality level, H.264 only
 *   for video), re-sent with a full refresh when the mode changes;
 * - every monitor of an ExtendedDesktopSize rectangle (noVNC keeps only the first) and the
 *   choice of one of them, shown through noVNC's clipped viewport;
 * - latency probes as client fences, answered by the agent (noVNC treats any fence answer as a
 *   protocol error, so ours are taken off the stream before noVNC sees them);
 * - a count of completed framebuffer updates;
 * - the encoding of every data rectangle it decodes (sentEncoding.ts), for the live indicator;
 * - pausing the picture while nobody looks at it (pausedPicture.ts): the connection stays, the
 *   device sends nothing until it resumes.
 * It builds on noVNC 1.7 internals (see novnc.d.ts); the version is pinned in package.json.
 */

import RFB from "@novnc/novnc";
import { ENC, encodingsFor, type ColourMode } from "./colourModes";
import { PausedPicture, type PictureMessage } from "./pausedPicture";
import { areaOf, keepChoice, parseExtendedDesktopSize, type Area, type RemoteScreen } from "./screens";
import { rectEncoding, type SentEncoding } from "./sentEncoding";
import { probePayload, probeSequence } from "./tunnel";

export type RelayHooks = {
  onFrame: () => void;
  onScreens: (screens: RemoteScreen[]) => void;
  onRoundTrip: (ms: number) => void;
  /** A data rectangle arrived in this encoding (CopyRect and Tight fills say nothing: not reported). */
  onRect: (encoding: SentEncoding) => void;
};

const FENCE_REQUEST = 0x80000000;
const END_OF_CONTINUOUS_UPDATES = 150;

/** Whether this browser decodes H.264 through WebCodecs (noVNC's own check is not exported). */
export async function browserDecodesH264(): Promise<boolean> {
  const decoder = (globalThis as { VideoDecoder?: { isConfigSupported(c: unknown): Promise<{ supported?: boolean }> } })
    .VideoDecoder;
  if (!decoder) return false;
  try {
    const answer = await decoder.isConfigSupported({ codec: "avc1.42401f", optimizeForLatency: true });
    return Boolean(answer.supported);
  } catch {
    return false;
  }
}

export class RelayRFB extends RFB {
  private relayHooks: RelayHooks | null = null;
  private mode: ColourMode = "more";
  private h264 = false;
  private remoteScreens: RemoteScreen[] = [];
  private chosenScreen: number | null = null;
  private probes = new Map<number, number>();
  private nextProbe = 1;
  /** The current rectangle has been reported (its decoding may take several calls). */
  private rectReported = false;
  private picture = new PausedPicture();

  /** Call right after construction (noVNC needs nothing from us before the server's init). */
  configure(hooks: RelayHooks, mode: ColourMode, h264: boolean): void {
    this.relayHooks = hooks;
    this.mode = mode;
    this.h264 = h264;
  }

  get connected(): boolean {
    return this._rfbConnectionState === "connected";
  }

  get framebufferSize(): { width: number; height: number } {
    return { width: this._fbWidth, height: this._fbHeight };
  }

  get paused(): boolean {
    return this.picture.paused;
  }

  /** Switch colour mode: new encodings, then a full refresh so all of the picture follows
   * (when paused, resuming asks for it). */
  setColourMode(mode: ColourMode): void {
    this.mode = mode;
    if (!this.connected) return;
    this._sendEncodings();
    if (!this.paused) RFB.messages.fbUpdateRequest(this._sock, false, 0, 0, this._fbWidth, this._fbHeight);
  }

  /** Stop the picture (nobody sees it): the device sends no more updates, the connection stays. */
  pause(): void {
    this.tellAgent(this.picture.pause(this.connected, this._enabledContinuousUpdates));
    // noVNC asks for the next update after each one unless continuous updates are on.
    this._enabledContinuousUpdates = true;
  }

  /** Go on after pause(), with the whole screen as it is now. */
  resume(): void {
    if (!this.paused) return;
    this._enabledContinuousUpdates = this._supportsContinuousUpdates;
    this.tellAgent(this.picture.resume(this.connected, this._supportsContinuousUpdates));
  }

  private tellAgent(messages: PictureMessage[]): void {
    const [width, height] = [this._fbWidth, this._fbHeight];
    for (const message of messages) {
      if (message === "whole-screen") RFB.messages.fbUpdateRequest(this._sock, false, 0, 0, width, height);
      else RFB.messages.enableContinuousUpdates(this._sock, message === "start-continuous", 0, 0, width, height);
    }
  }

  /** Send one latency probe; false when the agent has not shown Fence support. */
  probe(now: number): boolean {
    if (!this.connected || !this._supportsFence) return false;
    const sequence = this.nextProbe++;
    this.probes.set(sequence, now);
    // Probes never answered (a dropped connection) must not pile up.
    if (this.probes.size > 20) this.probes.delete(this.probes.keys().next().value as number);
    RFB.messages.clientFence(this._sock, FENCE_REQUEST, probePayload(sequence));
    return true;
  }

  /** Show one monitor (by screen id) or, with null, the whole desktop. */
  chooseScreen(id: number | null): void {
    this.chosenScreen = id;
    this._updateClip();
    this._updateScale();
  }

  /** The part of the framebuffer on show. */
  get shownArea(): Area {
    return areaOf(keepChoice(this.remoteScreens, this.chosenScreen), this._fbWidth, this._fbHeight);
  }

  // ---- noVNC overrides ------------------------------------------------------------------

  protected override _sendEncodings(): void {
    RFB.messages.clientEncodings(this._sock, encodingsFor(this.mode, this.h264));
  }

  protected override _normalMsg(): boolean {
    const reading = this._FBU.rects > 0;
    if (!reading && this._sock.rQpeek8() === END_OF_CONTINUOUS_UPDATES && this.picture.answersStop()) {
      this._sock.rQskipBytes(1);
      return true;
    }
    return super._normalMsg();
  }

  protected override _updateContinuousUpdates(): void {
    // noVNC turns them on when the agent first offers them and again on a resize: not while
    // paused (resuming does).
    if (!this.paused) super._updateContinuousUpdates();
  }

  protected override _framebufferUpdate(): boolean {
    const done = super._framebufferUpdate();
    if (done) this.relayHooks?.onFrame();
    return done;
  }

  protected override _handleDataRect(): boolean {
    if (!this.rectReported) {
      const encoding = this._FBU.encoding ?? 0;
      let control: number | null = null;
      if (encoding === ENC.tight || encoding === ENC.tightPng) {
        // The compression-control byte leads a Tight rectangle: peek before the decoder reads it.
        if (this._sock.rQwait("TIGHT compression-control", 1)) return false;
        control = this._sock.rQpeek8();
      }
      this.rectReported = true;
      const sent = rectEncoding(encoding, control);
      if (sent) this.relayHooks?.onRect(sent);
    }
    const done = super._handleDataRect();
    if (done) this.rectReported = false;
    return done;
  }

  protected override _handleServerFenceMsg(): boolean {
    // The message type is already read; 3 bytes padding, flags u32, length u8, payload.
    if (this._sock.rQwait("ServerFence header", 8, 1)) return false;
    const head = this._sock.rQpeekBytes(8);
    const flags = ((head[3] << 24) | (head[4] << 16) | (head[5] << 8) | head[6]) >>> 0;
    const length = head[7];
    if (flags & FENCE_REQUEST || length > 64) return super._handleServerFenceMsg();
    if (this._sock.rQwait("ServerFence payload", 8 + length, 1)) return false;
    const payload = String.fromCharCode(...this._sock.rQpeekBytes(8 + length).subarray(8));
    const sequence = probeSequence(payload);
    const sentAt = sequence === null ? undefined : this.probes.get(sequence);
    if (sequence === null || sentAt === undefined) return super._handleServerFenceMsg();
    this._sock.rQskipBytes(8 + length);
    this.probes.delete(sequence);
    this.relayHooks?.onRoundTrip(performance.now() - sentAt);
    return true;
  }

  protected override _handleExtendedDesktopSize(): boolean {
    if (this._sock.rQwait("ExtendedDesktopSize", 4)) return false;
    const count = this._sock.rQpeek8();
    if (this._sock.rQwait("ExtendedDesktopSize", 4 + 16 * count)) return false;
    const screens = parseExtendedDesktopSize(this._sock.rQpeekBytes(4 + 16 * count));
    const handled = super._handleExtendedDesktopSize();
    if (handled && screens) {
      this.remoteScreens = screens;
      this.relayHooks?.onScreens(screens);
      this._updateClip();
      this._updateScale();
    }
    return handled;
  }

  protected override _updateClip(): void {
    // noVNC may call this before our fields exist (during its constructor).
    const chosen = keepChoice(this.remoteScreens ?? [], this.chosenScreen ?? null);
    if (!chosen) {
      super._updateClip();
      return;
    }
    // Clip the viewport to the monitor, scaled or not (noVNC turns clipping off to scale).
    const display = this._display;
    if (!display.clipViewport) display.clipViewport = true;
    const area = areaOf(chosen, this._fbWidth, this._fbHeight);
    display.viewportChangeSize(area.width, area.height);
    const at = display._viewportLoc;
    display.viewportChangePos(area.x - at.x, area.y - at.y);
  }
}
