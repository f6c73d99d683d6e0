import { describe, expect, it } from "vitest";
import { translator, type Language } from "../../i18n";
import { COLOUR_MODES, ENC, encodingsFor, isColourMode, MODE_SETTINGS } from "./colourModes";
import {
  changeBetween,
  offerFor,
  phaseOf,
  rightsOf,
  type Consent,
} from "./consent";
import {
  comboStrokes,
  COMBOS,
  functionKey,
  keyboardRows,
  keysymOf,
  keysymsOfText,
  strokesFor,
  XK,
  type Key,
  type KeyLabels,
} from "./keys";
import { formatBitRate, formatBytes, LinkMeter, median, payloadLength } from "./linkMeter";
import { PausedPicture } from "./pausedPicture";
import { isLossless, leadingEncoding, rectEncoding } from "./sentEncoding";
import { areaOf, keepChoice, markPrimary, parseExtendedDesktopSize, sortScreens, type RemoteScreen } from "./screens";
import { probePayload, probeSequence, reconnectDelay, relayUrl, screenshotName, tunnelRetryable } from "./tunnel";

const c = (state: Consent["state"], requested: Consent["requested"] = ""): Consent => ({ state, requested });

describe("consent", () => {
  it("names the phase of every state", () => {
    expect(phaseOf(c("off"))).toBe("idle");
    expect(phaseOf(c("requested", "view"))).toBe("waiting");
    expect(phaseOf(c("view"))).toBe("view");
    expect(phaseOf(c("view", "control"))).toBe("view");
    expect(phaseOf(c("control"))).toBe("control");
  });

  it("reads the rights from the permissions", () => {
    expect(rightsOf(["view_screen", "full_control"])).toEqual({ view: true, control: true });
    expect(rightsOf(["view_screen"])).toEqual({ view: true, control: false });
    expect(rightsOf(["full_control"])).toEqual({ view: false, control: false });
  });

  it("offers control greyed to a viewer, and asks control from view only once", () => {
    const viewer = rightsOf(["view_screen"]);
    const full = rightsOf(["view_screen", "full_control"]);
    expect(offerFor(c("off"), viewer)).toMatchObject({
      requestView: true,
      requestControl: true,
      controlForbidden: true,
      stop: false,
    });
    expect(offerFor(c("view"), full)).toMatchObject({ requestView: false, requestControl: true, stop: true });
    expect(offerFor(c("view", "control"), full).requestControl).toBe(false);
    expect(offerFor(c("control"), full)).toMatchObject({ requestControl: false, releaseControl: true });
    expect(offerFor(c("requested", "view"), full)).toMatchObject({ requestView: false, stop: true });
  });

  it("tells grants, denials, revocation and stops apart", () => {
    expect(changeBetween(c("requested", "view"), c("view"))).toBe("granted_view");
    expect(changeBetween(c("requested", "control"), c("control"))).toBe("granted_control");
    expect(changeBetween(c("view", "control"), c("control"))).toBe("granted_control");
    expect(changeBetween(c("requested", "view"), c("off"))).toBe("denied_view");
    expect(changeBetween(c("view", "control"), c("view"))).toBe("denied_control");
    // Control asked for before anything was shared: the customer shares nothing.
    expect(changeBetween(c("requested", "control"), c("off"))).toBe("denied_view");
    expect(changeBetween(c("control"), c("view"))).toBe("control_revoked");
    expect(changeBetween(c("control"), c("view"), "release")).toBe("control_released");
    expect(changeBetween(c("view"), c("off"))).toBe("stopped");
    expect(changeBetween(c("control"), c("off"))).toBe("stopped");
    expect(changeBetween(c("view"), c("off"), "stop")).toBeNull();
    expect(changeBetween(c("requested", "view"), c("off"), "stop")).toBeNull();
    expect(changeBetween(c("off"), c("requested", "view"))).toBeNull();
    expect(changeBetween(c("view"), c("view", "control"))).toBeNull();
  });
});

