/** "Jump to" (UNA-6): greyed out with the reason when unattended access is off or outside the
 * technician's roles (UNA-8); otherwise a dialog says what will happen (a prompt on the device,
 * the schedule and the next allowed time, an override), asks the device's jump password when it
 * has one, and opens the session's workspace. */

import { useState } from "preact/hooks";
import { api, ApiError, call } from "../../api/client";
import type { components } from "../../api/schema";
import { useI18n } from "../../i18n";
import { useAction, useLoad } from "../../shared/hooks";
import { Modal } from "../../shared/Modal";
import { navigate } from "../../shared/router";
import { useMe } from "../../shared/session";
import { ErrorNotice, Field, Notice, SaveCancel } from "../../shared/ui";
import { useConsole } from "../ConsoleContext";
import { jumpBlocked, nextAllowedText } from "./jump";

type JumpStatus = components["schemas"]["JumpStatusOut"];

export function JumpButton({ deviceId, hostname, online = true }: { deviceId: number; hostname: string; online?: boolean }) {
  const { t } = useI18n();
  const me = useMe();
  const [open, setOpen] = useState(false);
  const blocked = jumpBlocked(me) ?? (online ? null : "jump.offline");
  return (
    <>
      <button
        type="button"
        class="button button-primary button-small"
        data-testid="jump-to"
        data-device-id={deviceId}
        disabled={blocked !== null}
        aria-disabled={blocked !== null}
        title={blocked ? t(blocked) : t("jump.action_about")}
        onClick={() => setOpen(true)}
      >
        {t("jump.action")}
      </button>
      {open && <JumpDialog deviceId={deviceId} hostname={hostname} onClose={() => setOpen(false)} />}
    </>
  );
}

function JumpDialog({ deviceId, hostname, onClose }: { deviceId: number; hostname: string; onClose: () => void }) {
  const { t, language } = useI18n();
  const ops = useConsole();
  const status = useLoad(() =>
    call(api.GET("/api/v1/devices/{device_id}/jump", { params: { path: { device_id: deviceId } } })),
  );
  const [password, setPassword] = useState("");
  const action = useAction();
  const info: JumpStatus | null = status.data ?? null;

  const jump = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      try {
        const session = await call(
          api.POST("/api/v1/devices/{device_id}/jump", {
            params: { path: { device_id: deviceId } },
            body: { password: info?.password_required ? password : null },
          }),
        );
        const detail = await call(
          api.GET("/api/v1/sessions/{session_id}", { params: { path: { session_id: session.id } } }),
        );
        ops.dispatch({ type: "open", detail, focus: true });
        // Read once more now that the tab exists: a jump can end (refused on the device) before
        // the first answer arrived, and the tab must not keep the older state.
        void ops.refresh(session.id).catch(() => undefined);
        onClose();
        navigate("/console/sessions");
      } catch (error) {
        if (error instanceof ApiError && error.code === "outside_schedule") {
          status.reload(); // the next allowed time, said in the reader's words
        }
        throw error;
      }
    });
  };

  return (
    <Modal title={t("jump.dialog_title", { host: hostname })} onClose={onClose} testid="jump-dialog">
      <form onSubmit={jump} class="form">
        {info && (
          <p class="muted" data-testid="jump-prompt-info">
            {info.prompt === "ask" ? t("jump.will_ask", { seconds: String(info.answer_seconds) }) : t("jump.no_prompt")}
          </p>
        )}
        {info && !info.allowed_now && info.next_allowed && (
          <Notice kind={info.may_override_schedule ? "warning" : "info"} testid="jump-schedule">
            {t("jump.outside_schedule", { when: nextAllowedText(info.next_allowed, info.schedule_timezone, language) })}
            {info.may_override_schedule && <> {t("jump.override")}</>}
          </Notice>
        )}
        {info?.password_required && (
          <Field label={t("jump.password")} hint={t("jump.password_hint")}>
            <input
              type="password"
              autoComplete="off"
              data-testid="jump-password"
              value={password}
              onInput={(event) => setPassword(event.currentTarget.value)}
            />
          </Field>
        )}
        <ErrorNotice error={action.error} testid="jump-error" />
        <SaveCancel label={t("jump.go")} testid="jump-go" busy={action.busy || !info} onCancel={onClose} />
      </form>
    </Modal>
  );
}
