/**
 * The device's screen in noVNC, through a relay tunnel asked for per connection (a tunnel token
 * works once, for seconds): toolbar, live link indicator, clipboard, on-screen keyboard. While
 * nobody sees it (its workspace or the browser tab hidden) the picture pauses, the connection
 * stays.
 */

import { useCallback, useEffect, useReducer, useRef, useState } from "preact/hooks";
import { api, call } from "../../api/client";
import { asApiError } from "../../api/errors";
import { errorText, useI18n } from "../../i18n";
import { bearerProtocols } from "../../shared/bearer";
import {
  COLOUR_MODES,
  DEFAULT_COLOUR_MODE,
  isColourMode,
  MODE_SETTINGS,
  type ColourMode,
} from "./colourModes";
import { COMBO_NAMES, comboStrokes, COMBOS, type KeyStroke } from "./keys";
import { formatBitRate, formatBytes, LinkMeter, payloadLength, type LinkSnapshot } from "./linkMeter";
import { OnScreenKeyboard } from "./OnScreenKeyboard";
import type { RelayRFB } from "./relayRfb";
import { sortScreens, type RemoteScreen } from "./screens";
import { ENCODING_NAMES, isLossless, type SentEncoding } from "./sentEncoding";
import { reconnectDelay, relayUrl, screenshotName, tunnelRetryable } from "./tunnel";
import { NEW_VIEW, reduceView, type Status } from "./viewState";

const MODE_KEY = "relaydesk.screen.mode";
const SCALE_KEY = "relaydesk.screen.scaled";

function stored<T>(key: string, check: (value: unknown) => value is T, fallback: T): T {
  try {
    const value = localStorage.getItem(key);
    return check(value) ? value : fallback;
  } catch {
    return fallback;
  }
}

function remember(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private windows may refuse storage; the choice just does not persist.
  }
}

const isScaleChoice = (value: unknown): value is "yes" | "no" => value === "yes" || value === "no";

type KeyboardLock = { lock?: (codes?: string[]) => Promise<void>; unlock?: () => void };

function keyboardApi(): KeyboardLock | undefined {
  return (navigator as Navigator & { keyboard?: KeyboardLock }).keyboard;
}

/** Whether the browser tab is in front (document.visibilityState). */
function usePageVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState === "visible");
  useEffect(() => {
    const changed = () => setVisible(document.visibilityState === "visible");
    document.addEventListener("visibilitychange", changed);
    return () => document.removeEventListener("visibilitychange", changed);
  }, []);
  return visible;
}

/** Test hook: the e2e tests read the link numbers and the connection through this. */
type ScreenDebug = { snapshot: () => LinkSnapshot | null; status: () => Status };

