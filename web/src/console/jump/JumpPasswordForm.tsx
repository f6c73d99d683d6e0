/** A device's jump password (UNA-1, UNA-6): set, change or remove the password anyone jumping to
 * it must enter ("Manage devices"); the server keeps only its argon2id hash. */

import { useState } from "preact/hooks";
import { api, call } from "../../api/client";
import { useI18n } from "../../i18n";
import { useAction } from "../../shared/hooks";
import { ErrorNotice, Field, Notice } from "../../shared/ui";

export function JumpPasswordForm({ deviceId }: { deviceId: number }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [saved, setSaved] = useState<boolean | null>(null);
  const action = useAction();
  if (!open) {
    return (
      <button type="button" class="button button-secondary button-small" data-testid="jump-password-open" onClick={() => setOpen(true)}>
        {t("jump.set_password")}
      </button>
    );
  }
  const save = (event: Event) => {
    event.preventDefault();
    setSaved(null);
    void action.run(async () => {
      const answer = await call(
        api.PUT("/api/v1/devices/{device_id}/jump-password", {
          params: { path: { device_id: deviceId } },
          body: { password: password === "" ? null : password },
        }),
      );
      setPassword("");
      setSaved(answer.password_required);
    });
  };
  return (
    <form class="form jump-password-form" onSubmit={save} data-testid="jump-password-form">
      <Field label={t("jump.password_new")}>
        <input
          type="password"
          autoComplete="new-password"
          data-testid="jump-password-new"
          value={password}
          onInput={(event) => setPassword(event.currentTarget.value)}
        />
      </Field>
      <ErrorNotice error={action.error} />
      {saved !== null && (
        <Notice kind="success" testid="jump-password-saved">
          {t(saved ? "jump.password_saved_on" : "jump.password_saved_off")}
        </Notice>
      )}
      <div class="form-actions">
        <button type="submit" class="button button-primary button-small" disabled={action.busy} data-testid="jump-password-save">
          {t("common.save")}
        </button>
        <button type="button" class="button button-quiet button-small" onClick={() => setOpen(false)}>
          {t("common.close")}
        </button>
      </div>
    </form>
  );
}
