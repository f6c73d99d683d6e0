/** Asking the customer for the screen (TOOL-2) from a session tab: view only or full control,
 * the customer's answer, stepping down from control, stopping. The viewer itself is the screen
 * tool's (console/screen/). */

import type { ScreenMode } from "../api/client";
import { useI18n } from "../i18n";
import { useConsole } from "./ConsoleContext";
import type { OpenSession } from "./store";

export function ScreenConsentBar({
  tab,
  busy,
  run,
}: {
  tab: OpenSession;
  busy: boolean;
  run: (work: () => Promise<void>) => void;
}) {
  const { t } = useI18n();
  const ops = useConsole();
  const session = tab.session;
  const state = session.screen_state;
  const ask = (mode: ScreenMode) => run(() => ops.requestScreen(session.id, mode));
  let text: string;
  if (state === "requested") {
    text = t(session.screen_requested === "control" ? "consent.waiting_control" : "consent.waiting_view");
  } else if (state === "view") text = t("consent.granted_view");
  else if (state === "control") text = t("consent.granted_control");
  else text = t("consent.off");
  return (
    <div class="consent-bar" data-testid="consent-bar" data-state={state}>
      <span class="consent-bar-icon" aria-hidden="true">
        ▣
      </span>
      <span class="consent-bar-text" data-testid="consent-state">
        {text}
      </span>
      <span class="consent-bar-actions">
        {(state === "off" || state === "requested") && (
          <>
            <button type="button" class="button button-secondary" disabled={busy} data-testid="consent-request-view" onClick={() => ask("view")}>
              {t("consent.ask_view")}
            </button>
            <button type="button" class="button button-secondary" disabled={busy} data-testid="consent-request-control" onClick={() => ask("control")}>
              {t("consent.ask_control")}
            </button>
          </>
        )}
        {state === "view" && (
          <button type="button" class="button button-secondary" disabled={busy} data-testid="consent-request-control" onClick={() => ask("control")}>
            {t("consent.ask_control")}
          </button>
        )}
        {state === "control" && (
          <button type="button" class="button button-secondary" disabled={busy} data-testid="consent-release-control" onClick={() => run(() => ops.releaseControl(session.id))}>
            {t("consent.release_control")}
          </button>
        )}
        {state !== "off" && (
          <button type="button" class="button button-quiet" disabled={busy} data-testid="consent-stop" onClick={() => run(() => ops.stopScreen(session.id))}>
            {state === "requested" ? t("consent.cancel_request") : t("consent.stop")}
          </button>
        )}
      </span>
    </div>
  );
}
