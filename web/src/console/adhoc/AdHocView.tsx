/** /console/ad-hoc: ad hoc support (ADH-1 … ADH-7). The technician prepares a session for a
 * recipient (e-mail and access password, checked by the server's policy), sees the link, the
 * security code and the password once, follows the progress live (adhoc.changed on the
 * console's socket), connects with the access password, issues a new code, ends it, reads its
 * report. Without the permission "Ad hoc support" the form is greyed and says why. */

import { useEffect, useState } from "preact/hooks";
import { api, call } from "../../api/client";
import { auditActionLabel, auditDetailLines } from "../../admin/auditLabels";
import { useI18n, type Translate } from "../../i18n";
import { useAction, useLoad } from "../../shared/hooks";
import { navigate } from "../../shared/router";
import { useMe } from "../../shared/session";
import { Badge, Card, Checkbox, ConfirmButton, CopyButton, ErrorNotice, Field, fieldError, Loading, Notice } from "../../shared/ui";
import { useConsole } from "../ConsoleContext";
import { actionsOf, isOpen, STATE_LABELS, STEPS, stepOf, type AdHocPrepared, type AdHocReport, type AdHocSession } from "./adhoc";
import "./adhoc.css";

const path = (id: number) => ({ params: { path: { session_id: id } } });

export function AdHocView() {
  const { onAdHocEvent } = useConsole();
  const sessions = useLoad<AdHocSession[]>(() => call(api.GET("/api/v1/ad-hoc-sessions")));
  const { reload } = sessions;
  // Live progress: every change of one of his sessions reads the list again.
  useEffect(() => onAdHocEvent(() => reload()), [onAdHocEvent, reload]);
  const [prepared, setPrepared] = useState<{ answer: AdHocPrepared; password: string } | null>(null);
  return (
    <div class="adhoc" data-testid="console-ad-hoc">
      <PrepareForm
        onPrepared={(answer, password) => {
          setPrepared({ answer, password });
          reload();
        }}
      />
      {prepared && <Prepared prepared={prepared.answer} password={prepared.password} onDone={() => setPrepared(null)} />}
      <SessionList sessions={sessions.data} error={sessions.error} loading={sessions.loading} reload={reload} />
    </div>
  );
}

function PrepareForm({ onPrepared }: { onPrepared: (answer: AdHocPrepared, password: string) => void }) {
  const { t } = useI18n();
  const me = useMe();
  const allowed = me.permissions.includes("ad_hoc_support");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [chat, setChat] = useState(false);
  const action = useAction();
  const submit = (sendEmail: boolean) =>
    void action.run(async () => {
      const answer = await call(
        api.POST("/api/v1/ad-hoc-sessions", {
          body: { recipient_email: email, access_password: password, chat_on_connect: chat, send_email: sendEmail },
        }),
      );
      onPrepared(answer, password);
      setEmail("");
      setPassword("");
      setChat(false);
    });
  return (
    <Card title={t("adhoc.prepare.title")} testid="adhoc-prepare">
      <p class="muted">{t("adhoc.prepare.about")}</p>
      {!allowed && (
        <Notice kind="warning" testid="adhoc-not-permitted">
          {t("adhoc.not_permitted")}
        </Notice>
      )}
      <form
        class="form"
        aria-disabled={!allowed}
        onSubmit={(event) => {
          event.preventDefault();
          submit(true);
        }}
      >
        <fieldset disabled={!allowed || action.busy} class="form-fieldset">
          <Field label={t("adhoc.recipient_email")} error={fieldError(t, action.error, "recipient_email")}>
            <input
              type="email"
              autoComplete="off"
              data-testid="adhoc-email"
              value={email}
              onInput={(event) => setEmail(event.currentTarget.value)}
            />
          </Field>
          <Field
            label={t("adhoc.access_password")}
            hint={t("adhoc.access_password_hint")}
            error={fieldError(t, action.error, "access_password")}
          >
            <input
              type="password"
              autoComplete="new-password"
              data-testid="adhoc-password"
              value={password}
              onInput={(event) => setPassword(event.currentTarget.value)}
            />
          </Field>
          <Checkbox label={t("adhoc.chat_on_connect")} checked={chat} onChange={setChat} testid="adhoc-chat" />
          <ErrorNotice error={action.error} shown={["recipient_email", "access_password"]} testid="adhoc-prepare-error" />
          <div class="form-actions">
            <button type="submit" class="button button-primary" data-testid="adhoc-send">
              {t("adhoc.send_and_prepare")}
            </button>
            <button type="button" class="button button-secondary" data-testid="adhoc-prepare-only" onClick={() => submit(false)}>
              {t("adhoc.prepare_only")}
            </button>
          </div>
        </fieldset>
      </form>
    </Card>
  );
}