export function ScreenViewer({
  sessionId,
  control,
  shown,
  checkConsent,
}: {
  sessionId: number;
  control: boolean;
  /** Its session's workspace is on show (else the picture pauses). */
  shown: boolean;
  /** Ask the server whether sharing still stands (the panel unmounts this viewer if not). */
  checkConsent: () => Promise<void>;
}) {
  const { t } = useI18n();
  const frame = useRef<HTMLDivElement>(null);
  const target = useRef<HTMLDivElement>(null);
  const rfbRef = useRef<RelayRFB | null>(null);
  const meter = useRef(new LinkMeter());
  const attempt = useRef(0);
  const generation = useRef(0);
  const controlRef = useRef(control);
  controlRef.current = control;
  const checkRef = useRef(checkConsent);
  checkRef.current = checkConsent;
  const pageVisible = usePageVisible();
  const paused = !shown || !pageVisible;
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  // The connection must not restart when the language (and so `t`) changes.
  const tRef = useRef(t);
  tRef.current = t;

  const [view, show] = useReducer(reduceView, NEW_VIEW);
  const { status, failure, round: reconnectRound } = view;
  const [stats, setStats] = useState<LinkSnapshot | null>(null);
  const [mode, setMode] = useState<ColourMode>(() => stored(MODE_KEY, isColourMode, DEFAULT_COLOUR_MODE));
  const modeRef = useRef(mode);
  modeRef.current = mode;
  const [scaled, setScaled] = useState(() => stored(SCALE_KEY, isScaleChoice, "yes") === "yes");
  const scaledRef = useRef(scaled);
  scaledRef.current = scaled;
  const [screens, setScreens] = useState<RemoteScreen[]>([]);
  const [screenChoice, setScreenChoice] = useState<number | null>(null);
  const screenChoiceRef = useRef(screenChoice);
  screenChoiceRef.current = screenChoice;
  const [fullscreen, setFullscreen] = useState(false);
  const [keyboardOpen, setKeyboardOpen] = useState(false);
  const [clipboardOpen, setClipboardOpen] = useState(false);
  const [remoteClipboard, setRemoteClipboard] = useState("");
  const [outgoing, setOutgoing] = useState("");
  const [note, setNote] = useState<string | null>(null);

  // ---- the connection ------------------------------------------------------------------

  /**
   * Try again with a new tunnel (each is good for one connection). The tunnel may have closed
   * because the customer stopped sharing: ask first (this viewer goes away if so).
   */
  const retryLater = useCallback((mine: number) => {
    const delay = reconnectDelay(attempt.current);
    attempt.current += 1;
    void checkRef.current().finally(() => {
      setTimeout(() => {
        if (generation.current === mine) show({ type: "retry" });
      }, delay);
    });
  }, []);

  const connect = useCallback(async (mine: number) => {
    show({ type: "connecting" });
    // A failure stays on show while the view retries (the device's reason, say, that it has no
    // screen to share); it goes once a connection is made.
    // noVNC is loaded on first use: it is large, and its module waits (top-level await) for a
    // test decode of H.264, which must not hold up the rest of the console.
    let noVnc: typeof import("./relayRfb");
    try {
      noVnc = await import("./relayRfb");
    } catch (error) {
      if (generation.current !== mine) return;
      show({ type: "failed", failure: errorText(tRef.current, error) });
      return;
    }
    const h264 = await noVnc.browserDecodesH264();
    let path: string;
    let token: string;
    try {
      const tunnel = await call(
        api.POST("/api/v1/sessions/{session_id}/screen/tunnel", {
          params: { path: { session_id: sessionId } },
        }),
      );
      path = tunnel.path;
      token = tunnel.token;
    } catch (error) {
      if (generation.current !== mine) return;
      const failure = asApiError(error);
      if (tunnelRetryable(failure.status)) {
        show({ type: "lost" });
        retryLater(mine);
      } else {
        show({ type: "failed", failure: errorText(tRef.current, failure) });
      }
      return;
    }
    if (generation.current !== mine || !target.current) return;

    const ws = new WebSocket(relayUrl(location, path), bearerProtocols(token, "binary"));
    ws.binaryType = "arraybuffer";
    const counter = meter.current;
    ws.addEventListener("message", (event) => counter.received(payloadLength(event.data), performance.now()));
    const rawSend = ws.send.bind(ws);
    ws.send = (data) => {
      counter.sent(payloadLength(data), performance.now());
      rawSend(data);
    };

    const rfb = new noVnc.RelayRFB(target.current, ws, { shared: true });
    rfb.configure(
      {
        onFrame: () => counter.frame(performance.now()),
        onRoundTrip: (ms) => counter.roundTrip(ms),
        onRect: (encoding) => counter.rect(encoding, performance.now()),
        onScreens: (list) => {
          if (generation.current === mine) setScreens(sortScreens(list));
        },
      },
      modeRef.current,
      h264,
    );
    rfb.viewOnly = !controlRef.current;
    rfb.scaleViewport = scaledRef.current;
    rfb.background = "#0b1020";
    rfb.chooseScreen(screenChoiceRef.current);
    if (pausedRef.current) rfb.pause();
    rfb.addEventListener("connect", () => {
      if (generation.current !== mine) return;
      attempt.current = 0;
      show({ type: "connected" });
      if (controlRef.current) rfb.focus();
    });
    rfb.addEventListener("clipboard", (event) => {
      const text = event.detail.text;
      setRemoteClipboard(text);
      // Best effort: browsers allow it while the page has focus.
      navigator.clipboard?.writeText(text).catch(() => undefined);
    });
    rfb.addEventListener("securityfailure", (event) => {
      if (generation.current !== mine) return;
      show({ type: "refused", reason: event.detail.reason ?? tRef.current("screen.connection_refused") });
    });
    rfb.addEventListener("disconnect", () => {
      if (generation.current !== mine) return;
      rfbRef.current = null;
      show({ type: "lost" });
      retryLater(mine);
    });
    rfbRef.current = rfb;
  }, [sessionId, retryLater]);

  useEffect(() => {
    const mine = ++generation.current;
    meter.current = new LinkMeter();
    void connect(mine);
    return () => {
      generation.current += 1;
      const rfb = rfbRef.current;
      rfbRef.current = null;
      try {
        rfb?.disconnect();
      } catch {
        // Already closed.
      }
    };
  }, [connect, reconnectRound]);

  const reconnectNow = () => {
    attempt.current = 0;
    show({ type: "reconnect" });
  };

  // Input follows consent at once (the agent enforces it too).
  useEffect(() => {
    const rfb = rfbRef.current;
    if (!rfb) return;
    rfb.viewOnly = !control;
    if (!control) {
      rfb.blur();
      setKeyboardOpen(false);
    }
  }, [control, status]);

  useEffect(() => {
    const rfb = rfbRef.current;
    if (rfb) rfb.scaleViewport = scaled;
    remember(SCALE_KEY, scaled ? "yes" : "no");
  }, [scaled, status]);

  useEffect(() => {
    rfbRef.current?.setColourMode(mode);
    remember(MODE_KEY, mode);
  }, [mode]);

  useEffect(() => {
    rfbRef.current?.chooseScreen(screenChoice);
  }, [screenChoice, status]);

  useEffect(() => {
    const rfb = rfbRef.current;
    if (paused) rfb?.pause();
    else rfb?.resume();
  }, [paused, status]);

  // The live indicator: one latency probe (none while paused) and one reading a second.
  useEffect(() => {
    const timer = setInterval(() => {
      if (!pausedRef.current) rfbRef.current?.probe(performance.now());
      setStats(meter.current.snapshot(performance.now()));
    }, 1000);
    return () => clearInterval(timer);
  }, []);

  useEffect(() => {
    const debug: ScreenDebug = {
      snapshot: () => meter.current.snapshot(performance.now()),
      status: () => status,
    };
    (window as Window & { __relaydeskScreen?: ScreenDebug }).__relaydeskScreen = debug;
  }, [status]);

  // ---- full screen ---------------------------------------------------------------------

  useEffect(() => {
    const changed = () => {
      const on = document.fullscreenElement === frame.current && frame.current !== null;
      setFullscreen(on);
      if (on) {
        // Keyboard Lock (Chromium): Super/Windows, Alt-Tab, Escape… go to the device.
        keyboardApi()?.lock?.().catch(() => undefined);
        rfbRef.current?.focus();
      } else {
        keyboardApi()?.unlock?.();
      }
    };
    document.addEventListener("fullscreenchange", changed);
    return () => document.removeEventListener("fullscreenchange", changed);
  }, []);

  const toggleFullscreen = () => {
    if (document.fullscreenElement) {
      void document.exitFullscreen().catch(() => undefined);
    } else {
      frame.current?.requestFullscreen().catch(() => setNote(t("screen.fullscreen_refused")));
    }
  };

  // ---- keys ----------------------------------------------------------------------------

  const sendStrokes = (strokes: readonly KeyStroke[]) => {
    const rfb = rfbRef.current;
    if (!rfb || !control) return;
    for (const stroke of strokes) rfb.sendKey(stroke.keysym, null, stroke.down);
    rfb.focus();
  };

  const ctrlAltDel = () => {
    rfbRef.current?.sendCtrlAltDel();
    rfbRef.current?.focus();
  };

  // ---- screenshot ----------------------------------------------------------------------

  const screenshotBlob = (): Promise<Blob> =>
    new Promise((resolve, reject) => {
      const rfb = rfbRef.current;
      if (!rfb) return reject(new Error("not connected"));
      const area = rfb.shownArea;
      const canvas = document.createElement("canvas");
      canvas.width = area.width;
      canvas.height = area.height;
      const context = canvas.getContext("2d");
      if (!context) return reject(new Error("no canvas"));
      context.putImageData(rfb.getImageData(), -area.x, -area.y, area.x, area.y, area.width, area.height);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("no image"))), "image/png");
    });

  const saveScreenshot = () => {
    screenshotBlob().then(
      (blob) => {
        const url = URL.createObjectURL(blob);
        const link = document.createElement("a");
        link.href = url;
        link.download = screenshotName(sessionId, new Date());
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      },
      () => setNote(t("screen.screenshot_failed")),
    );
  };

  const canCopyImage =
    typeof ClipboardItem !== "undefined" && typeof navigator.clipboard?.write === "function";
  const copyScreenshot = () => {
    navigator.clipboard.write([new ClipboardItem({ "image/png": screenshotBlob() })]).then(
      () => setNote(t("screen.screenshot_copied")),
      () => setNote(t("screen.screenshot_copy_failed")),
    );
  };

  // ---- clipboard -----------------------------------------------------------------------

  // The device takes the clipboard, both ways, only under full control.
  const sendClipboard = (text: string) => {
    const rfb = rfbRef.current;
    if (!rfb || !text || !control) return;
    rfb.clipboardPasteFrom(text);
    setNote(t("screen.clipboard_sent"));
  };

  const pasteFromLocal = () => {
    if (!navigator.clipboard?.readText) {
      setNote(t("screen.clipboard_unavailable"));
      return;
    }
    navigator.clipboard.readText().then(
      (text) => {
        setOutgoing(text);
        sendClipboard(text);
      },
      () => setNote(t("screen.clipboard_unavailable")),
    );
  };

  // When the technician comes back to the screen, hand over what he copied meanwhile (only where
  // the browser already allows reading the clipboard: no prompt out of nowhere).
  const lastSynced = useRef<string | null>(null);
  useEffect(() => {
    const element = target.current;
    if (!element) return undefined;
    const onFocus = async () => {
      if (!controlRef.current || !navigator.permissions || !navigator.clipboard?.readText) return;
      try {
        const permission = await navigator.permissions.query({ name: "clipboard-read" as PermissionName });
        if (permission.state !== "granted") return;
        const text = await navigator.clipboard.readText();
        if (text && text !== lastSynced.current) {
          lastSynced.current = text;
          rfbRef.current?.clipboardPasteFrom(text);
        }
      } catch {
        // Not allowed here: the clipboard panel's buttons still work.
      }
    };
    element.addEventListener("focusin", onFocus);
    return () => element.removeEventListener("focusin", onFocus);
  }, []);

  // ---- rendering -----------------------------------------------------------------------

  const greyscale = MODE_SETTINGS[mode].greyscale;
  const encodingLabel = (encoding: SentEncoding) =>
    isLossless(encoding)
      ? t("screen.encoding.lossless", { name: ENCODING_NAMES[encoding] })
      : ENCODING_NAMES[encoding];
  const connected = status === "connected";

  return (
    <div
      ref={frame}
      class={fullscreen ? "screen-frame screen-frame-full" : "screen-frame"}
      data-testid="screen-viewer"
      data-status={status}
      data-control={control ? "yes" : "no"}
      data-paused={paused ? "yes" : "no"}
      data-frames={stats?.totalFrames ?? 0}
    >
      <div class="screen-toolbar" role="toolbar" aria-label={t("screen.toolbar")}>
        <label class="screen-tool">
          <span class="visually-hidden">{t("screen.colour_mode")}</span>
          <select
            data-testid="screen-colour-mode"
            title={t("screen.colour_mode")}
            value={mode}
            onChange={(event) => {
              const value = event.currentTarget.value;
              if (isColourMode(value)) setMode(value);
            }}
          >
            {COLOUR_MODES.map((m) => (
              <option key={m} value={m}>
                {t(`screen.mode.${m}`)}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          class="button button-secondary button-small"
          data-testid="screen-scale"
          aria-pressed={scaled}
          onClick={() => setScaled((s) => !s)}
        >
          {scaled ? t("screen.actual_size") : t("screen.scale_to_fit")}
        </button>
        {screens.length > 1 && (
          <label class="screen-tool">
            <span class="visually-hidden">{t("screen.monitor")}</span>
            <select
              data-testid="screen-monitor"
              title={t("screen.monitor")}
              value={screenChoice === null ? "all" : String(screenChoice)}
              onChange={(event) => {
                const value = event.currentTarget.value;
                setScreenChoice(value === "all" ? null : Number(value));
              }}
            >
              <option value="all">{t("screen.monitor_all")}</option>
              {screens.map((s, index) => (
                <option key={s.id} value={String(s.id)}>
                  {t(s.primary ? "screen.monitor_primary" : "screen.monitor_n", {
                    n: index + 1,
                    width: s.width,
                    height: s.height,
                  })}
                </option>
              ))}
            </select>
          </label>
        )}
        <span class="screen-toolbar-gap" />
        <button
          type="button"
          class="button button-secondary button-small"
          data-testid="screen-ctrl-alt-del"
          disabled={!control || !connected}
          title={control ? undefined : t("screen.needs_control")}
          onClick={ctrlAltDel}
        >
          {t("screen.ctrl_alt_del")}
        </button>
        <label class="screen-tool">
          <span class="visually-hidden">{t("screen.special_keys")}</span>
          <select
            data-testid="screen-special-keys"
            title={control ? t("screen.special_keys") : t("screen.needs_control")}
            disabled={!control || !connected}
            value=""
            onChange={(event) => {
              const name = COMBO_NAMES.find((n) => n === event.currentTarget.value);
              event.currentTarget.value = "";
              if (name) sendStrokes(comboStrokes(COMBOS[name]));
            }}
          >
            <option value="">{t("screen.special_keys")}</option>
            {COMBO_NAMES.map((name) => (
              <option key={name} value={name}>
                {t(`screen.combo.${name}`)}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          class="button button-secondary button-small"
          data-testid="screen-keyboard-toggle"
          aria-pressed={keyboardOpen}
          disabled={!control}
          title={control ? undefined : t("screen.needs_control")}
          onClick={() => setKeyboardOpen((open) => !open)}
        >
          {t("screen.keyboard")}
        </button>
        <button
          type="button"
          class="button button-secondary button-small"
          data-testid="screen-clipboard-toggle"
          aria-pressed={clipboardOpen}
          onClick={() => setClipboardOpen((open) => !open)}
        >
          {t("screen.clipboard")}
        </button>
        <button
          type="button"
          class="button button-secondary button-small"
          data-testid="screen-screenshot"
          disabled={!connected}
          onClick={saveScreenshot}
        >
          {t("screen.screenshot")}
        </button>
        {canCopyImage && (
          <button
            type="button"
            class="button button-secondary button-small"
            data-testid="screen-screenshot-copy"
            disabled={!connected}
            onClick={copyScreenshot}
          >
            {t("screen.screenshot_copy")}
          </button>
        )}
        <button
          type="button"
          class="button button-secondary button-small"
          data-testid="screen-fullscreen"
          aria-pressed={fullscreen}
          onClick={toggleFullscreen}
        >
          {fullscreen ? t("screen.leave_fullscreen") : t("screen.fullscreen")}
        </button>
      </div>

      <div class="screen-statusbar">
        <span class={`screen-link screen-link-${status}`} data-testid="screen-status">
          {t(`screen.status.${status}`)}
        </span>
        <span class="screen-input" data-testid="screen-input">
          {control ? t("screen.input_on") : t("screen.input_off")}
        </span>
        <span class="screen-meter" data-testid="screen-meter" aria-live="off">
          {paused ? (
            <span data-testid="screen-paused" title={t("screen.paused_about")}>
              {t("screen.paused")}
            </span>
          ) : (
            <>
              <span data-testid="screen-fps">{t("screen.fps", { fps: stats ? stats.fps.toFixed(0) : "–" })}</span>
              <span data-testid="screen-latency">
                {stats?.rttMs != null
                  ? t("screen.latency", { ms: stats.rttMs.toFixed(0) })
                  : t("screen.latency", { ms: "–" })}
              </span>
              <span data-testid="screen-bandwidth" title={stats ? formatBitRate(stats.bytesOutPerSecond) : undefined}>
                {t("screen.bandwidth", { rate: stats ? formatBitRate(stats.bytesInPerSecond) : "–" })}
              </span>
              <span
                data-testid="screen-encoding"
                data-encoding={stats?.encoding ?? ""}
                title={t("screen.encoding_about")}
              >
                {t("screen.encoding", { name: stats?.encoding ? encodingLabel(stats.encoding) : "–" })}
              </span>
            </>
          )}
          <span class="muted" data-testid="screen-received">
            {t("screen.received", { total: stats ? formatBytes(stats.totalBytesIn) : "–" })}
          </span>
        </span>
        {(status === "lost" || status === "failed") && (
          <button
            type="button"
            class="button button-secondary button-small"
            data-testid="screen-reconnect"
            onClick={reconnectNow}
          >
            {t("screen.reconnect")}
          </button>
        )}
      </div>
      {failure && (
        <p class="notice notice-error" role="alert" data-testid="screen-failure">
          {failure}
        </p>
      )}
      {note && (
        <p class="screen-note" role="status" data-testid="screen-note" onClick={() => setNote(null)}>
          {note}
        </p>
      )}

      {clipboardOpen && (
        <div class="screen-clipboard" data-testid="screen-clipboard">
          {!control && (
            <p class="notice notice-info small screen-clipboard-note" data-testid="screen-clipboard-needs-control">
              {t("screen.clipboard_needs_control")}
            </p>
          )}
          <div class="screen-clipboard-side">
            <span class="field-label">{t("screen.clipboard_remote")}</span>
            <textarea readOnly rows={3} value={remoteClipboard} data-testid="screen-clipboard-remote" />
            <button
              type="button"
              class="button button-secondary button-small"
              disabled={!remoteClipboard}
              onClick={() =>
                navigator.clipboard
                  ?.writeText(remoteClipboard)
                  .then(() => setNote(t("screen.clipboard_copied")))
                  .catch(() => setNote(t("screen.clipboard_unavailable")))
              }
            >
              {t("screen.clipboard_copy_local")}
            </button>
          </div>
          <div class="screen-clipboard-side">
            <span class="field-label">{t("screen.clipboard_local")}</span>
            <textarea
              rows={3}
              value={outgoing}
              data-testid="screen-clipboard-outgoing"
              onInput={(event) => setOutgoing(event.currentTarget.value)}
            />
            <span class="screen-clipboard-buttons">
              <button
                type="button"
                class="button button-secondary button-small"
                data-testid="screen-clipboard-send"
                disabled={!outgoing || !connected || !control}
                onClick={() => sendClipboard(outgoing)}
              >
                {t("screen.clipboard_send")}
              </button>
              <button
                type="button"
                class="button button-secondary button-small"
                disabled={!connected || !control}
                onClick={pasteFromLocal}
              >
                {t("screen.clipboard_paste_local")}
              </button>
            </span>
          </div>
        </div>
      )}

      <div
        ref={target}
        class={greyscale ? "screen-canvas screen-canvas-grey" : "screen-canvas"}
        data-testid="screen-canvas"
      />

      {keyboardOpen && control && (
        <OnScreenKeyboard onStrokes={sendStrokes} onClose={() => setKeyboardOpen(false)} />
      )}
    </div>
  );
}
