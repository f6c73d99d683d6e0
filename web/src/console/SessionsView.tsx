/** The sessions the technician runs, as tabs (ATT-4): switch between them, unread chat badges,
 * and for each: chat, system information, the screen (consent and viewer), shells, files, hold
 * and end (ATT-9).
 *
 * Every open session keeps its workspace mounted, the one in front shown and the others hidden,
 * and so does the whole view while the technician is on another console page: unmounting a
 * workspace would close its tunnels, which ends its shells on the device and cancels its file
 * transfers. Only closing the tab (or ending, holding the session) unmounts it. A hidden
 * workspace's screen view pauses its picture (the connection stays). */

import { useCallback, useEffect } from "preact/hooks";
import { useI18n } from "../i18n";
import { Chat } from "../shared/Chat";
import { useAction } from "../shared/hooks";
import { Link } from "../shared/router";
import { Badge, Card, ConfirmButton, ErrorNotice } from "../shared/ui";
import { useConsole } from "./ConsoleContext";
import { customerName, deviceLabel } from "./present";
import { ScreenPanel } from "./screen/ScreenPanel";
import type { OpenSession } from "./store";
import { FilesPanel } from "./files/FilesPanel";
import { ShellPanel } from "./shell/ShellPanel";
import { SysinfoPanel } from "./SysinfoPanel";

/** `shown`: whether the Sessions page is the one on screen (else the view stays, hidden). */
export function SessionsView({ shown }: { shown: boolean }) {
  const { t } = useI18n();
  const { state, dispatch } = useConsole();

  useEffect(() => {
    dispatch({ type: "viewing", sessions: shown });
    return () => dispatch({ type: "viewing", sessions: false });
  }, [dispatch, shown]);

  if (state.tabs.length === 0) {
    if (!shown) return null;
    return (
      <Card testid="sessions-empty">
        <div class="empty-state">
          <p class="empty-title">{t("sessions.none")}</p>
          <p class="muted">{t("sessions.none_about")}</p>
          <Link href="/console/queues" class="button button-secondary">
            {t("sessions.to_queues")}
          </Link>
        </div>
      </Card>
    );
  }
  const front = state.tabs.find((tab) => tab.session.id === state.front) ?? state.tabs[0];
  return (
    <div class="sessions" hidden={!shown}>
      <div class="session-tabs" role="tablist" aria-label={t("sessions.tabs")} data-testid="session-tabs">
        {state.tabs.map((tab) => {
          const active = tab === front;
          return (
            <button
              key={tab.session.id}
              type="button"
              role="tab"
              aria-selected={active}
              class={active ? "session-tab active" : "session-tab"}
              data-testid="session-tab"
              data-session-id={tab.session.id}
              onClick={() => dispatch({ type: "focus", sessionId: tab.session.id })}
            >
              <span class={`status-dot status-${tab.session.status === "ended" ? "ended" : tab.online === false ? "offline" : "online"}`} aria-hidden="true" />
              <span class="session-tab-name" dir="auto">
                {customerName(tab.session, t)}
              </span>
              <span class="session-tab-host muted">{tab.session.device.hostname}</span>
              {tab.unread > 0 && (
                <span class="unread" data-testid="session-tab-unread" title={t("sessions.unread", { n: tab.unread })}>
                  {tab.unread}
                </span>
              )}
            </button>
          );
        })}
      </div>
      {state.tabs.map((tab) => (
        <Workspace key={tab.session.id} tab={tab} front={tab === front} shown={shown && tab === front} />
      ))}
    </div>
  );
}

