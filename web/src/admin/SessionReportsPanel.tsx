/** Session reports (GOV-8): who helped whom, on which device, when and for how long; each
 * session's timeline and chat transcript; exports made here from the API's data. */

import { useState } from "preact/hooks";
import { api, call, type SessionReport, type SupportSession } from "../api/client";
import { useI18n } from "../i18n";
import { ChatLog } from "../shared/Chat";
import { formatDateTime } from "../shared/format";
import { useAction, useLoad } from "../shared/hooks";
import { navigate, useLocation } from "../shared/router";
import { matchRoute, REPORTS_PATH } from "../shared/routes";
import { fileSafe, formatDuration, saveFile } from "../shared/text";
import { Badge, Card, DetailsList, ErrorNotice, Loading } from "../shared/ui";
import { partyLabel } from "./auditLabels";
import { durationOf, eventDetails, eventLabel, reportCsv, reportsCsv, startedAt } from "./reports";
import { customerName } from "../console/present";
import { ShellRecordings } from "./ShellRecordings";

const PAGE = 25;
const EXPORT_PAGE = 500;

const STATUS_TONE: Record<SupportSession["status"], "neutral" | "good" | "bad" | "accent"> = {
  waiting: "accent",
  active: "good",
  held: "accent",
  ended: "neutral",
};

