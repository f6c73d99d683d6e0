/**
 * The session's command shells (TOOL-3): "Open shell" starts one more, each in its own tab;
 * closing a tab ends that shell on the device. Only offered to technicians with the "shell"
 * permission (the server refuses the others anyway).
 */

import { useCallback, useReducer, useRef, useState } from "preact/hooks";
import { useI18n, type MessageKey } from "../../i18n";
import { useMe } from "../../shared/session";
import { NO_SHELLS, reduceShells, stateName, type ShellState } from "./shells";
import { ShellTerminal, type ShellHandle } from "./ShellTerminal";
import "./shell.css";

const COPIED_MS = 2000;

const STATE_TEXT: Record<ReturnType<typeof stateName>, MessageKey> = {
  connecting: "shell.state.connecting",
  open: "shell.state.open",
  lost: "shell.state.lost",
  failed: "shell.state.failed",
  exited: "shell.state.exited",
};

export function ShellPanel({ sessionId, live }: { sessionId: number; live: boolean }) {
  const { t } = useI18n();
  const me = useMe();
  const [shells, dispatch] = useReducer(reduceShells, NO_SHELLS);
  const handles = useRef(new Map<number, ShellHandle>());
  const [copied, setCopied] = useState<boolean | null>(null);
  const onState = useCallback((id: number, state: ShellState) => dispatch({ type: "state", id, state }), []);

  if (!me.permissions.includes("shell")) return null;
  const front = shells.tabs.find((tab) => tab.id === shells.front) ?? null;
  const frontHandle = () => (front ? handles.current.get(front.id) : undefined);

  return (
    <section class="card shell-panel" data-testid="shell-panel">
      <header class="card-header shell-header">
        <h2>{t("shell.title")}</h2>
        <div class="shell-actions">
          {front && (
            <>
              <button
                type="button"
                class="button button-secondary"
                data-testid="shell-copy"
                title={t("shell.copy_about")}
                onClick={() =>
                  void frontHandle()
                    ?.copy()
                    .then((done) => {
                      setCopied(done);
                      if (done) setTimeout(() => setCopied((now) => (now === true ? null : now)), COPIED_MS);
                    })
                }
              >
                {copied === true ? t("common.copied") : t("common.copy")}
              </button>
              <button
                type="button"
                class="button button-secondary"
                data-testid="shell-paste"
                title={t("shell.paste_about")}
                onClick={() => void frontHandle()?.paste().catch(() => setCopied(false))}
              >
                {t("shell.paste")}
              </button>
            </>
          )}
          <button
            type="button"
            class="button button-primary"
            data-testid="shell-open"
            disabled={!live}
            onClick={() => {
              setCopied(null);
              dispatch({ type: "open" });
            }}
          >
            {t("shell.open")}
          </button>
        </div>
      </header>
      {copied === false && (
        <p class="notice notice-info small" role="status">
          {t("shell.clipboard_refused")}
        </p>
      )}
      {shells.tabs.length === 0 ? (
        <p class="muted shell-empty" data-testid="shell-empty">
          {t("shell.none")}
        </p>
      ) : (
        <>
          <div class="shell-tabs" role="tablist" aria-label={t("shell.tabs")} data-testid="shell-tabs">
            {shells.tabs.map((tab) => {
              const active = tab.id === shells.front;
              const state = stateName(tab.state);
              const label = t("shell.tab", { n: tab.number });
              return (
                <div key={tab.id} class={active ? "shell-tab active" : "shell-tab"} data-testid="shell-tab" data-shell-state={state}>
                  <button
                    type="button"
                    role="tab"
                    aria-selected={active}
                    class="shell-tab-name"
                    title={t(STATE_TEXT[state], { code: typeof tab.state === "object" ? tab.state.exited : "" })}
                    onClick={() => {
                      dispatch({ type: "focus", id: tab.id });
                      handles.current.get(tab.id)?.focus();
                    }}
                  >
                    <span class={`status-dot shell-dot-${state}`} aria-hidden="true" />
                    {label}
                  </button>
                  <button
                    type="button"
                    class="shell-tab-close"
                    data-testid="shell-tab-close"
                    aria-label={t("shell.close", { name: label })}
                    title={t("shell.close", { name: label })}
                    onClick={() => {
                      handles.current.delete(tab.id);
                      dispatch({ type: "close", id: tab.id });
                    }}
                  >
                    ×
                  </button>
                </div>
              );
            })}
          </div>
          {front && stateName(front.state) !== "open" && stateName(front.state) !== "connecting" && (
            <p class="notice notice-info small" role="status" data-testid="shell-status">
              {t(STATE_TEXT[stateName(front.state)], {
                code: typeof front.state === "object" ? front.state.exited : "",
              })}
            </p>
          )}
          {shells.tabs.map((tab) => (
            <ShellTerminal
              key={tab.id}
              sessionId={sessionId}
              visible={tab.id === shells.front}
              onState={(state) => onState(tab.id, state)}
              handle={(handle) => {
                if (handle) handles.current.set(tab.id, handle);
                else handles.current.delete(tab.id);
              }}
            />
          ))}
        </>
      )}
    </section>
  );
}
