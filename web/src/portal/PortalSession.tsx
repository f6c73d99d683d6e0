/** The customer's session page: who helps, how to start the support client, where the session
 * stands, chat, the screen consent prompt, and ending it. Kept live by the portal WebSocket. */

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, call, send, type AgentCommands, type CustomerSession } from "../api/client";
import { ApiError } from "../api/errors";
import { asPortalEvent } from "../api/realtime";
import { useI18n, type MessageKey } from "../i18n";
import { bearerProtocols } from "../shared/bearer";
import { Chat } from "../shared/Chat";
import { useAction } from "../shared/hooks";
import { LiveSocket, socketUrl, type SocketState } from "../shared/socket";
import { ConfirmButton, CopyButton, ErrorNotice, Loading } from "../shared/ui";
import {
  applyFrame,
  detectPlatform,
  isOpen,
  refreshed,
  STEPS,
  stepOf,
  type Platform,
  type PortalView,
  type Step,
  type StoredStart,
} from "./portal";
import { JumpClientQuestion } from "./JumpClientQuestion";
import { TechnicianCard } from "./TechnicianCard";

const STEP_TITLES: Record<Step, MessageKey> = {
  start_client: "portal.step.start_client",
  wait_technician: "portal.step.wait_technician",
  in_session: "portal.step.in_session",
  ended: "portal.step.ended",
};

function customerHeaders(token: string) {
  return { params: { header: { "x-customer-token": token } } };
}

export function PortalSession({
  start,
  onLeave,
  onEnded,
}: {
  start: StoredStart;
  onLeave: (why: "done" | "lost") => void;
  /** The session ended while this page showed it: its secret is of no further use. */
  onEnded: () => void;
}) {
  const { t } = useI18n();
  const [view, setView] = useState<PortalView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [connection, setConnection] = useState<SocketState>("connecting");
  const ended = view?.status === "ended";
  const leave = useRef(onLeave);
  leave.current = onLeave;
  const forget = useRef(onEnded);
  forget.current = onEnded;
  const sawOpen = useRef(false);

  // Ended while shown here: say so and forget the secret. Found ended when the page opened
  // (the tab was closed meanwhile): straight back to the key form.
  useEffect(() => {
    if (!view) return;
    if (view.status !== "ended") sawOpen.current = true;
    else if (sawOpen.current) forget.current();
    else leave.current("done");
  }, [view]);

  const load = useCallback(async () => {
    try {
      const session: CustomerSession = await call(api.GET("/api/v1/portal/session", customerHeaders(start.token)));
      setView((before) => refreshed(before, session));
      setError(null);
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === "customer_session_unknown") leave.current("lost");
      else setError(failure);
    }
  }, [start.token]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    if (ended) return undefined;
    const socket = new LiveSocket({
      url: () => socketUrl("/api/v1/portal/ws", window.location),
      protocols: () => bearerProtocols(start.token),
      finalCodes: [4403, 4404],
      onState: setConnection,
      onOpen: () => void load(),
      onMessage: (frame) => {
        const event = asPortalEvent(frame);
        if (!event) return;
        if (event.type === "error") {
          if (event.code === "customer_session_unknown") leave.current("lost");
          return;
        }
        setView((before) => (before ? applyFrame(before, event) : before));
        if (event.type === "snapshot" && event.status !== "waiting_for_agent") {
          // The snapshot leaves out the screen's state: ask for the whole session.
          void load();
        }
      },
    });
    return () => socket.close();
  }, [start.token, ended, load]);

  if (!view) {
    return (
      <div class="portal-session">
        {error ? <ErrorNotice error={error} /> : <Loading />}
      </div>
    );
  }

  const step = stepOf(view.status);
  const technician = view.technician ?? start.technician;
  const open = isOpen(view.status);
  // The session's own view follows the organisation's switch live; the portal front's flag is
  // only what was true when the page loaded.
  const allowChat = view.chat_enabled;

  return (
    <div class="portal-session" data-testid="portal-session" data-status={view.status}>
      <section class="card portal-who">
        {technician ? (
          <>
            <p class="eyebrow">{t(view.status === "active" ? "portal.who.helping" : "portal.who.will_help")}</p>
            <TechnicianCard technician={technician} />
          </>
        ) : (
          <>
            <p class="eyebrow">{t("portal.who.team_eyebrow")}</p>
            <p class="portal-team" data-testid="portal-team">
              {t("portal.who.team", { team: start.team_name ?? "—" })}
            </p>
          </>
        )}
        <Steps current={step} />
        <p class="portal-status" role="status" data-testid="portal-status" data-status={view.status}>
          {t(`portal.status.${view.status}`)}
        </p>
        {!ended && <PortalConnection state={connection} />}
      </section>

      {ended ? (
        <section class="card portal-ended" data-testid="portal-ended">
          <span class="portal-ended-mark" aria-hidden="true">
            ✓
          </span>
          <h2>{t("portal.ended.title")}</h2>
          <p class="muted">{t("portal.ended.about")}</p>
          <button type="button" class="button button-primary" data-testid="portal-new-session" onClick={() => onLeave("done")}>
            {t("portal.ended.again")}
          </button>
        </section>
      ) : (
        <>
          {open && <ScreenPrompt view={view} token={start.token} technicianName={technician?.name ?? null} onChange={load} />}
          {open && <JumpClientQuestion view={view} token={start.token} />}
          {view.status === "waiting_for_agent" ? (
            <Instructions commands={start.commands} keyText={start.key} />
          ) : (
            <details class="card portal-instructions-again">
              <summary>{t("portal.instructions.again")}</summary>
              <Instructions commands={start.commands} keyText={start.key} bare />
            </details>
          )}
        </>
      )}

      {view.status !== "waiting_for_agent" && !allowChat && (
        <p class="notice notice-info" role="status" data-testid="chat-disabled">
          {t("chat.disabled_customer")}
        </p>
      )}
      {view.status !== "waiting_for_agent" && allowChat && (
        <section class="card chat-card portal-chat" data-testid="portal-chat">
          <header class="card-header">
            <h2>{t("chat.title")}</h2>
          </header>
          <Chat
            messages={view.chat}
            own="customer"
            emptyText={t("chat.empty_customer")}
            closed={ended ? t("chat.ended") : null}
            onSend={async (text) => {
              const message = await call(
                api.POST("/api/v1/portal/session/chat", { ...customerHeaders(start.token), body: { text } }),
              );
              setView((before) => (before ? applyFrame(before, { type: "chat", ...message }) : before));
            }}
          />
        </section>
      )}

      {!ended && <EndSession status={view.status} token={start.token} onGone={() => onLeave("done")} onEnded={load} />}
    </div>
  );
}

