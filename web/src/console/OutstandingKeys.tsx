/** The session keys that could still start a session (the technician's own; an administrator's:
 * the organisation's), with who they are for, when they were made and expire, and Revoke. */

import { api, call, send } from "../api/client";
import { useI18n } from "../i18n";
import { formatDateTime } from "../shared/format";
import { useAction, useLoad } from "../shared/hooks";
import { ErrorNotice } from "../shared/ui";

export function OutstandingKeys() {
  const { t, language } = useI18n();
  const keys = useLoad(() => call(api.GET("/api/v1/session-keys")));
  const revoking = useAction();

  const revoke = (keyId: number) =>
    void revoking.run(async () => {
      await send(api.POST("/api/v1/session-keys/{key_id}/revoke", { params: { path: { key_id: keyId } } }));
      keys.reload();
    });

  return (
    <section class="outstanding-keys" data-testid="outstanding-keys" aria-label={t("key.outstanding")}>
      <h3>{t("key.outstanding")}</h3>
      <ErrorNotice error={keys.error ?? revoking.error} />
      {keys.data !== null && keys.data.length === 0 && (
        <p class="muted" data-testid="outstanding-keys-none">
          {t("key.outstanding_none")}
        </p>
      )}
      {keys.data !== null && keys.data.length > 0 && (
        <div class="table-scroll">
          <table class="table table-compact">
            <thead>
              <tr>
                <th>{t("key.outstanding_customer")}</th>
                <th>{t("key.outstanding_by")}</th>
                <th>{t("key.outstanding_created")}</th>
                <th>{t("key.outstanding_expires")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.data.map((key) => (
                <tr key={key.id} data-testid="outstanding-key" data-key-id={key.id}>
                  <td dir="auto">
                    {[key.customer_name, key.reference].filter(Boolean).join(" · ") || <span class="muted">—</span>}
                  </td>
                  <td>{key.created_by_name || <span class="muted">—</span>}</td>
                  <td>{formatDateTime(key.created_at, language)}</td>
                  <td data-testid="outstanding-key-expires">
                    {formatDateTime(key.expires_at, language)}
                  </td>
                  <td class="num">
                    <button
                      type="button"
                      class="button button-secondary"
                      disabled={revoking.busy}
                      data-testid="outstanding-key-revoke"
                      onClick={() => revoke(key.id)}
                    >
                      {t("key.revoke")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