/** `front`: the tab in front; `shown`: in front and the Sessions page on screen. */
function Workspace({ tab, front, shown }: { tab: OpenSession; front: boolean; shown: boolean }) {
  const { t } = useI18n();
  const ops = useConsole();
  const action = useAction();
  const session = tab.session;
  const ended = session.status === "ended";
  const active = session.status === "active";
  const { dispatch } = ops;
  // The screen panel's own answers keep the tab current; the customer's come on the console
  // WebSocket (session.screen).
  const screenChanged = useCallback((changed: OpenSession["session"]) => dispatch({ type: "session", session: changed }), [dispatch]);

  const run = (work: () => Promise<void>) => void action.run(work);

  let chatClosed: string | null = null;
  if (ended) chatClosed = t("chat.ended");
  else if (!active) chatClosed = t("chat.not_owner");

  return (
    <div class="workspace" hidden={!front} data-testid="session-workspace" data-session-id={session.id}>
      <Card>
        <div class="workspace-header">
          <div class="workspace-title">
            <h2 dir="auto" data-testid="workspace-customer">
              {customerName(session, t)}
            </h2>
            <div class="workspace-meta">
              <span class="muted" data-testid="workspace-device">
                {deviceLabel(session)}
              </span>
              {session.device.username && <span class="muted">· {session.device.username}</span>}
              <SessionStatus tab={tab} />
            </div>
          </div>
          <div class="workspace-actions">
            {active && (
              <>
                <button
                  type="button"
                  class="button button-secondary"
                  disabled={action.busy}
                  data-testid="session-hold"
                  title={t("session.hold_about")}
                  onClick={() => run(() => ops.hold(session.id))}
                >
                  {t("session.hold")}
                </button>
                <ConfirmButton
                  label={t("session.end")}
                  question={t("session.end_question")}
                  testid="session-end"
                  disabled={action.busy}
                  onConfirm={() => run(() => ops.end(session.id))}
                />
              </>
            )}
            {!active && (
              <button
                type="button"
                class="button button-secondary"
                data-testid="session-close-tab"
                onClick={() => ops.dispatch({ type: "close", sessionId: session.id })}
              >
                {t("session.close_tab")}
              </button>
            )}
          </div>
        </div>
        {ended && (
          <p class="notice notice-info" role="status" data-testid="session-ended">
            {t("session.ended_notice", { by: session.ended_by || "—" })}
          </p>
        )}
        {session.status === "held" && (
          <p class="notice notice-info" role="status">
            {t("session.held_notice")}
          </p>
        )}
        <ErrorNotice error={action.error} />
      </Card>
      {active && <ScreenPanel sessionId={session.id} session={session} shown={shown} onSession={screenChanged} />}
      {!tab.chatEnabled && (
        <p class="notice notice-info" role="status" data-testid="chat-disabled">
          {t("chat.disabled")}
        </p>
      )}
      <div class={tab.chatEnabled ? "workspace-grid" : "workspace-grid workspace-grid-single"}>
        {tab.chatEnabled && (
          <section class="card chat-card" data-testid="session-chat">
            <header class="card-header">
              <h2>{t("chat.title")}</h2>
            </header>
            <Chat
              messages={tab.chat}
              own="technician"
              closed={chatClosed}
              emptyText={t("chat.empty_technician")}
              onSend={(text) => ops.sendChat(session.id, text)}
            />
          </section>
        )}
        <SysinfoPanel tab={tab} />
      </div>
      {active && <ShellPanel sessionId={session.id} live={tab.online !== false} />}
      {active && <FilesPanel sessionId={session.id} live={tab.online !== false} />}
    </div>
  );
}

function SessionStatus({ tab }: { tab: OpenSession }) {
  const { t } = useI18n();
  const status = tab.session.status;
  if (status !== "active") {
    return (
      <span data-testid="workspace-status">
        <Badge tone={status === "ended" ? "bad" : "accent"}>{t(`session.status.${status}`)}</Badge>
      </span>
    );
  }
  return (
    <span data-testid="workspace-status">
      {tab.online === null ? (
        <Badge tone="neutral">{t("session.agent_unknown")}</Badge>
      ) : tab.online ? (
        <Badge tone="good">{t("session.online")}</Badge>
      ) : (
        <Badge tone="bad">{t("session.offline")}</Badge>
      )}
    </span>
  );
}
