/**
 * The session's screen (TOOL-1, TOOL-2): ask the customer for view only or full control, wait for
 * the answer, then show the device's screen through the relay with noVNC (ScreenViewer).
 */

import { useCallback, useState } from "preact/hooks";
import { api, call, send } from "../../api/client";
import type { components } from "../../api/schema";
import { useI18n, type MessageKey } from "../../i18n";
import { useAction } from "../../shared/hooks";
import { useMe } from "../../shared/session";
import { ErrorNotice, Notice } from "../../shared/ui";
import { consentOf, isShared, offerFor, phaseOf, rightsOf, type ConsentChange } from "./consent";
import { ScreenViewer } from "./ScreenViewer";
import { useScreenConsent } from "./useScreenConsent";
import "./screen.css";

type SessionOut = components["schemas"]["SessionOut"];

const CHANGE_TEXT: Record<ConsentChange, { key: MessageKey; kind: "info" | "success" | "warning" }> = {
  granted_view: { key: "screen.change.granted_view", kind: "success" },
  granted_control: { key: "screen.change.granted_control", kind: "success" },
  denied_view: { key: "screen.change.denied_view", kind: "warning" },
  denied_control: { key: "screen.change.denied_control", kind: "warning" },
  stopped: { key: "screen.change.stopped", kind: "warning" },
  control_revoked: { key: "screen.change.control_revoked", kind: "warning" },
  control_released: { key: "screen.change.control_released", kind: "info" },
};

export function ScreenPanel({ sessionId, session }: { sessionId: number; session: SessionOut }) {
  const { t } = useI18n();
  const me = useMe();
  const rights = rightsOf(me.permissions);
  const [change, setChange] = useState<ConsentChange | null>(null);
  const onChange = useCallback((next: ConsentChange) => setChange(next), []);
  const { consent, apply, expect, refresh } = useScreenConsent(sessionId, session, onChange);
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
    });
  const release = () =>
    action.run(async () => {
      expect("release");
      const answer = await call(api.POST("/api/v1/sessions/{session_id}/screen/release-control", path));
      apply(consentOf(answer));
    });
  const stop = () =>
    action.run(async () => {
      expect("stop");
      setChange(null);
      await send(api.POST("/api/v1/sessions/{session_id}/screen/stop", path));
      apply({ state: "off", requested: "" });
    });

  const controlTitle = offer.controlForbidden ? t("screen.control_forbidden") : undefined;
  const notice = change ? CHANGE_TEXT[change] : null;

  return (
    <section class="screen-panel" data-testid="screen-panel" data-screen-phase={phase}>
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
          {(offer.requestControl || (phase === "idle" && !rights.view)) && (
            <span title={controlTitle} class="screen-tooltip-host">
              <button
                type="button"
                class="button button-primary"
                data-testid="screen-request-control"
                disabled={action.busy || !live || offer.controlForbidden}
                aria-describedby={offer.controlForbidden ? `screen-control-why-${sessionId}` : undefined}
                onClick={() => void request("control")}
              >
                {t("screen.request_control")}
              </button>
              {offer.controlForbidden && (
                <span id={`screen-control-why-${sessionId}`} class="visually-hidden">
                  {t("screen.control_forbidden")}
                </span>
              )}
            </span>
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
          checkConsent={refresh}
        />
      )}
    </section>
  );
}
