/**
 * The session's screen (TOOL-1, TOOL-2), in the console's session tab: ask the customer for view
 * only or full control, wait for the answer, then show the device's screen through the relay with
 * noVNC (ScreenViewer). A technician whose role lacks full control can view and ask to view only.
 */

import { useCallback, useState } from "preact/hooks";
import { api, call, type SupportSession } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { useAction } from "../../shared/hooks";
import { useMe } from "../../shared/session";
import { ErrorNotice, Notice } from "../../shared/ui";
import { consentOf, isShared, offerFor, phaseOf, rightsOf, type ConsentChange } from "./consent";
import { ScreenViewer } from "./ScreenViewer";
import { useScreenConsent } from "./useScreenConsent";
import "./screen.css";

const CHANGE_TEXT: Record<ConsentChange, { key: MessageKey; kind: "info" | "success" | "warning" }> = {
  granted_view: { key: "screen.change.granted_view", kind: "success" },
  granted_control: { key: "screen.change.granted_control", kind: "success" },
  denied_view: { key: "screen.change.denied_view", kind: "warning" },
  denied_control: { key: "screen.change.denied_control", kind: "warning" },
  stopped: { key: "screen.change.stopped", kind: "warning" },
  control_revoked: { key: "screen.change.control_revoked", kind: "warning" },
  control_released: { key: "screen.change.control_released", kind: "info" },
};

export function ScreenPanel({
  sessionId,
  session,
  shown,
  onSession,
}: {
  sessionId: number;
  session: SupportSession;
  /** Its session's workspace is on show (a hidden screen view pauses its picture). */
  shown: boolean;
  /** The session as the server answered a screen action (keeps the caller's copy current). */
  onSession?: (session: SupportSession) => void;
}) {
  const { t } = useI18n();
  const me = useMe();
  const rights = rightsOf(me.permissions);
  const [change, setChange] = useState<ConsentChange | null>(null);
  const onChange = useCallback((next: ConsentChange) => setChange(next), []);
  const { consent, apply, expect, refresh } = useScreenConsent(sessionId, session, onChange, onSession);
  const action = useAction();
  const phase = phaseOf(consent);
  const offer = offerFor(consent, rights);
  const live = session.status === "active";
  const path = { params: { path: { session_id: sessionId } } };

  const request = (mode: "view" | "control") =>
    action.run(async () => {
      setChange(null);
      const answer = await call(
        api.POST("/api/v1/sessions/{session_id}/screen/request", { ...path, body: { mode } }),
      );
      apply(consentOf(answer));
      onSession?.(answer);
    });
  const release = () =>
    action.run(async () => {
      expect("release");
      const answer = await call(api.POST("/api/v1/sessions/{session_id}/screen/release-control", path));
      apply(consentOf(answer));
      onSession?.(answer);
    });
  const stop = () =>
    action.run(async () => {
      expect("stop");
      setChange(null);
      const answer = await call(api.POST("/api/v1/sessions/{session_id}/screen/stop", path));
      apply(consentOf(answer));
      onSession?.(answer);
    });

  const notice = change ? CHANGE_TEXT[change] : null;

  return (
    <section class="card screen-panel" data-testid="screen-panel" data-screen-phase={phase}>
      <header class="screen-panel-header">
        <h2>{t("screen.title")}</h2>
        <span class={`screen-state screen-state-${phase}`} data-testid="screen-state">
          {t(`screen.phase.${phase}`)}
        </span>
        <div class="screen-panel-actions">
          {offer.requestView && (
            <button
              type="button"
              class="button button-secondary"
              data-testid="screen-request-view"
              disabled={action.busy || !live}
              onClick={() => void request("view")}
            >
              {t("screen.request_view")}
            </button>
          )}
          {offer.requestControl && !offer.controlForbidden && (
            <button
              type="button"
              class="button button-primary"
              data-testid="screen-request-control"
              disabled={action.busy || !live}
              onClick={() => void request("control")}
            >
              {t("screen.request_control")}
            </button>
          )}
          {offer.releaseControl && (
            <button
              type="button"
              class="button button-secondary"
              data-testid="screen-release-control"
              disabled={action.busy}
              onClick={() => void release()}
            >
              {t("screen.release_control")}
            </button>
          )}
          {offer.stop && (
            <button
              type="button"
              class="button button-danger-quiet"
              data-testid="screen-stop"
              disabled={action.busy}
              onClick={() => void stop()}
            >
              {phase === "waiting" ? t("screen.withdraw") : t("screen.stop")}
            </button>
          )}
        </div>
      </header>

      {!rights.view && <Notice kind="warning">{t("screen.view_forbidden")}</Notice>}
      {rights.view && offer.controlForbidden && (
        <p class="muted small" data-testid="screen-view-only-role">
          {t("screen.control_forbidden")}
        </p>
      )}
      {notice && (
        <Notice kind={notice.kind} testid="screen-change">
          {t(notice.key)}
        </Notice>
      )}
      <ErrorNotice error={action.error} testid="screen-error" />

      {phase === "idle" && rights.view && <p class="muted">{t("screen.idle_hint")}</p>}
      {consent.requested && (
        <div class="screen-waiting" role="status" data-testid="screen-waiting">
          <span class="screen-spinner" aria-hidden="true" />
          {consent.requested === "control" ? t("screen.waiting_control") : t("screen.waiting_view")}
        </div>
      )}
      {isShared(consent) && live && (
        <ScreenViewer
          sessionId={sessionId}
          control={consent.state === "control"}
          shown={shown}
          checkConsent={refresh}
        />
      )}
    </section>
  );
}