describe("colour modes", () => {
  it("go from the cheapest to lossless, video last", () => {
    expect(COLOUR_MODES).toEqual(["bw", "few", "more", "all", "video"]);
    const lossy = ["bw", "few", "more"] as const;
    const qualities = lossy.map((m) => MODE_SETTINGS[m].quality ?? 99);
    expect(qualities).toEqual([...qualities].sort((a, b) => a - b));
    expect(MODE_SETTINGS.all.quality).toBeNull();
    expect(MODE_SETTINGS.bw.greyscale).toBe(true);
    expect(isColourMode("video")).toBe(true);
    expect(isColourMode("sepia")).toBe(false);
  });

  it("send a JPEG quality level except when lossless", () => {
    const qualityOf = (list: number[]) => list.filter((e) => e >= -32 && e <= -23);
    expect(qualityOf(encodingsFor("bw", false))).toEqual([-32]);
    expect(qualityOf(encodingsFor("more", false))).toEqual([-32 + 6]);
    expect(qualityOf(encodingsFor("all", false))).toEqual([]);
    for (const mode of COLOUR_MODES) {
      const list = encodingsFor(mode, false);
      expect(list.filter((e) => e >= -256 && e <= -247)).toEqual([-256 + MODE_SETTINGS[mode].compression]);
      expect(list).toContain(ENC.tight);
      expect(list).toContain(ENC.extendedDesktopSize);
      expect(list).toContain(ENC.fence);
      expect(list).toContain(ENC.cursor);
      expect(new Set(list).size).toBe(list.length);
    }
  });

  it("offer H.264 only for video and only when the browser decodes it", () => {
    expect(encodingsFor("video", true)).toContain(ENC.h264);
    expect(encodingsFor("video", false)).not.toContain(ENC.h264);
    expect(encodingsFor("all", true)).not.toContain(ENC.h264);
    expect(encodingsFor("video", true).indexOf(ENC.h264)).toBeLessThan(encodingsFor("video", true).indexOf(ENC.tight));
  });
});

describe("link meter", () => {
  it("measures frames and bytes per second over its window", () => {
    const meter = new LinkMeter(1000);
    for (let ms = 0; ms < 1000; ms += 100) {
      meter.received(1000, ms);
      meter.frame(ms);
      meter.sent(10, ms);
    }
    const now = meter.snapshot(999);
    expect(now.fps).toBeCloseTo(10, 0);
    expect(now.bytesInPerSecond).toBeCloseTo(10_000, -2);
    expect(now.bytesOutPerSecond).toBeCloseTo(100, 0);
    expect(now.totalBytesIn).toBe(10_000);
    expect(now.totalFrames).toBe(10);
    // Two seconds later nothing is in the window any more; the totals stay.
    const later = meter.snapshot(3000);
    expect(later.fps).toBe(0);
    expect(later.bytesInPerSecond).toBe(0);
    expect(later.totalBytesIn).toBe(10_000);
    expect(later.totalFrames).toBe(10);
  });

  it("keeps the median of the last round trips", () => {
    const meter = new LinkMeter();
    expect(meter.snapshot(0).rttMs).toBeNull();
    for (const ms of [100, 5, 7, 6, 900, 8]) meter.roundTrip(ms);
    expect(meter.snapshot(0).rttMs).toBe(7);
    expect(median([1, 2, 3, 4])).toBe(2.5);
  });

  it("names the encoding the device sends: the window's leading one, else the last named", () => {
    const meter = new LinkMeter(1000);
    expect(meter.snapshot(0).encoding).toBeNull();
    // A JPEG stream sends flat areas losslessly: it is still the JPEG stream.
    meter.rect("tight", 0);
    meter.rect("tight-jpeg", 100);
    meter.rect("tight", 200);
    expect(meter.snapshot(300).encoding).toBe("tight-jpeg");
    // A still screen sends nothing: the name stays.
    expect(meter.snapshot(5000).encoding).toBe("tight-jpeg");
    // Switched to lossless: named so once the JPEG rectangles have left the window.
    meter.rect("tight", 5100);
    expect(meter.snapshot(5200).encoding).toBe("tight");
    meter.rect("h264", 5300);
    expect(meter.snapshot(5400).encoding).toBe("h264");
  });

  it("writes rates and sizes for people", () => {
    expect(formatBitRate(0)).toBe("0 bit/s");
    expect(formatBitRate(1000)).toBe("8.0 kbit/s");
    expect(formatBitRate(125_000)).toBe("1.0 Mbit/s");
    expect(formatBitRate(12_500_000)).toBe("100 Mbit/s");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1500)).toBe("1.5 kB");
    expect(formatBytes(2_500_000)).toBe("2.5 MB");
  });

  it("counts payload bytes of every WebSocket data type", () => {
    expect(payloadLength(new ArrayBuffer(12))).toBe(12);
    expect(payloadLength(new Uint8Array(5))).toBe(5);
    expect(payloadLength("é")).toBe(2);
    expect(payloadLength(null)).toBe(0);
  });
});