const CONNECTION_TEXT: Record<SocketState, MessageKey> = {
  connecting: "portal.connection.connecting",
  open: "portal.connection.open",
  retrying: "portal.connection.retrying",
  closed: "portal.connection.closed",
};

/** Whether this page is live: after a network loss or a server restart it says so, and that
 * it reconnects by itself. */
function PortalConnection({ state }: { state: SocketState }) {
  const { t } = useI18n();
  return (
    <p class="portal-connection">
      <span class={`connection connection-${state}`} data-testid="portal-connection" data-state={state} role="status">
        <span class="connection-dot" aria-hidden="true" />
        {t(CONNECTION_TEXT[state])}
      </span>
    </p>
  );
}

function Steps({ current }: { current: Step }) {
  const { t } = useI18n();
  const index = STEPS.indexOf(current);
  return (
    <ol class="steps-bar" data-testid="portal-steps">
      {STEPS.map((step, position) => (
        <li
          key={step}
          class={position < index ? "done" : position === index ? "current" : ""}
          aria-current={position === index ? "step" : undefined}
        >
          <span class="steps-bar-dot" aria-hidden="true">
            {position < index ? "✓" : position + 1}
          </span>
          <span class="steps-bar-label">{t(STEP_TITLES[step])}</span>
        </li>
      ))}
    </ol>
  );
}

/** What a launcher script is saved as: the key in its name (the script reads it from there), never
 * in its URL, which proxies log (as the support client's download). */