/** The secrets, once: the link (copy it into any chat tool), the security code, the password. */
function Prepared({ prepared, password, onDone }: { prepared: AdHocPrepared; password: string; onDone: () => void }) {
  const { t } = useI18n();
  const session = prepared.session;
  return (
    <Card title={t("adhoc.prepared.title")} testid="adhoc-prepared">
      <Notice kind="success" testid="adhoc-prepared-mail">
        {t(session.state === "emailed" ? "adhoc.prepared.emailed" : "adhoc.prepared.not_emailed", {
          email: session.recipient_email,
        })}
      </Notice>
      <Field label={t("adhoc.prepared.link")}>
        <div class="input-with-button">
          <input readOnly value={prepared.link} data-testid="adhoc-link" />
          <CopyButton text={prepared.link} testid="adhoc-copy-link" />
        </div>
      </Field>
      <p>
        {t("adhoc.prepared.code")}:{" "}
        <strong class="adhoc-code" data-testid="adhoc-code">
          {prepared.security_code}
        </strong>
      </p>
      <p class="muted small">{t("adhoc.prepared.code_hint")}</p>
      <p>
        {t("adhoc.access_password")}: <code data-testid="adhoc-password-shown">{password}</code>
      </p>
      <Notice kind="warning">{t("adhoc.prepared.password_hint")}</Notice>
      <div class="form-actions">
        <button type="button" class="button button-secondary" data-testid="adhoc-prepared-done" onClick={onDone}>
          {t("adhoc.prepared.dismiss")}
        </button>
      </div>
    </Card>
  );
}

function SessionList({
  sessions,
  error,
  loading,
  reload,
}: {
  sessions: AdHocSession[] | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}) {
  const { t } = useI18n();
  return (
    <Card title={t("adhoc.list.title")} testid="adhoc-sessions">
      <ErrorNotice error={error} />
      {sessions === null ? (
        loading && <Loading />
      ) : sessions.length === 0 ? (
        <p class="muted" data-testid="adhoc-empty">
          {t("adhoc.list.empty")}
        </p>
      ) : (
        <ul class="adhoc-list">
          {sessions.map((session) => (
            <SessionItem key={session.id} session={session} reload={reload} />
          ))}
        </ul>
      )}
    </Card>
  );
}

function when(value: string | null | undefined, language: string): string {
  return value ? new Date(value).toLocaleString(language, { dateStyle: "short", timeStyle: "short" }) : "";
}

function endedBy(session: AdHocSession, t: Translate): string {
  if (session.ended_by === "expiry") return t("adhoc.ended_by_expiry");
  if (session.ended_by === "recipient") return t("adhoc.ended_by_recipient");
  return session.ended_by;
}

function SessionItem({ session, reload }: { session: AdHocSession; reload: () => void }) {
  const { t, language } = useI18n();
  const { dispatch } = useConsole();
  const action = useAction();
  const [code, setCode] = useState<string | null>(null);
  const [connecting, setConnecting] = useState(false);
  const [report, setReport] = useState(false);
  const can = actionsOf(session);
  const step = stepOf(session.state);
  const open = isOpen(session.state);
  return (
    <li class="adhoc-item" data-testid="adhoc-session" data-session-id={session.id} data-state={session.state}>
      <div class="adhoc-item-head">
        <strong dir="auto">{session.recipient_email}</strong>
        <Badge tone={open ? (session.state === "activated" ? "good" : "accent") : "neutral"}>
          <span data-testid="adhoc-state">{t(STATE_LABELS[session.state])}</span>
        </Badge>
        {session.device_hostname && (
          <span class="muted" data-testid="adhoc-device">
            {t("adhoc.computer")}: {session.device_hostname} ({t(session.device_online ? "adhoc.online" : "adhoc.offline")})
          </span>
        )}
      </div>
      {open ? (
        <ol class="adhoc-steps" aria-label={t("adhoc.progress")} data-testid="adhoc-steps">
          {STEPS.map((name, index) => (
            <li
              key={name}
              class={index < step ? "adhoc-step done" : index === step ? "adhoc-step current" : "adhoc-step"}
              aria-current={index === step ? "step" : undefined}
            >
              {t(STATE_LABELS[index === 0 && session.state === "emailed" ? "emailed" : name])}
            </li>
          ))}
        </ol>
      ) : (
        <p class="muted small" data-testid="adhoc-ended">
          {t("adhoc.ended_by", { name: endedBy(session, t), time: when(session.ended_at, language) })}
        </p>
      )}
      {session.expires_at && open && <p class="muted small">{t("adhoc.until", { time: when(session.expires_at, language) })}</p>}
      {code && (
        <Notice kind="info" testid="adhoc-new-code">
          {t("adhoc.new_code_shown", { code })}
        </Notice>
      )}
      <ErrorNotice error={action.error} testid="adhoc-action-error" />
      <div class="form-actions">
        {can.connect && (
          <button type="button" class="button button-primary" data-testid="adhoc-connect" onClick={() => setConnecting(!connecting)}>
            {t("adhoc.connect")}
          </button>
        )}
        {can.newCode && (
          <button
            type="button"
            class="button button-secondary"
            data-testid="adhoc-new-code-button"
            disabled={action.busy}
            onClick={() =>
              void action.run(async () => {
                setCode((await call(api.POST("/api/v1/ad-hoc-sessions/{session_id}/security-code", path(session.id)))).security_code);
              })
            }
          >
            {t("adhoc.new_code")}
          </button>
        )}
        <button type="button" class="button button-quiet" data-testid="adhoc-report-button" onClick={() => setReport(!report)}>
          {t("adhoc.report")}
        </button>
        {can.end && (
          <ConfirmButton
            label={t("adhoc.end")}
            question={t("adhoc.end_question")}
            testid="adhoc-end"
            onConfirm={() =>
              void action.run(async () => {
                await call(api.POST("/api/v1/ad-hoc-sessions/{session_id}/end", path(session.id)));
                reload();
              })
            }
          />
        )}
      </div>
      {connecting && can.connect && (
        <ConnectForm
          session={session}
          onConnected={async (supportId) => {
            const detail = await call(api.GET("/api/v1/sessions/{session_id}", path(supportId)));
            dispatch({ type: "open", detail, focus: true });
            setConnecting(false);
            navigate("/console/sessions");
          }}
        />
      )}
      {report && <Report sessionId={session.id} />}
    </li>
  );
}