function extendedDesktopSize(screens: Array<[number, number, number, number, number, number]>): Uint8Array {
  const bytes = new Uint8Array(4 + 16 * screens.length);
  const view = new DataView(bytes.buffer);
  bytes[0] = screens.length;
  screens.forEach(([id, x, y, w, h, flags], i) => {
    const at = 4 + 16 * i;
    view.setUint32(at, id);
    view.setUint16(at + 4, x);
    view.setUint16(at + 6, y);
    view.setUint16(at + 8, w);
    view.setUint16(at + 10, h);
    view.setUint32(at + 12, flags);
  });
  return bytes;
}

describe("screens", () => {
  it("parses every screen and marks the flagged one primary", () => {
    const parsed = parseExtendedDesktopSize(
      extendedDesktopSize([
        [0, 0, 0, 1920, 1080, 0],
        [1, 1920, 0, 1280, 1024, 1],
      ]),
    );
    expect(parsed).toEqual([
      { id: 0, x: 0, y: 0, width: 1920, height: 1080, flags: 0, primary: false },
      { id: 1, x: 1920, y: 0, width: 1280, height: 1024, flags: 1, primary: true },
    ]);
  });

  it("takes the first screen as primary when none is flagged", () => {
    const parsed = parseExtendedDesktopSize(extendedDesktopSize([[4, 10, 0, 800, 600, 0], [5, 0, 0, 10, 10, 0]]));
    expect(parsed?.map((s) => s.primary)).toEqual([true, false]);
  });

  it("waits for all the bytes", () => {
    const full = extendedDesktopSize([[0, 0, 0, 100, 100, 0]]);
    expect(parseExtendedDesktopSize(full.subarray(0, 10))).toBeNull();
    expect(parseExtendedDesktopSize(new Uint8Array(2))).toBeNull();
  });

  it("keeps a choice only while that monitor exists among several", () => {
    const screens: RemoteScreen[] = markPrimary([
      { id: 3, x: 1024, y: 0, width: 1024, height: 768, flags: 0, primary: false },
      { id: 1, x: 0, y: 0, width: 1024, height: 768, flags: 0, primary: false },
    ]);
    expect(sortScreens(screens).map((s) => s.id)).toEqual([1, 3]);
    expect(keepChoice(screens, 3)?.id).toBe(3);
    expect(keepChoice(screens, 9)).toBeNull();
    expect(keepChoice(screens.slice(0, 1), 3)).toBeNull();
    expect(keepChoice(screens, null)).toBeNull();
  });

  it("clamps a monitor's area to the framebuffer", () => {
    const screen = { id: 1, x: 1024, y: 0, width: 1024, height: 768, flags: 0, primary: false };
    expect(areaOf(null, 2048, 768)).toEqual({ x: 0, y: 0, width: 2048, height: 768 });
    expect(areaOf(screen, 2048, 768)).toEqual({ x: 1024, y: 0, width: 1024, height: 768 });
    expect(areaOf(screen, 1500, 700)).toEqual({ x: 1024, y: 0, width: 476, height: 700 });
  });
});

