/**
 * One command shell on the device (TOOL-3): xterm.js in the browser, the agent's pty at the
 * other end of a relay tunnel. The terminal's size follows its box (and so the browser window);
 * each change goes to the agent as a resize frame. Unmounting closes the tunnel, which ends the
 * shell's process group on the device.
 *
 * A tunnel lost while the shell runs (the server node relaying it died, the network dropped, the
 * agent lost its own server node and closed its tools without an exit) ends that shell on the
 * device; the tab then asks for a new tunnel by itself, with growing delays, and says so in the
 * terminal: the technician finds a new shell in the same tab (reaching the agent once it is back
 * on a surviving node). A shell that exited, or a refused request (session ended, no
 * permission), stays as it is.
 *
 * The tab is open once the device's end has answered on the tunnel, not when the console's
 * socket reaches the relay; what is typed before is held and sent then (shellLink.ts, which keeps
 * this link's state: this component moves the bytes).
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { api, call } from "../../api/client";
import { asApiError } from "../../api/errors";
import { useI18n } from "../../i18n";
import { ErrorNotice } from "../../shared/ui";
import { bearerProtocols } from "../../shared/bearer";
import { reconnectDelay, relayUrl, tunnelRetryable } from "../screen/tunnel";
import { dataFrame, parseFrame, resizeFrame, ShellFrameError } from "./codec";
import { binaryStringBytes, isCopyKey, isPasteKey, type ShellState } from "./shells";
import { HOLD_LIMIT, NEW_LINK, stepLink, tabState, type LinkEvent, type Notice } from "./shellLink";

export type ShellHandle = {
  copy: () => Promise<boolean>;
  paste: () => Promise<void>;
  focus: () => void;
};

type Props = {
  sessionId: number;
  visible: boolean;
  onState: (state: ShellState) => void;
  handle: (handle: ShellHandle | null) => void;
};

const TERMINAL_FONTS =
  '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, "Cascadia Mono", "Noto Sans Mono CJK SC", ui-monospace, monospace';

/** The terminal's own lines: yellow while the shell is being reopened, red for typing not sent. */
const NOTICE_COLOUR: Record<Notice, string> = {
  reconnecting: "33",
  typing_held: "33",
  typing_refused: "31",
  typing_dropped: "31",
};

const THEME = {
  background: "#0f1420",
  foreground: "#d8dee9",
  cursor: "#f0f4fa",
  selectionBackground: "#3b4f7a",
};

