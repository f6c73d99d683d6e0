/** The audit log (GOV-9): filter, page through, export. */

import { useState } from "preact/hooks";
import { api, call, type AuditEntry, type User } from "../api/client";
import { useI18n, type Translate } from "../i18n";
import { formatDateTime } from "../shared/format";
import { useLoad } from "../shared/hooks";
import { Card, ErrorNotice, Field, Loading } from "../shared/ui";
import { auditQuery, exportUrl, NO_FILTERS, type AuditFilters } from "./audit";
import { auditActionLabel, auditDetailLines, partyLabel } from "./auditLabels";

const PAGE = 50;

export function AuditPanel() {
  const { t } = useI18n();
  const users = useLoad(() => call(api.GET("/api/v1/users")));
  const [draft, setDraft] = useState<AuditFilters>(NO_FILTERS);
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  const [offset, setOffset] = useState(0);

  return (
    <>
      <Card>
        <form
          class="filters"
          data-testid="audit-filters"
          onSubmit={(event) => {
            event.preventDefault();
            setFilters(draft);
            setOffset(0);
          }}
        >
          <Field label={t("admin.audit.actor")}>
            <select
              value={draft.actorId}
              data-testid="audit-actor"
              onChange={(event) => setDraft({ ...draft, actorId: event.currentTarget.value })}
            >
              <option value="">{t("admin.audit.anyone")}</option>
              {(users.data ?? []).map((user: User) => (
                <option key={user.id} value={String(user.id)}>
                  {user.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("admin.audit.action")}>
            <input
              value={draft.action}
              placeholder="auth.signed_in"
              maxLength={80}
              data-testid="audit-action"
              onInput={(event) => setDraft({ ...draft, action: event.currentTarget.value })}
            />
          </Field>
          <Field label={t("admin.audit.since")}>
            <input
              type="date"
              value={draft.since}
              data-testid="audit-since"
              onInput={(event) => setDraft({ ...draft, since: event.currentTarget.value })}
            />
          </Field>
          <Field label={t("admin.audit.until")}>
            <input
              type="date"
              value={draft.until}
              data-testid="audit-until"
              onInput={(event) => setDraft({ ...draft, until: event.currentTarget.value })}
            />
          </Field>
          <div class="filters-actions">
            <button type="submit" class="button button-primary" data-testid="audit-apply">
              {t("admin.audit.apply")}
            </button>
            <button
              type="button"
              class="button button-quiet"
              onClick={() => {
                setDraft(NO_FILTERS);
                setFilters(NO_FILTERS);
                setOffset(0);
              }}
            >
              {t("admin.audit.reset")}
            </button>
          </div>
        </form>
        <div class="export-row">
          <span class="muted">{t("admin.audit.export")}</span>
          <a class="button button-secondary" href={exportUrl("csv", filters)} download data-testid="audit-export-csv">
            CSV
          </a>
          <a class="button button-secondary" href={exportUrl("json", filters)} download data-testid="audit-export-json">
            JSON
          </a>
        </div>
      </Card>
      <AuditTable key={`${JSON.stringify(filters)}:${offset}`} filters={filters} offset={offset} onOffset={setOffset} />
    </>
  );
}

function AuditTable({
  filters,
  offset,
  onOffset,
}: {
  filters: AuditFilters;
  offset: number;
  onOffset: (offset: number) => void;
}) {
  const { t, language } = useI18n();
  const page = useLoad(() =>
    call(api.GET("/api/v1/audit", { params: { query: { ...auditQuery(filters), limit: PAGE, offset } } })),
  );
  if (page.data === null) return page.error ? <ErrorNotice error={page.error} /> : <Loading />;
  const { items, total } = page.data;
  return (
    <Card>
      {items.length === 0 ? (
        <p class="muted" data-testid="audit-empty">
          {t("admin.audit.none")}
        </p>
      ) : (
        <div class="table-scroll">
          <table class="table table-compact" data-testid="audit-table">
            <thead>
              <tr>
                <th>#</th>
                <th>{t("admin.audit.when")}</th>
                <th>{t("admin.audit.actor")}</th>
                <th>{t("admin.audit.action")}</th>
                <th>{t("admin.audit.target")}</th>
                <th>{t("admin.audit.ip")}</th>
                <th>{t("admin.audit.details")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((entry: AuditEntry) => (
                <tr key={entry.id} data-testid="audit-row" title={`${t("admin.audit.hash")}: ${entry.hash}`}>
                  <td class="muted">{entry.seq}</td>
                  <td class="nowrap">{formatDateTime(entry.at, language)}</td>
                  <td>{partyLabel(entry.actor_label, t)}</td>
                  <td>
                    <span data-testid="audit-action-cell" title={entry.action}>
                      {auditActionLabel(entry.action, t)}
                    </span>
                  </td>
                  <td>{entry.target}</td>
                  <td class="nowrap">{entry.ip}</td>
                  <DetailsCell details={entry.details} t={t} />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="pager">
        <span class="muted" data-testid="audit-count">
          {t("admin.audit.count", {
            from: total === 0 ? 0 : offset + 1,
            to: offset + items.length,
            total,
          })}
        </span>
        <button type="button" class="button button-secondary" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - PAGE))}>
          {t("admin.audit.newer")}
        </button>
        <button
          type="button"
          class="button button-secondary"
          disabled={offset + items.length >= total}
          onClick={() => onOffset(offset + PAGE)}
        >
          {t("admin.audit.older")}
        </button>
      </div>
    </Card>
  );
}

function DetailsCell({ details, t }: { details: Record<string, unknown>; t: Translate }) {
  const text = auditDetailLines(details, t).join(" · ");
  return (
    <td class="details" title={text}>
      {text}
    </td>
  );
}