describe("keys", () => {
  it("maps characters to keysyms", () => {
    expect(keysymOf("a")).toBe(0x61);
    expect(keysymOf("é")).toBe(0xe9);
    expect(keysymOf("€")).toBe(0x010020ac);
    expect(keysymOf("😀")).toBe(0x0101f600);
    expect(keysymOf("\n")).toBe(XK.Return);
    expect(keysymOf("\u0007")).toBeNull();
    expect(keysymsOfText("Hé\t")).toEqual([0x48, 0xe9, XK.Tab]);
  });

  it("numbers the function keys", () => {
    expect(functionKey(1)).toBe(0xffbe);
    expect(functionKey(12)).toBe(0xffc9);
    expect(() => functionKey(0)).toThrow();
  });

  it("lays out a full keyboard with Windows, F-keys and AltGr", () => {
    const rows = keyboardRows(labelsIn("en"));
    const all = rows.flat();
    const specials = all.filter((k): k is Extract<Key, { kind: "special" }> => k.kind === "special");
    for (let n = 1; n <= 12; n += 1) expect(specials.map((k) => k.keysym)).toContain(functionKey(n));
    const modifiers = all.filter((k) => k.kind === "modifier").map((k) => (k.kind === "modifier" ? k.modifier : ""));
    expect(modifiers.sort()).toEqual(["alt", "altgr", "ctrl", "shift", "super"]);
    const chars = all.filter((k) => k.kind === "char");
    expect(chars.length).toBe(47);
  });

  it("labels the keys in the technician's language (German and French conventions)", () => {
    const labelled = (language: Language) =>
      keyboardRows(labelsIn(language))
        .flat()
        .flatMap((k) => (k.kind === "special" ? [[k.keysym, k.label] as const] : []));
    const german = new Map(labelled("de"));
    expect([XK.Delete, XK.Insert, XK.Home, XK.End, XK.Page_Up, XK.Page_Down, XK.Print].map((k) => german.get(k))).toEqual([
      "Entf",
      "Einfg",
      "Pos1",
      "Ende",
      "Bild↑",
      "Bild↓",
      "Druck",
    ]);
    const french = new Map(labelled("fr"));
    expect([XK.Escape, XK.Delete, XK.Insert, XK.Home, XK.End, XK.Page_Up, XK.Page_Down, XK.Print].map((k) => french.get(k))).toEqual([
      "Échap",
      "Suppr",
      "Inser",
      "Début",
      "Fin",
      "Pg préc",
      "Pg suiv",
      "Impr écran",
    ]);
    // The Windows key's label fits its key (it was cut to "Windows-T…").
    for (const language of ["de", "fr"] as const) expect(labelsIn(language).super.length).toBeLessThanOrEqual(7);
  });

  it("wraps a key in the latched modifiers and sends the shifted character", () => {
    const a: Key = { kind: "char", base: "a", shifted: "A" };
    expect(strokesFor(a, [])).toEqual([
      { keysym: 0x61, down: true },
      { keysym: 0x61, down: false },
    ]);
    expect(strokesFor(a, ["ctrl", "shift"])).toEqual([
      { keysym: XK.Control_L, down: true },
      { keysym: XK.Shift_L, down: true },
      { keysym: 0x41, down: true },
      { keysym: 0x41, down: false },
      { keysym: XK.Shift_L, down: false },
      { keysym: XK.Control_L, down: false },
    ]);
    expect(strokesFor({ kind: "modifier", label: "Alt", modifier: "alt" }, [])).toEqual([]);
  });

  it("presses combinations in order and releases them in reverse", () => {
    expect(comboStrokes(COMBOS.alt_tab)).toEqual([
      { keysym: XK.Alt_L, down: true },
      { keysym: XK.Tab, down: true },
      { keysym: XK.Tab, down: false },
      { keysym: XK.Alt_L, down: false },
    ]);
  });
});

describe("tunnel", () => {
  it("builds the relay's WebSocket address on the console's host", () => {
    expect(relayUrl({ protocol: "https:", host: "desk.example.com" }, "/relay/abc?token=x")).toBe(
      "wss://desk.example.com/relay/abc?token=x",
    );
    expect(relayUrl({ protocol: "http:", host: "127.0.0.1:8765" }, "relay/abc?token=x")).toBe(
      "ws://127.0.0.1:8765/relay/abc?token=x",
    );
  });

  it("recognises its own latency probes only", () => {
    expect(probeSequence(probePayload(42))).toBe(42);
    expect(probeSequence("\u0000")).toBeNull();
    expect(probeSequence("rdping:x")).toBeNull();
    expect(probePayload(2 ** 31).length).toBeLessThanOrEqual(64);
  });

  it("reconnects quickly first, then gives up", () => {
    expect(reconnectDelay(0)).toBe(0);
    const delays = [0, 1, 2, 3, 4, 5, 6, 50].map(reconnectDelay);
    expect(delays).toEqual([...delays].sort((a, b) => a - b));
    expect(reconnectDelay(6)).toBe(reconnectDelay(50));
    expect(reconnectDelay(50)).toBeLessThanOrEqual(10_000);
  });

  it("retries a tunnel only when the server was out of reach or at fault", () => {
    expect(tunnelRetryable(0)).toBe(true);
    expect(tunnelRetryable(502)).toBe(true);
    expect(tunnelRetryable(503)).toBe(true);
    expect(tunnelRetryable(403)).toBe(false);
    expect(tunnelRetryable(404)).toBe(false);
    expect(tunnelRetryable(409)).toBe(false);
  });

  it("names screenshots after the session and the time", () => {
    expect(screenshotName(12, new Date(2024, 4, 1, 14, 3, 22))).toBe("relaydesk-session-12-2024-05-01-14-03-22.png");
  });
});

