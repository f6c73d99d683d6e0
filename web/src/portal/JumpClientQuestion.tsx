/** The technician asks to install a permanent remote access client (UNA-1, TOOL-9): the same
 * question as in the support client's window, for a customer whose support client has no window
 * (or who answers here first). Allowed, the support client installs itself. */

import { api, send } from "../api/client";
import { useI18n } from "../i18n";
import { useAction } from "../shared/hooks";
import { ErrorNotice } from "../shared/ui";
import type { PortalView } from "./portal";

function customerHeaders(token: string) {
  return { params: { header: { "x-customer-token": token } } };
}

export function JumpClientQuestion({
  view,
  token,
}: {
  view: PortalView;
  token: string;
}) {
  const { t } = useI18n();
  const action = useAction();
  const requestId = view.jump_client_request_id;
  if (requestId === null || view.status !== "active") return null;
  const answer = (allow: boolean) =>
    void action.run(() =>
      send(
        api.POST("/api/v1/portal/session/jump-client/answer", {
          ...customerHeaders(token),
          body: { request_id: requestId, allow },
        }),
      ),
    );
  return (
    <section
      class="card screen-prompt"
      role="alertdialog"
      aria-labelledby="jump-client-prompt-title"
      data-testid="jump-client-prompt"
    >
      <h2 id="jump-client-prompt-title" dir="auto">
        {t("portal.jumpclient.asks", {
          name: view.jump_client_technician || t("portal.screen.someone"),
        })}
      </h2>
      <p class="muted">{t("portal.jumpclient.about")}</p>
      <ErrorNotice error={action.error} />
      <div class="form-actions">
        <button
          type="button"
          class="button button-primary"
          disabled={action.busy}
          data-testid="jump-client-allow"
          onClick={() => answer(true)}
        >
          {t("portal.screen.allow")}
        </button>
        <button
          type="button"
          class="button button-secondary"
          disabled={action.busy}
          data-testid="jump-client-deny"
          onClick={() => answer(false)}
        >
          {t("portal.screen.deny")}
        </button>
      </div>
    </section>
  );
}
