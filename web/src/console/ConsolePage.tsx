/** /console: the technician console — queues, session tabs, session keys, live notifications. */

import { useEffect, useRef, useState } from "preact/hooks";
import type { Queue } from "../api/client";
import { SessionReportsPanel } from "../admin/SessionReportsPanel";
import { useI18n, type MessageKey } from "../i18n";
import { SideLayout } from "../shared/AppShell";
import { useDocumentTitle } from "../shared/hooks";
import { navigate } from "../shared/router";
import { CONSOLE_SECTIONS, type ConsoleSection } from "../shared/routes";
import { useMe } from "../shared/session";
import type { SocketState } from "../shared/socket";
import { Card } from "../shared/ui";
import { AdHocView } from "./adhoc/AdHocView";
import { ConsoleProvider, useConsole } from "./ConsoleContext";
import { DevicesView } from "./devices/DevicesView";
import { customerName, deviceLabel } from "./present";
import { QueuesView } from "./QueuesView";
import { SessionKeyDialog } from "./SessionKeyDialog";
import { SessionsView } from "./SessionsView";
import { unreadTotal, waitingSessions, type Toast } from "./store";
import { askForNotifications, chime, notificationChoice, notify, type NotificationChoice } from "./workspace/arrivals";

const TITLES: Record<ConsoleSection, MessageKey> = {
  queues: "console.queues",
  sessions: "console.sessions",
  "jump-clients": "devices.title",
  "ad-hoc": "console.ad_hoc",
  reports: "console.reports",
};

const DESCRIPTIONS: Record<ConsoleSection, MessageKey> = {
  queues: "console.queues.about",
  sessions: "console.sessions.about",
  "jump-clients": "devices.about",
  "ad-hoc": "console.ad_hoc.about",
  reports: "console.reports.about",
};

const TOAST_MS = 20_000;

export function ConsolePage({ section }: { section: ConsoleSection }) {
  return (
    <ConsoleProvider>
      <ConsoleLayout section={section} />
    </ConsoleProvider>
  );
}

function ConsoleLayout({ section }: { section: ConsoleSection }) {
  const { t } = useI18n();
  const me = useMe();
  const { state } = useConsole();
  const [keyDialog, setKeyDialog] = useState(false);
  useDocumentTitle(t(TITLES[section]));
  // The waiting sessions shown, and those past the first page the server sent (queued ones).
  const waiting = waitingSessions(state.queue).length + notShown(state.queue);
  const unread = unreadTotal(state);
  const canGenerate = me.permissions.includes("generate_session_keys");

  const badges: Partial<Record<ConsoleSection, { text: string; tone: "count" | "alert"; testid: string }>> = {};
  if (waiting) badges.queues = { text: String(waiting), tone: "count", testid: "nav-badge-queues" };
  if (state.tabs.length) {
    badges.sessions = {
      text: unread ? String(unread) : String(state.tabs.length),
      tone: unread ? "alert" : "count",
      testid: unread ? "nav-badge-unread" : "nav-badge-sessions",
    };
  }

  return (
    <SideLayout
      label={t("console.navigation")}
      nav={CONSOLE_SECTIONS.map((key) => ({
        href: `/console/${key}`,
        label: t(TITLES[key]),
        active: key === section,
        testid: `console-nav-${key}`,
        badge: badges[key],
      }))}
    >
      <div class="page-header page-header-row">
        <div>
          <h1>{t(TITLES[section])}</h1>
          <p class="muted">{t("console.welcome", { name: me.name })}</p>
        </div>
        <div class="page-header-actions">
          <Connection state={state.connection} />
          <NotificationsSwitch />
          {canGenerate && (
            <button type="button" class="button button-primary" data-testid="generate-key" onClick={() => setKeyDialog(true)}>
              {t("key.open")}
            </button>
          )}
        </div>
      </div>
      {section === "queues" && <QueuesView />}
      <SessionsView shown={section === "sessions"} />
      {section === "reports" && <SessionReportsPanel />}
      {section === "jump-clients" && <DevicesView />}
      {section === "ad-hoc" && <AdHocView />}
      {section !== "queues" &&
        section !== "sessions" &&
        section !== "reports" &&
        section !== "jump-clients" &&
        section !== "ad-hoc" && (
        <Card testid={`console-${section}`}>
          <div class="empty-state">
            <p class="empty-title">{t("console.not_yet")}</p>
            <p class="muted">{t(DESCRIPTIONS[section])}</p>
          </div>
        </Card>
      )}
      {keyDialog && <SessionKeyDialog onClose={() => setKeyDialog(false)} />}
      <Toasts />
    </SideLayout>
  );
}