async function allSessions(): Promise<SupportSession[]> {
  const items: SupportSession[] = [];
  for (let offset = 0; ; offset += EXPORT_PAGE) {
    const page = await call(api.GET("/api/v1/reports/sessions", { params: { query: { limit: EXPORT_PAGE, offset } } }));
    items.push(...page.items);
    if (page.items.length < EXPORT_PAGE || items.length >= page.total) return items;
  }
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** The reports a user may read (all of them for an administrator, his own sessions' for a
 * technician: the server decides); each report is a page of its own, /…/reports/<id>. */
export function SessionReportsPanel() {
  const { pathname } = useLocation();
  const route = matchRoute(pathname);
  const base = route.area === "console" ? REPORTS_PATH.console : REPORTS_PATH.admin;
  const open = route.area === "console" || route.area === "admin" ? route.reportId : undefined;
  const [offset, setOffset] = useState(0);
  return open === undefined ? (
    <ReportList key={offset} offset={offset} onOffset={setOffset} onOpen={(id) => navigate(`${base}/${id}`)} />
  ) : (
    <ReportDetail key={open} sessionId={open} onBack={() => navigate(base)} />
  );
}

function ReportList({
  offset,
  onOffset,
  onOpen,
}: {
  offset: number;
  onOffset: (offset: number) => void;
  onOpen: (id: number) => void;
}) {
  const { t, language } = useI18n();
  const page = useLoad(() => call(api.GET("/api/v1/reports/sessions", { params: { query: { limit: PAGE, offset } } })));
  const exporting = useAction();

  const exportAll = (format: "csv" | "json") =>
    void exporting.run(async () => {
      const sessions = await allSessions();
      const name = `relaydesk-sessions-${today()}`;
      if (format === "csv") saveFile(`${name}.csv`, reportsCsv(sessions), "text/csv;charset=utf-8");
      else saveFile(`${name}.json`, `${JSON.stringify(sessions, null, 2)}\n`, "application/json");
    });

  if (page.data === null) return page.error ? <ErrorNotice error={page.error} /> : <Loading />;
  const { items, total } = page.data;
  return (
    <Card
      title={t("reports.sessions")}
      actions={
        <>
          <span class="muted small">{t("admin.audit.export")}</span>
          <button type="button" class="button button-secondary" disabled={exporting.busy || !total} data-testid="reports-export-csv" onClick={() => exportAll("csv")}>
            CSV
          </button>
          <button type="button" class="button button-secondary" disabled={exporting.busy || !total} data-testid="reports-export-json" onClick={() => exportAll("json")}>
            JSON
          </button>
        </>
      }
    >
      <ErrorNotice error={exporting.error} />
      {items.length === 0 ? (
        <div class="empty-state">
          <p class="empty-title" data-testid="reports-empty">
            {t("reports.none")}
          </p>
          <p class="muted">{t("reports.none_about")}</p>
        </div>
      ) : (
        <div class="table-scroll">
          <table class="table table-clickable" data-testid="reports-table">
            <thead>
              <tr>
                <th>#</th>
                <th>{t("reports.technician")}</th>
                <th>{t("reports.customer")}</th>
                <th>{t("reports.device")}</th>
                <th>{t("reports.start")}</th>
                <th>{t("reports.end")}</th>
                <th class="num">{t("reports.duration")}</th>
                <th>{t("reports.status")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((session) => (
                <tr
                  key={session.id}
                  data-testid="report-row"
                  data-session-id={session.id}
                  tabIndex={0}
                  onClick={() => onOpen(session.id)}
                  onKeyDown={(event) => {
                    if (event.key === "Enter" || event.key === " ") {
                      event.preventDefault();
                      onOpen(session.id);
                    }
                  }}
                >
                  <td class="muted">{session.id}</td>
                  <td>{session.owner_name ?? <span class="muted">{t("reports.nobody")}</span>}</td>
                  <td dir="auto">{customerName(session, t)}</td>
                  <td class="mono">{session.device.hostname}</td>
                  <td class="nowrap">{formatDateTime(startedAt(session), language)}</td>
                  <td class="nowrap">{formatDateTime(session.ended_at, language)}</td>
                  <td class="num nowrap" data-testid="report-duration">
                    {formatDuration(durationOf(session))}
                  </td>
                  <td>
                    <Badge tone={STATUS_TONE[session.status]}>{t(`session.status.${session.status}`)}</Badge>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="pager">
        <span class="muted" data-testid="reports-count">
          {t("admin.audit.count", { from: total === 0 ? 0 : offset + 1, to: offset + items.length, total })}
        </span>
        <button type="button" class="button button-secondary" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - PAGE))}>
          {t("admin.audit.newer")}
        </button>
        <button type="button" class="button button-secondary" disabled={offset + items.length >= total} onClick={() => onOffset(offset + PAGE)}>
          {t("admin.audit.older")}
        </button>
      </div>
    </Card>
  );
}

function ReportDetail({ sessionId, onBack }: { sessionId: number; onBack: () => void }) {
  const { t, language } = useI18n();
  const report = useLoad<SessionReport>(() =>
    call(api.GET("/api/v1/reports/sessions/{session_id}", { params: { path: { session_id: sessionId } } })),
  );
  const back = (
    <button type="button" class="button button-quiet" data-testid="report-back" onClick={onBack}>
      ← {t("reports.back")}
    </button>
  );
  if (report.data === null) {
    return (
      <>
        <div class="toolbar toolbar-start">{back}</div>
        {report.error ? <ErrorNotice error={report.error} /> : <Loading />}
      </>
    );
  }
  const { session, events, chat, duration_seconds } = report.data;
  const name = `relaydesk-session-${session.id}-${fileSafe(session.device.hostname || "device")}`;
  const summary: [string, string, string][] = [
    [t("reports.technician"), session.owner_name ?? t("reports.nobody"), "report-technician"],
    [t("reports.customer"), customerName(session, t), "report-customer"],
    [t("reports.device"), [session.device.hostname, session.device.os, session.device.os_version].filter(Boolean).join(" · "), "report-device"],
    [t("session.device_user"), session.device.username || "—", "report-device-user"],
    [t("reports.created"), formatDateTime(session.created_at, language), "report-created"],
    [t("reports.start"), formatDateTime(session.accepted_at, language), "report-start"],
    [t("reports.end"), formatDateTime(session.ended_at, language), "report-end"],
    [t("reports.duration"), formatDuration(duration_seconds), "report-duration-detail"],
    [t("reports.ended_by"), session.ended_by ? partyLabel(session.ended_by, t, session.customer_name) : "—", "report-ended-by"],
  ];
  return (
    <div data-testid="report-detail" data-session-id={session.id}>
      <div class="toolbar toolbar-start">
        {back}
        <span class="toolbar-spacer" />
        <span class="muted small">{t("admin.audit.export")}</span>
        <button
          type="button"
          class="button button-secondary"
          data-testid="report-export-json"
          onClick={() => saveFile(`${name}.json`, `${JSON.stringify(report.data, null, 2)}\n`, "application/json")}
        >
          JSON
        </button>
        <button
          type="button"
          class="button button-secondary"
          data-testid="report-export-csv"
          onClick={() => report.data && saveFile(`${name}.csv`, reportCsv(report.data), "text/csv;charset=utf-8")}
        >
          CSV
        </button>
      </div>
      <Card
        title={t("reports.session_title", { id: session.id })}
        actions={<Badge tone={STATUS_TONE[session.status]}>{t(`session.status.${session.status}`)}</Badge>}
      >
        <DetailsList rows={summary} columns />
        {session.issue_description && (
          <div class="details-issue">
            <h3>{t("session.issue")}</h3>
            <p class="issue-text" dir="auto">
              {session.issue_description}
            </p>
          </div>
        )}
      </Card>
      <div class="report-grid">
        <Card title={t("reports.timeline")} testid="report-timeline">
          {events.length === 0 ? (
            <p class="muted">{t("reports.no_events")}</p>
          ) : (
            <ol class="timeline">
              {events.map((event) => {
                const label = eventLabel(event.kind);
                const details = eventDetails(event, t, session.customer_name);
                return (
                  <li key={event.id} class="timeline-item" data-testid="report-event" data-kind={event.kind}>
                    <time class="timeline-time" dateTime={event.at}>
                      {formatDateTime(event.at, language)}
                    </time>
                    <div class="timeline-body">
                      <span class="strong">{label ? t(label) : event.kind}</span>
                      {event.actor_label && (
                        <span class="muted" data-testid="report-event-actor">
                          {" · "}
                          {partyLabel(event.actor_label, t, session.customer_name)}
                        </span>
                      )}
                      {details && <div class="timeline-details mono small muted">{details}</div>}
                    </div>
                  </li>
                );
              })}
            </ol>
          )}
        </Card>
        <Card title={t("reports.transcript")} testid="report-transcript">
          <ChatLog messages={chat} own="technician" emptyText={t("reports.no_chat")} testid="report-chat" />
        </Card>
      </div>
      <ShellRecordings sessionId={session.id} recordings={report.data.recordings} />
    </div>
  );
}