function scriptName(key: string, extension: "sh" | "ps1"): string {
  return `relaydesk-support-${key}.${extension}`;
}

function Instructions({ commands, keyText, bare }: { commands: AgentCommands; keyText: string; bare?: boolean }) {
  const { t } = useI18n();
  const [platform, setPlatform] = useState<Platform>(() => detectPlatform(navigator.userAgent));
  const body = (
    <div class="instructions" data-testid="portal-instructions">
      <ClientDownload commands={commands} />
      <div class="segmented" role="tablist" aria-label={t("portal.instructions.platform")}>
        {(["posix", "windows"] as const).map((item) => (
          <button
            key={item}
            type="button"
            role="tab"
            aria-selected={platform === item}
            class={platform === item ? "segment active" : "segment"}
            data-testid={`portal-platform-${item}`}
            onClick={() => setPlatform(item)}
          >
            {t(item === "posix" ? "portal.instructions.posix" : "portal.instructions.windows")}
          </button>
        ))}
      </div>
      {platform === "posix" ? (
        <ol class="instruction-steps">
          <li>
            <p>{t("portal.instructions.posix_terminal")}</p>
            <CommandBox command={commands.linux_macos} testid="portal-command-posix" />
          </li>
          <li>
            <p>
              {t("portal.instructions.or_download")}{" "}
              <a href={commands.script_url_linux_macos} download={scriptName(keyText, "sh")} data-testid="portal-download-posix">
                {t("portal.instructions.download_posix")}
              </a>{" "}
              <span class="muted">{t("portal.instructions.posix_run", { file: scriptName(keyText, "sh") })}</span>
            </p>
          </li>
          <li>
            <p class="muted" data-testid="portal-macos">
              {t("portal.instructions.macos", { server: window.location.origin, key: keyText })}
            </p>
          </li>
        </ol>
      ) : (
        <ol class="instruction-steps">
          <li>
            <p>{t("portal.instructions.windows_terminal")}</p>
            <CommandBox command={commands.windows_powershell} testid="portal-command-windows" />
          </li>
          <li>
            <p>
              {t("portal.instructions.or_download")}{" "}
              <a href={commands.script_url_windows} download={scriptName(keyText, "ps1")} data-testid="portal-download-windows">
                {t("portal.instructions.download_windows")}
              </a>{" "}
              <span class="muted">{t("portal.instructions.windows_run")}</span>
            </p>
          </li>
        </ol>
      )}
      <p class="muted small">
        {t("portal.instructions.key_note")} <code data-testid="portal-key">{keyText}</code>
      </p>
    </div>
  );
  if (bare) return body;
  return (
    <section class="card" aria-labelledby="portal-instructions-title">
      <h2 id="portal-instructions-title">{t("portal.instructions.title")}</h2>
      <p class="muted">{t("portal.instructions.intro")}</p>
      {body}
    </section>
  );
}

/** The self-contained support client: saved under a name that carries the key (the link's
 * `download` attribute; the URL has none), so running it needs no typing. */
function ClientDownload({ commands }: { commands: AgentCommands }) {
  const { t } = useI18n();
  if (!commands.support_client_url || !commands.support_client_sha256) return null;
  const name = commands.support_client_file_name;
  const megabytes = Math.max(1, Math.round((commands.support_client_size ?? 0) / 1e6));
  return (
    <div class="client-download" data-testid="portal-client">
      <p>
        <a
          class="button button-primary"
          href={commands.support_client_url}
          download={name}
          data-testid="portal-client-download"
        >
          {t("portal.client.download")}
        </a>{" "}
        <span class="muted">{t("portal.client.what", { megabytes })}</span>
      </p>
      <p class="muted small">{t("portal.client.run", { name })}</p>
      <p class="muted small">
        {t("portal.client.sha256")}{" "}
        <code class="hash" data-testid="portal-client-sha256">
          {commands.support_client_sha256}
        </code>
      </p>
    </div>
  );
}

function CommandBox({ command, testid }: { command: string; testid: string }) {
  return (
    <div class="command-box">
      <code class="command" data-testid={testid}>
        {command}
      </code>
      <CopyButton text={command} testid={`${testid}-copy`} />
    </div>
  );
}