describe("sent encoding", () => {
  it("reads Tight's compression control: JPEG, fill, PNG and lossless basic data", () => {
    expect(rectEncoding(ENC.tight, 0x90)).toBe("tight-jpeg");
    expect(rectEncoding(ENC.tight, 0x80)).toBeNull(); // one colour: says nothing
    expect(rectEncoding(ENC.tight, 0x8f)).toBeNull(); // with its zlib stream reset bits
    expect(rectEncoding(ENC.tight, 0x00)).toBe("tight");
    expect(rectEncoding(ENC.tight, 0x4b)).toBe("tight"); // filter byte, stream 0, resets
    expect(rectEncoding(ENC.tight, 0x60)).toBe("tight"); // palette on stream 2
    expect(rectEncoding(ENC.tightPng, 0xa0)).toBe("tight-png");
    expect(rectEncoding(ENC.tightPng, 0x90)).toBe("tight-jpeg");
    expect(rectEncoding(ENC.tight, 0xb0)).toBeNull(); // not Tight: noVNC refuses it anyway
    expect(rectEncoding(ENC.tight, null)).toBeNull();
  });

  it("names the other encodings, not CopyRect", () => {
    expect(rectEncoding(ENC.h264, null)).toBe("h264");
    expect(rectEncoding(ENC.zrle, null)).toBe("zrle");
    expect(rectEncoding(ENC.raw, null)).toBe("raw");
    expect(rectEncoding(ENC.copyRect, null)).toBeNull();
    expect(rectEncoding(12345, null)).toBeNull();
  });

  it("leads with video, then lossy, then lossless", () => {
    expect(leadingEncoding(["tight", "h264", "tight-jpeg"])).toBe("h264");
    expect(leadingEncoding(["tight", "tight-jpeg"])).toBe("tight-jpeg");
    expect(leadingEncoding(["raw", "tight"])).toBe("tight");
    expect(leadingEncoding([])).toBeNull();
  });

  it("knows which encodings keep every pixel", () => {
    expect(isLossless("tight")).toBe(true);
    expect(isLossless("zrle")).toBe(true);
    expect(isLossless("tight-jpeg")).toBe(false);
    expect(isLossless("h264")).toBe(false);
  });
});

describe("paused picture", () => {
  it("stops continuous updates once and takes the agent's answer off the stream", () => {
    const picture = new PausedPicture();
    expect(picture.pause(true, true)).toEqual(["stop-continuous"]);
    expect(picture.paused).toBe(true);
    expect(picture.pause(true, true)).toEqual([]);
    expect(picture.answersStop()).toBe(true);
    // Any later EndOfContinuousUpdates is the agent's own: noVNC reads it.
    expect(picture.answersStop()).toBe(false);
  });

  it("resumes with continuous updates where offered and the whole screen at once", () => {
    const picture = new PausedPicture();
    expect(picture.resume(true, true)).toEqual([]);
    picture.pause(true, true);
    expect(picture.resume(true, true)).toEqual(["start-continuous", "whole-screen"]);
    expect(picture.paused).toBe(false);
    expect(picture.resume(true, true)).toEqual([]);
    // Shown again before the agent answered the stop: the answer still is not noVNC's.
    expect(picture.answersStop()).toBe(true);
  });

  it("without continuous updates only stops asking and then asks for the whole screen", () => {
    const picture = new PausedPicture();
    expect(picture.pause(true, false)).toEqual([]);
    expect(picture.answersStop()).toBe(false);
    expect(picture.resume(true, false)).toEqual(["whole-screen"]);
  });

  it("sends nothing before the connection (its first request is noVNC's own)", () => {
    const picture = new PausedPicture();
    expect(picture.pause(false, false)).toEqual([]);
    expect(picture.paused).toBe(true);
    expect(picture.resume(false, false)).toEqual([]);
    expect(picture.paused).toBe(false);
  });
});

function labelsIn(language: Language): KeyLabels {
  const t = translator(language);
  return {
    shift: t("screen.key.shift"),
    ctrl: t("screen.key.ctrl"),
    super: t("screen.key.super"),
    enter: t("screen.key.enter"),
    caps: t("screen.key.caps"),
    space: t("screen.key.space"),
    esc: t("screen.key.esc"),
    print: t("screen.key.print"),
    insert: t("screen.key.insert"),
    delete: t("screen.key.delete"),
    home: t("screen.key.home"),
    end: t("screen.key.end"),
    pageUp: t("screen.key.page_up"),
    pageDown: t("screen.key.page_down"),
  };
}