function ConnectForm({ session, onConnected }: { session: AdHocSession; onConnected: (supportId: number) => Promise<void> }) {
  const { t } = useI18n();
  const [password, setPassword] = useState("");
  const [chat, setChat] = useState(session.chat_on_connect);
  const action = useAction();
  return (
    <form
      class="form adhoc-connect-form"
      data-testid="adhoc-connect-form"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          const answer = await call(
            api.POST("/api/v1/ad-hoc-sessions/{session_id}/connect", { ...path(session.id), body: { password, chat } }),
          );
          setPassword("");
          await onConnected(answer.session_id);
        });
      }}
    >
      <Field label={t("adhoc.access_password")} error={fieldError(t, action.error, "password")}>
        <input
          type="password"
          autoComplete="off"
          data-testid="adhoc-connect-password"
          value={password}
          onInput={(event) => setPassword(event.currentTarget.value)}
        />
      </Field>
      <Checkbox label={t("adhoc.connect_chat")} checked={chat} onChange={setChat} testid="adhoc-connect-chat" />
      <ErrorNotice error={action.error} shown={["password"]} testid="adhoc-connect-error" />
      <div class="form-actions">
        <button type="submit" class="button button-primary" disabled={action.busy} data-testid="adhoc-connect-go">
          {t("adhoc.connect_go")}
        </button>
      </div>
    </form>
  );
}

function Report({ sessionId }: { sessionId: number }) {
  const { t, language } = useI18n();
  const report = useLoad<AdHocReport>(() => call(api.GET("/api/v1/ad-hoc-sessions/{session_id}/report", path(sessionId))));
  if (!report.data) return report.error ? <ErrorNotice error={report.error} /> : <Loading />;
  const { connections, timeline } = report.data;
  return (
    <div class="adhoc-report" data-testid="adhoc-report">
      <h3>{t("adhoc.report.connections")}</h3>
      {connections.length === 0 ? (
        <p class="muted">{t("adhoc.report.no_connections")}</p>
      ) : (
        <ul>
          {connections.map((connection) => (
            <li key={connection.session_id} data-testid="adhoc-report-connection">
              {t("adhoc.report.connection", {
                name: connection.technician,
                start: when(connection.started_at, language),
                end: connection.ended_at ? when(connection.ended_at, language) : t("adhoc.report.open"),
              })}
            </li>
          ))}
        </ul>
      )}
      <h3>{t("adhoc.report.timeline")}</h3>
      <ol class="adhoc-timeline">
        {timeline.map((entry, index) => (
          <li key={index} data-testid="adhoc-report-entry" data-action={entry.action}>
            <span class="muted small">{when(entry.at, language)}</span> {auditActionLabel(entry.action, t)}
            <span class="muted small"> — {entry.actor}</span>
            <span class="muted small"> {auditDetailLines(entry.details, t).join(" · ")}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}