/** The technician asks for the screen (TOOL-2): allow or deny; while shared, revoke or stop. */
function ScreenPrompt({
  view,
  token,
  technicianName,
  onChange,
}: {
  view: PortalView;
  token: string;
  technicianName: string | null;
  onChange: () => Promise<void>;
}) {
  const { t } = useI18n();
  const action = useAction();
  const who = view.screen_asked_by ?? technicianName ?? t("portal.screen.someone");
  const post = (work: () => Promise<void>) =>
    void action.run(async () => {
      await work();
      await onChange();
    });
  const headers = customerHeaders(token);

  if (view.screen_state === "requested" || view.screen_requested) {
    const control = view.screen_requested === "control";
    return (
      <section class="card screen-prompt" role="alertdialog" aria-labelledby="screen-prompt-title" data-testid="screen-prompt" data-mode={view.screen_requested}>
        <h2 id="screen-prompt-title" dir="auto">
          {t(control ? "portal.screen.asks_control" : "portal.screen.asks_view", { name: who })}
        </h2>
        <p class="muted">{t(control ? "portal.screen.control_about" : "portal.screen.view_about")}</p>
        <ErrorNotice error={action.error} />
        <div class="form-actions">
          <button
            type="button"
            class="button button-primary"
            disabled={action.busy}
            data-testid="screen-allow"
            onClick={() => post(() => send(api.POST("/api/v1/portal/session/screen/answer", { ...headers, body: { allow: true } })))}
          >
            {t("portal.screen.allow")}
          </button>
          <button
            type="button"
            class="button button-secondary"
            disabled={action.busy}
            data-testid="screen-deny"
            onClick={() => post(() => send(api.POST("/api/v1/portal/session/screen/answer", { ...headers, body: { allow: false } })))}
          >
            {t("portal.screen.deny")}
          </button>
        </div>
      </section>
    );
  }
  if (view.screen_state === "view" || view.screen_state === "control") {
    const control = view.screen_state === "control";
    return (
      <section class="sharing-bar" role="status" data-testid="screen-sharing" data-state={view.screen_state}>
        <span class="sharing-dot" aria-hidden="true" />
        <span class="sharing-text" dir="auto">
          {t(control ? "portal.screen.sharing_control" : "portal.screen.sharing_view", { name: technicianName ?? who })}
        </span>
        <span class="sharing-actions">
          {control && (
            <button
              type="button"
              class="button button-secondary"
              disabled={action.busy}
              data-testid="screen-revoke-control"
              onClick={() => post(() => send(api.POST("/api/v1/portal/session/screen/revoke-control", headers)))}
            >
              {t("portal.screen.revoke_control")}
            </button>
          )}
          <button
            type="button"
            class="button button-danger"
            disabled={action.busy}
            data-testid="screen-stop-sharing"
            onClick={() => post(() => send(api.POST("/api/v1/portal/session/screen/stop", headers)))}
          >
            {t("portal.screen.stop")}
          </button>
        </span>
        <ErrorNotice error={action.error} />
      </section>
    );
  }
  return null;
}

function EndSession({
  status,
  token,
  onGone,
  onEnded,
}: {
  status: PortalView["status"];
  token: string;
  onGone: () => void;
  onEnded: () => Promise<void>;
}) {
  const { t } = useI18n();
  const action = useAction();
  if (status === "waiting_for_agent") {
    return (
      <div class="portal-end">
        <button type="button" class="button button-quiet" data-testid="portal-cancel" onClick={onGone}>
          {t("portal.cancel")}
        </button>
      </div>
    );
  }
  return (
    <div class="portal-end">
      <ErrorNotice error={action.error} />
      <ConfirmButton
        label={t("portal.end")}
        question={t("portal.end_question")}
        testid="portal-end"
        disabled={action.busy}
        onConfirm={() =>
          void action.run(async () => {
            await send(api.POST("/api/v1/portal/session/end", customerHeaders(token)));
            await onEnded();
          })
        }
      />
    </div>
  );
}
