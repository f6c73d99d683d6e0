/** The organisation's settings (GOV-1, GOV-4). */

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, call } from "../api/client";
import { ApiError } from "../api/errors";
import { useI18n, type MessageKey } from "../i18n";
import { useAction, useLoad } from "../shared/hooks";
import { Card, Checkbox, ErrorNotice, Field, fieldError, Loading, Notice } from "../shared/ui";
import { NUMBER_FIELDS, toForm, toUpdate, type SettingsForm } from "./settings";

const FORM_FIELDS = [
  "name",
  "console_ip_ranges",
  ...NUMBER_FIELDS,
] as const satisfies readonly (keyof SettingsForm)[];

function blamesField(error: unknown): boolean {
  return error instanceof ApiError && error.field !== null && (FORM_FIELDS as readonly string[]).includes(error.field);
}

export function SettingsPanel() {
  const settings = useLoad(() => call(api.GET("/api/v1/organisation/settings")));
  if (settings.data === null) return settings.error ? <ErrorNotice error={settings.error} /> : <Loading />;
  return <SettingsEditor initial={toForm(settings.data)} />;
}

type Flag =
  | "remote_support_enabled"
  | "allow_unmanaged_devices"
  | "chat_disabled"
  | "recording_enabled"
  | "mfa_required"
  | "unattended_access_enabled";
type NumberField = (typeof NUMBER_FIELDS)[number];

function SettingsEditor({ initial }: { initial: SettingsForm }) {
  const { t } = useI18n();
  const [form, setForm] = useState(initial);
  const [invalid, setInvalid] = useState<NumberField[]>([]);
  const [saved, setSaved] = useState(false);
  const action = useAction();

  const submit = (event: Event) => {
    event.preventDefault();
    setSaved(false);
    action.clear();
    const result = toUpdate(form);
    if (!result.ok) {
      setInvalid(result.invalid);
      return;
    }
    setInvalid([]);
    void action.run(async () => {
      setForm(toForm(await call(api.PATCH("/api/v1/organisation/settings", { body: result.update }))));
      setSaved(true);
    });
  };
  const flag = (key: Flag, label: MessageKey) => (
    <Checkbox
      label={t(label)}
      checked={form[key]}
      testid={`setting-${key}`}
      onChange={(on) => {
        setForm({ ...form, [key]: on });
        setSaved(false);
      }}
    />
  );
  const problem = (key: keyof SettingsForm) =>
    (invalid as string[]).includes(key) ? t("admin.settings.whole_number") : fieldError(t, action.error, key);
  const number = (key: NumberField, label: MessageKey, hint?: MessageKey) => (
    <Field label={t(label)} hint={hint && t(hint)} error={problem(key)}>
      <input
        type="number"
        min={0}
        value={form[key]}
        data-testid={`setting-${key}`}
        onInput={(event) => {
          setForm({ ...form, [key]: event.currentTarget.value });
          setSaved(false);
        }}
      />
    </Field>
  );

  return (
    <form onSubmit={submit} data-testid="settings-form">
      <Group title={t("admin.settings.general")}>
        <Field label={t("admin.settings.name")} error={problem("name")}>
          <input
            required
            maxLength={200}
            value={form.name}
            data-testid="setting-name"
            onInput={(event) => setForm({ ...form, name: event.currentTarget.value })}
          />
        </Field>
      </Group>
      <Group title={t("admin.settings.remote_support")}>
        {flag("remote_support_enabled", "admin.settings.remote_support_enabled")}
        {flag("allow_unmanaged_devices", "admin.settings.allow_unmanaged_devices")}
        {flag("chat_disabled", "admin.settings.chat_disabled")}
        {flag("recording_enabled", "admin.settings.recording_enabled")}
      </Group>
      <Group title={t("admin.settings.unattended")}>
        {flag("unattended_access_enabled", "admin.settings.unattended_access_enabled")}
      </Group>
      <Group title={t("admin.settings.ad_hoc")}>
        <div class="form-grid">
          {number("adhoc_limit_per_user", "admin.settings.adhoc_limit_per_user")}
          {number("adhoc_limit_per_organisation", "admin.settings.adhoc_limit_per_organisation")}
          {number(
            "access_password_min_length",
            "admin.settings.access_password_min_length",
            "admin.settings.access_password_min_length_hint",
          )}
          {number("device_seats", "admin.settings.device_seats", "admin.settings.device_seats_hint")}
        </div>
      </Group>
      <Group title={t("admin.settings.security")}>
        {flag("mfa_required", "admin.settings.mfa_required")}
        <Field
          label={t("admin.settings.console_ip_ranges")}
          hint={t("admin.settings.console_ip_ranges_hint")}
          error={problem("console_ip_ranges")}
        >
          <textarea
            rows={4}
            spellcheck={false}
            placeholder={"192.0.2.0/24\n2001:db8::/32"}
            value={form.console_ip_ranges}
            data-testid="setting-console_ip_ranges"
            onInput={(event) => setForm({ ...form, console_ip_ranges: event.currentTarget.value })}
          />
        </Field>
      </Group>
      <Group title={t("admin.settings.data")}>
        <div class="form-grid">
          {number("retention_days", "admin.settings.retention_days", "admin.settings.retention_days_hint")}
        </div>
      </Group>
      <div class="settings-actions">
        <ErrorNotice error={action.error} testid="settings-error" shown={FORM_FIELDS} />
        {(invalid.length > 0 || blamesField(action.error)) && (
          <p class="notice notice-error" role="alert" data-testid="settings-error">
            {t("admin.settings.fix_fields")}
          </p>
        )}
        {saved && (
          <Notice kind="success" testid="settings-saved">
            {t("admin.settings.saved")}
          </Notice>
        )}
        <div class="form-actions">
          <button type="submit" class="button button-primary" disabled={action.busy} data-testid="settings-save">
            {t("common.save")}
          </button>
        </div>
      </div>
    </form>
  );
}

function Group({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <Card title={title}>
      <div class="stack">{children}</div>
    </Card>
  );
}
