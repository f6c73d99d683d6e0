/** The queues (ATT-3): the technician's personal queue and his teams' queues, live; the
 * details of a waiting session and Accept (ATT-4). */

import { useEffect, useState } from "preact/hooks";
import type { SupportSession } from "../api/client";
import { useI18n } from "../i18n";
import { formatDateTime } from "../shared/format";
import { formatNumber } from "../shared/text";
import { useAction } from "../shared/hooks";
import { navigate } from "../shared/router";
import { Badge, Card, DetailsList, ErrorNotice, Loading } from "../shared/ui";
import { useConsole } from "./ConsoleContext";
import { customerName, deviceLabel, issueLine, queueName, waited } from "./present";
import { findWaiting } from "./store";

/** The current time, updated every `ms` milliseconds (for "waiting for 5 min"). */
export function useNow(ms = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

export function QueuesView() {
  const { t } = useI18n();
  const { state } = useConsole();
  const queue = state.queue;
  if (!queue) return <Card>{<Loading />}</Card>;
  const selected = findWaiting(queue, state.selected);
  return (
    <div class="queues-layout">
      <div class="queues-column">
        <QueueList
          title={t("queue.personal")}
          sessions={queue.personal}
          total={queue.personal_total}
          empty={t("queue.personal_empty")}
          testid="queue-personal"
          selected={state.selected}
        />
        {queue.teams.map((team) => (
          <QueueList
            key={team.team_id}
            title={team.team_name}
            subtitle={t("queue.team")}
            sessions={team.sessions}
            total={team.total}
            empty={t("queue.team_empty")}
            testid={`queue-team-${team.team_id}`}
            selected={state.selected}
          />
        ))}
      </div>
      <div class="queues-detail">
        {selected ? (
          <SessionDetails key={selected.id} session={selected} />
        ) : (
          <Card testid="session-details-empty">
            <div class="empty-state">
              <p class="empty-title">{t("queue.pick_title")}</p>
              <p class="muted">{t("queue.pick_about")}</p>
            </div>
          </Card>
        )}
      </div>
    </div>
  );
}

function QueueList({
  title,
  subtitle,
  sessions,
  total,
  empty,
  testid,
  selected,
}: {
  title: string;
  subtitle?: string;
  sessions: SupportSession[];
  /** How many wait in this queue in all: the server sends the first page (oldest first). */
  total: number;
  empty: string;
  testid: string;
  selected: number | null;
}) {
  const { t, language } = useI18n();
  const { dispatch } = useConsole();
  const now = useNow();
  return (
    <section class="card queue-card" data-testid={testid}>
      <header class="queue-card-header">
        <div>
          <h2>{title}</h2>
          {subtitle && <span class="muted small">{subtitle}</span>}
        </div>
        <span class={sessions.length ? "count count-active" : "count"} data-testid={`${testid}-count`}>
          {formatNumber(Math.max(total, sessions.length), language, 0)}
        </span>
      </header>
      {total > sessions.length && (
        <p class="queue-more muted small" data-testid={`${testid}-more`}>
          {t("queue.more", {
            shown: formatNumber(sessions.length, language, 0),
            total: formatNumber(total, language, 0),
          })}
        </p>
      )}
      {sessions.length === 0 ? (
        <p class="queue-empty muted">{empty}</p>
      ) : (
        <ul class="queue-list">
          {sessions.map((session) => (
            <li key={session.id}>
              <button
                type="button"
                class={session.id === selected ? "queue-item selected" : "queue-item"}
                aria-pressed={session.id === selected}
                data-testid="queue-item"
                data-session-id={session.id}
                onClick={() => dispatch({ type: "select", sessionId: session.id })}
              >
                <span class="queue-item-main">
                  <span class="queue-item-name" dir="auto">
                    {customerName(session, t)}
                  </span>
                  <span class="queue-item-device muted">{deviceLabel(session)}</span>
                  {issueLine(session) && (
                    <span class="queue-item-device muted" dir="auto" data-testid="queue-item-issue">
                      {issueLine(session)}
                    </span>
                  )}
                </span>
                <span class="queue-item-side">
                  {session.status === "held" ? (
                    <Badge tone="accent">{t("session.status.held")}</Badge>
                  ) : (
                    <span class="muted small">{waited(session.queued_at, now, t)}</span>
                  )}
                  {session.position !== null && <span class="queue-position">#{session.position}</span>}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function SessionDetails({ session }: { session: SupportSession }) {
  const { t, language } = useI18n();
  const { state, accept } = useConsole();
  const action = useAction();
  const now = useNow();
  const device = session.device;
  const rows: [string, string, string][] = [
    [t("session.customer"), customerName(session, t), "detail-customer"],
    [t("session.device"), device.hostname || "—", "detail-hostname"],
    [t("session.os"), [device.os, device.os_version].filter(Boolean).join(" ") || "—", "detail-os"],
    [t("session.device_user"), device.username || "—", "detail-username"],
    [t("session.queue"), queueName(session, state.queue, t), "detail-queue"],
    [t("session.position"), session.position !== null ? `#${session.position}` : "—", "detail-position"],
    [
      t("session.waiting_since"),
      `${formatDateTime(session.queued_at, language)} (${waited(session.queued_at, now, t)})`,
      "detail-waiting",
    ],
  ];
  return (
    <Card testid="session-details">
      <header class="details-header">
        <div>
          <h2 dir="auto">{customerName(session, t)}</h2>
          <span class="muted">{deviceLabel(session)}</span>
        </div>
        <Badge tone={session.status === "held" ? "accent" : "neutral"}>{t(`session.status.${session.status}`)}</Badge>
      </header>
      <DetailsList rows={rows} />
      <div class="details-issue">
        <h3>{t("session.issue")}</h3>
        <p class={issueLine(session) ? "issue-text" : "muted"} dir="auto" data-testid="detail-issue">
          {issueLine(session) || t("session.no_issue")}
        </p>
      </div>
      <ErrorNotice error={action.error} />
      <div class="form-actions">
        <button
          type="button"
          class="button button-primary button-large"
          disabled={action.busy}
          data-testid="session-accept"
          onClick={() =>
            void action.run(async () => {
              await accept(session.id);
              navigate("/console/sessions");
            })
          }
        >
          {t("session.accept")}
        </button>
      </div>
    </Card>
  );
}
