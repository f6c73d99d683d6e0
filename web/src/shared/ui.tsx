/** Building blocks every page uses. */

import type { ComponentChildren, TargetedEvent } from "preact";
import { useState } from "preact/hooks";
import { ApiError } from "../api/errors";
import { errorText, LANGUAGES, useI18n, type Language, type MessageKey, type Translate } from "../i18n";

/** A failure in words. `shown`: fields whose own errors are already shown beside them. */
export function ErrorNotice({
  error,
  testid = "error-message",
  shown,
}: {
  error: unknown;
  testid?: string;
  shown?: readonly string[];
}) {
  const { t } = useI18n();
  if (!error) return null;
  if (shown && error instanceof ApiError && error.field && shown.includes(error.field)) return null;
  return (
    <p class="notice notice-error" role="alert" data-testid={testid}>
      {errorText(t, error)}
    </p>
  );
}

export function Notice({
  kind = "info",
  children,
  testid,
}: {
  kind?: "info" | "success" | "warning";
  children: ComponentChildren;
  testid?: string;
}) {
  return (
    <div class={`notice notice-${kind}`} role="status" data-testid={testid}>
      {children}
    </div>
  );
}

/** The message of a failure when the server blamed this field. */
export function fieldError(t: Translate, error: unknown, field: string): string | null {
  return error instanceof ApiError && error.field === field ? errorText(t, error) : null;
}

type FieldProps = {
  label: string;
  hint?: string;
  error?: string | null;
  children: ComponentChildren;
};

export function Field({ label, hint, error, children }: FieldProps) {
  return (
    <label class={error ? "field field-invalid" : "field"}>
      <span class="field-label">{label}</span>
      {children}
      {hint && <span class="field-hint">{hint}</span>}
      {error && <span class="field-error">{error}</span>}
    </label>
  );
}

export function Checkbox({
  label,
  checked,
  onChange,
  testid,
  disabled,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  testid?: string;
  disabled?: boolean;
}) {
  return (
    <label class="checkbox">
      <input
        type="checkbox"
        checked={checked}
        disabled={disabled}
        data-testid={testid}
        onChange={(event) => onChange(event.currentTarget.checked)}
      />
      <span>{label}</span>
    </label>
  );
}

export function Card({
  title,
  children,
  actions,
  testid,
}: {
  title?: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
  testid?: string;
}) {
  return (
    <section class="card" data-testid={testid}>
      {(title || actions) && (
        <header class="card-header">
          {title && <h2>{title}</h2>}
          {actions && <div class="card-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p class="muted" aria-busy="true">
      {t("common.loading")}
    </p>
  );
}

/** A destructive button that asks once more, inline, before it acts. */
export function ConfirmButton({
  label,
  question,
  onConfirm,
  testid,
  disabled,
}: {
  label: string;
  question: string;
  onConfirm: () => void;
  testid?: string;
  disabled?: boolean;
}) {
  const { t } = useI18n();
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        class="button button-danger-quiet"
        disabled={disabled}
        data-testid={testid}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  }
  return (
    <span class="confirm">
      <span class="confirm-question">{question}</span>
      <button
        type="button"
        class="button button-danger"
        data-testid={testid ? `${testid}-confirm` : undefined}
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {t("common.confirm")}
      </button>
      <button type="button" class="button button-quiet" onClick={() => setAsking(false)}>
        {t("common.cancel")}
      </button>
    </span>
  );
}

export function CopyButton({ text, testid }: { text: string; testid?: string }) {
  const { t } = useI18n();
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = () => {
    navigator.clipboard.writeText(text).then(
      () => setState("copied"),
      () => setState("failed"),
    );
  };
  const labels: Record<typeof state, MessageKey> = {
    idle: "common.copy",
    copied: "common.copied",
    failed: "common.copy_failed",
  };
  return (
    <button type="button" class="button button-secondary" data-testid={testid} onClick={copy}>
      {t(labels[state])}
    </button>
  );
}

export function LanguageSwitcher() {
  const { t, language, setLanguage } = useI18n();
  const [error, setError] = useState<unknown>(null);
  const change = (event: TargetedEvent<HTMLSelectElement>) => {
    const chosen = event.currentTarget.value as Language;
    setError(null);
    setLanguage(chosen).catch(setError);
  };
  return (
    <span class="language-switcher">
      <select
        aria-label={t("language.label")}
        title={t("language.label")}
        value={language}
        data-testid="language-switcher"
        onChange={change}
      >
        {LANGUAGES.map((code) => (
          <option key={code} value={code}>
            {t(`language.${code}`)}
          </option>
        ))}
      </select>
      <ErrorNotice error={error} />
    </span>
  );
}

export function Badge({ children, tone = "neutral" }: { children: ComponentChildren; tone?: "neutral" | "good" | "bad" | "accent" }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

/** Label and value pairs, each value with its test id: `[label, value, testid]`. */
export function DetailsList({ rows, columns }: { rows: [string, string, string][]; columns?: boolean }) {
  return (
    <dl class={columns ? "details-list details-columns" : "details-list"}>
      {rows.map(([label, value, testid]) => (
        <div key={testid} class="details-row">
          <dt>{label}</dt>
          <dd data-testid={testid} dir="auto">
            {value}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** A form's submit button and, when the form can be left, its Cancel button. */
export function SaveCancel({
  label,
  testid,
  busy,
  onCancel,
}: {
  label: string;
  testid: string;
  busy: boolean;
  onCancel?: () => void;
}) {
  const { t } = useI18n();
  return (
    <div class="form-actions">
      <button type="submit" class="button button-primary" disabled={busy} data-testid={testid}>
        {label}
      </button>
      {onCancel && (
        <button type="button" class="button button-quiet" onClick={onCancel}>
          {t("common.cancel")}
        </button>
      )}
    </div>
  );
}