export function ShellTerminal({ sessionId, visible, onState, handle }: Props) {
  const { t } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>(null);
  const [size, setSize] = useState<{ cols: number; rows: number } | null>(null);
  const fitRef = useRef<(() => void) | null>(null);
  const report = useRef(onState);
  report.current = onState;
  const give = useRef(handle);
  give.current = handle;
  const tRef = useRef(t);
  tRef.current = t;

  useEffect(() => {
    const element = box.current;
    if (!element) return undefined;
    let socket: WebSocket | null = null;
    let closed = false;
    let teardown: (() => void) | null = null;
    void import("./xterm").then(
      (xterm) => {
        if (!closed) teardown = start(xterm);
      },
      (failure: unknown) => {
        if (closed) return;
        setError(failure);
        report.current("failed");
      },
    );

    const start = ({ Terminal, FitAddon }: typeof import("./xterm")) => {
      let exited = false;
      const terminal = new Terminal({
        cursorBlink: true,
        // Fonts found on the technician's computer, CJK last for what the others lack. The rows
        // are taller than the font: at 1.0 the DOM renderer clipped what sits under the
        // baseline (x86_64 showed as "x86 64", descenders were cut).
        fontFamily: TERMINAL_FONTS,
        fontSize: 14,
        lineHeight: 1.2,
        customGlyphs: true,
        scrollback: 5000,
        theme: THEME,
        allowProposedApi: false,
      });
      const fit = new FitAddon();
      terminal.loadAddon(fit);
      terminal.open(element);
      const socketOpen = () => socket?.readyState === WebSocket.OPEN;
      const send = (frame: Uint8Array) => {
        if (socketOpen()) socket?.send(frame);
      };
      let link = NEW_LINK;
      let retry: ReturnType<typeof setTimeout> | null = null;
      const happened = (event: LinkEvent) => {
        const before = tabState(link);
        const next = stepLink(link, event);
        link = next.link;
        for (const frame of next.send) send(frame);
        for (const notice of next.say) {
          const line = tRef.current(`shell.${notice}`, { kib: HOLD_LIMIT / 1024 });
          terminal.write(`\r\n\x1b[${NOTICE_COLOUR[notice]}m${line}\x1b[0m\r\n`);
        }
        const after = tabState(link);
        if (JSON.stringify(after) !== JSON.stringify(before)) report.current(after);
        if (next.retry) retry = setTimeout(open, reconnectDelay(link.attempt - 1));
      };
      const refit = () => {
        if (element.offsetWidth === 0 || element.offsetHeight === 0) return;
        try {
          fit.fit();
        } catch {
          // Not rendered yet: the next resize notice fits it.
        }
      };
      fitRef.current = refit;
      refit();
      setSize({ cols: terminal.cols, rows: terminal.rows });

      const copy = async () => {
        const text = terminal.getSelection();
        if (!text) return false;
        try {
          await navigator.clipboard.writeText(text);
          return true;
        } catch {
          return false;
        }
      };
      const paste = async () => {
        const text = await navigator.clipboard.readText();
        if (text) terminal.paste(text);
        terminal.focus();
      };
      give.current({ copy, paste, focus: () => terminal.focus() });

      // Ctrl+C stays the interrupt; Ctrl+Shift+C / Ctrl+Shift+V copy and paste as in Linux terminals.
      terminal.attachCustomKeyEventHandler((event) => {
        if (event.type !== "keydown") return true;
        if (isCopyKey(event)) {
          void copy();
          event.preventDefault();
          return false;
        }
        if (isPasteKey(event)) {
          // The browser's own paste event follows and xterm.js pastes it: nothing more to do.
          return false;
        }
        return true;
      });
      const typed = terminal.onData((text) =>
        happened({ type: "typed", frame: dataFrame(text), socketOpen: socketOpen() }),
      );
      const binary = terminal.onBinary((text) =>
        happened({ type: "typed", frame: dataFrame(binaryStringBytes(text)), socketOpen: socketOpen() }),
      );
      const resized = terminal.onResize(({ cols, rows }) => {
        setSize({ cols, rows });
        send(resizeFrame(cols, rows));
      });
      const observer = new ResizeObserver(() => refit());
      observer.observe(element);

      const open = () => {
        retry = null;
        if (closed) return;
        happened({ type: "asking" });
        call(api.POST("/api/v1/sessions/{session_id}/shell/tunnel", { params: { path: { session_id: sessionId } } })).then(
          (tunnel) => {
            if (closed) return;
            const ws = new WebSocket(relayUrl(window.location, tunnel.path), bearerProtocols(tunnel.token));
            ws.binaryType = "arraybuffer";
            socket = ws;
            ws.onopen = () => {
              // At the relay: the device's end may not be there (yet, or ever); the size waits
              // at the relay for it. The tab is open when the device answers.
              happened({ type: "relayed" });
              refit();
              ws.send(resizeFrame(terminal.cols, terminal.rows));
              terminal.focus();
            };
            ws.onmessage = (event: MessageEvent) => {
              if (!(event.data instanceof ArrayBuffer)) return;
              try {
                const frame = parseFrame(event.data);
                if (frame.type === "data") {
                  happened({ type: "answered" }); // the device's end is there: held typing goes
                  terminal.write(frame.payload);
                } else if (frame.type === "exit") {
                  exited = true;
                  happened({ type: "exited", code: frame.code });
                }
              } catch (failure) {
                if (!(failure instanceof ShellFrameError)) throw failure;
              }
            };
            ws.onclose = () => {
              if (closed || exited || socket !== ws) return;
              happened({ type: "dropped" });
            };
          },
          (failure: unknown) => {
            if (closed) return;
            const final = !tunnelRetryable(asApiError(failure).status);
            if (link.attempt === 0) setError(failure);
            happened({ type: "refused", final });
          },
        );
      };
      open();

      return () => {
        if (retry !== null) clearTimeout(retry);
        observer.disconnect();
        typed.dispose();
        binary.dispose();
        resized.dispose();
        terminal.dispose();
      };
    };

    return () => {
      closed = true;
      give.current(null);
      socket?.close(1000, "shell tab closed");
      teardown?.();
    };
  }, [sessionId]);

  useEffect(() => {
    if (visible) fitRef.current?.();
  }, [visible]);

  return (
    <div class="shell-terminal-wrap" hidden={!visible}>
      <ErrorNotice error={error} />
      <div
        class="shell-terminal"
        ref={box}
        data-testid="shell-terminal"
        data-cols={size?.cols}
        data-rows={size?.rows}
        aria-label={t("shell.terminal")}
      />
    </div>
  );
}