const CONNECTION_TEXT: Record<SocketState, MessageKey> = {
  connecting: "console.connection.connecting",
  open: "console.connection.open",
  retrying: "console.connection.retrying",
  closed: "console.connection.closed",
};

function Connection({ state }: { state: SocketState }) {
  const { t } = useI18n();
  return (
    <span class={`connection connection-${state}`} data-testid="console-connection" data-state={state} role="status">
      <span class="connection-dot" aria-hidden="true" />
      {t(CONNECTION_TEXT[state])}
    </span>
  );
}

/** The button that asks the browser for notifications; shown only while the technician has not
 * answered (once allowed it says so, once refused it is gone: never nag). */
function NotificationsSwitch() {
  const { t } = useI18n();
  const [choice, setChoice] = useState<NotificationChoice>(notificationChoice);
  if (choice === "granted") {
    return (
      <span class="muted small" data-testid="notifications-on">
        {t("arrivals.on")}
      </span>
    );
  }
  if (choice !== "default") return null;
  return (
    <button
      type="button"
      class="button button-secondary"
      data-testid="notifications-enable"
      title={t("arrivals.enable_about")}
      onClick={() => void askForNotifications().then(setChoice)}
    >
      {t("arrivals.enable")}
    </button>
  );
}

function Toasts() {
  const { t } = useI18n();
  const { state, dispatch } = useConsole();
  // Each arrival (a new toast) once: a tone and, if allowed, a desktop notification.
  const announced = useRef(new Set<number>());
  useEffect(() => {
    for (const toast of state.toasts) {
      if (announced.current.has(toast.id)) continue;
      announced.current.add(toast.id);
      chime();
      notify(
        t("arrivals.title", { name: customerName(toast.session, t) }),
        deviceLabel(toast.session),
        `relaydesk-arrival-${toast.session.id}`,
        () => {
          dispatch({ type: "select", sessionId: toast.session.id });
          navigate("/console/queues");
        },
      );
    }
  }, [state.toasts, t, dispatch]);
  if (!state.toasts.length) return null;
  return (
    <div class="toasts" aria-live="assertive">
      {state.toasts.map((toast) => (
        <ToastCard key={toast.id} toast={toast} />
      ))}
    </div>
  );
}

function ToastCard({ toast }: { toast: Toast }) {
  const { t } = useI18n();
  const { dispatch } = useConsole();
  useEffect(() => {
    const timer = setTimeout(() => dispatch({ type: "dismiss", toastId: toast.id }), TOAST_MS);
    return () => clearTimeout(timer);
  }, [toast.id, dispatch]);
  return (
    <div class="toast" role="alert" data-testid="toast" data-session-id={toast.session.id}>
      <span class="toast-icon" aria-hidden="true">
        ●
      </span>
      <div class="toast-text">
        <strong>{t("toast.arrived")}</strong>
        <span dir="auto">{customerName(toast.session, t)}</span>
        <span class="muted small">{deviceLabel(toast.session)}</span>
      </div>
      <div class="toast-actions">
        <button
          type="button"
          class="button button-primary"
          data-testid="toast-view"
          onClick={() => {
            dispatch({ type: "select", sessionId: toast.session.id });
            navigate("/console/queues");
          }}
        >
          {t("toast.view")}
        </button>
        <button
          type="button"
          class="toast-close"
          aria-label={t("common.close")}
          title={t("common.close")}
          onClick={() => dispatch({ type: "dismiss", toastId: toast.id })}
        >
          ×
        </button>
      </div>
    </div>
  );
}

/** How many of the queue's sessions are past the page the server sent. */
function notShown(queue: Queue | null): number {
  if (!queue) return 0;
  const lists = [{ total: queue.personal_total, shown: queue.personal.length }];
  lists.push(...queue.teams.map((team) => ({ total: team.total, shown: team.sessions.length })));
  return lists.reduce((sum, list) => sum + Math.max(0, list.total - list.shown), 0);
}
