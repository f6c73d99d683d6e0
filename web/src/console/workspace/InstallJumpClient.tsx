/** "Install Jump client" in a live session's workspace (UNA-1, TOOL-9): the technician signs in
 * again (password, and authenticator code when he has one), gives the device's nickname, the
 * customer company, the Jump group (a device group; personal lists do not exist) and an optional
 * jump password; the customer is asked in his support client's window, and the dialog follows
 * the answer and the installation until the device is installed (the session then ends). */

import { useEffect, useState } from "preact/hooks";
import { api, call } from "../../api/client";
import type { components } from "../../api/schema";
import { useI18n, type MessageKey } from "../../i18n";
import { useAction, useLoad } from "../../shared/hooks";
import { Modal } from "../../shared/Modal";
import { useMe } from "../../shared/session";
import {
  ErrorNotice,
  Field,
  fieldError,
  Notice,
  SaveCancel,
} from "../../shared/ui";

type Conversion = components["schemas"]["JumpClientOut"];
type State = Conversion["state"];

const POLL_MS = 1000;
const FINAL: readonly State[] = ["installed", "denied", "failed"];
const STATE_TEXT: Record<State, MessageKey> = {
  asking: "jumpclient.state.asking",
  installing: "jumpclient.state.installing",
  installed: "jumpclient.state.installed",
  denied: "jumpclient.state.denied",
  failed: "jumpclient.state.failed",
};

/** The button while the session is live; the dialog stays open after it ends (its outcome). */
export function InstallJumpClient({
  sessionId,
  hostname,
  live,
}: {
  sessionId: number;
  hostname: string;
  live: boolean;
}) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  return (
    <>
      {live && (
        <button
          type="button"
          class="button button-secondary button-small"
          data-testid="jump-client-open"
          title={t("jumpclient.about")}
          onClick={() => setOpen(true)}
        >
          {t("jumpclient.open")}
        </button>
      )}
      {open && (
        <JumpClientDialog
          sessionId={sessionId}
          hostname={hostname}
          onClose={() => setOpen(false)}
        />
      )}
    </>
  );
}

function JumpClientDialog({
  sessionId,
  hostname,
  onClose,
}: {
  sessionId: number;
  hostname: string;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const me = useMe();
  const groups = useLoad(() =>
    call(api.GET("/api/v1/session-keys/device-groups")),
  );
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [nickname, setNickname] = useState(hostname);
  const [company, setCompany] = useState("");
  const [groupId, setGroupId] = useState<number | null>(null);
  const [jumpPassword, setJumpPassword] = useState("");
  const [conversion, setConversion] = useState<Conversion | null>(null);
  const action = useAction();

  // Follows the customer's answer and the installation until it is over.
  const state = conversion?.state;
  useEffect(() => {
    if (!state || FINAL.includes(state)) return undefined;
    const timer = window.setInterval(() => {
      void call(
        api.GET("/api/v1/sessions/{session_id}/jump-client", {
          params: { path: { session_id: sessionId } },
        }),
      )
        .then(setConversion)
        .catch(() => undefined);
    }, POLL_MS);
    return () => window.clearInterval(timer);
  }, [state, sessionId]);

  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const asked = await call(
        api.POST("/api/v1/sessions/{session_id}/jump-client", {
          params: { path: { session_id: sessionId } },
          body: {
            password,
            totp_code: code.trim(),
            nickname,
            company,
            device_group_id: groupId,
            jump_password: jumpPassword,
          },
        }),
      );
      setPassword("");
      setCode("");
      setJumpPassword("");
      setConversion(asked);
    });
  };

  return (
    <Modal
      title={t("jumpclient.title")}
      onClose={onClose}
      testid="jump-client-dialog"
    >
      {conversion ? (
        <div class="stack">
          <Notice
            kind={
              conversion.state === "installed"
                ? "success"
                : conversion.state === "asking" ||
                    conversion.state === "installing"
                  ? "info"
                  : "warning"
            }
            testid="jump-client-state"
          >
            {t(STATE_TEXT[conversion.state], {
              nickname: conversion.nickname,
              message: conversion.message,
            })}
          </Notice>
          <div class="form-actions">
            <button
              type="button"
              class="button"
              data-testid="jump-client-close"
              onClick={onClose}
            >
              {t("jumpclient.close")}
            </button>
          </div>
        </div>
      ) : (
        <form onSubmit={submit} data-testid="jump-client-form">
          <p class="muted">{t("jumpclient.intro")}</p>
          <Field
            label={t("jumpclient.password")}
            error={fieldError(t, action.error, "password")}
          >
            <input
              type="password"
              autoComplete="current-password"
              required
              value={password}
              data-testid="jump-client-password"
              onInput={(event) => setPassword(event.currentTarget.value)}
            />
          </Field>
          {me.totp_enabled && (
            <Field
              label={t("jumpclient.totp")}
              error={fieldError(t, action.error, "totp_code")}
            >
              <input
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={20}
                value={code}
                data-testid="jump-client-totp"
                onInput={(event) => setCode(event.currentTarget.value)}
              />
            </Field>
          )}
          <Field
            label={t("jumpclient.nickname")}
            error={fieldError(t, action.error, "device_name")}
          >
            <input
              value={nickname}
              dir="auto"
              data-testid="jump-client-nickname"
              onInput={(event) => setNickname(event.currentTarget.value)}
            />
          </Field>
          <Field
            label={t("jumpclient.company")}
            error={fieldError(t, action.error, "company")}
          >
            <input
              value={company}
              dir="auto"
              data-testid="jump-client-company"
              onInput={(event) => setCompany(event.currentTarget.value)}
            />
          </Field>
          <Field
            label={t("jumpclient.group")}
            hint={t("jumpclient.group_hint")}
          >
            <select
              value={groupId ?? ""}
              data-testid="jump-client-group"
              onChange={(event) => {
                const value = event.currentTarget.value;
                setGroupId(value === "" ? null : Number(value));
              }}
            >
              <option value="">{t("key.no_device_group")}</option>
              {(groups.data ?? []).map((group) => (
                <option key={group.id} value={group.id}>
                  {group.name}
                </option>
              ))}
            </select>
          </Field>
          <Field
            label={t("jumpclient.jump_password")}
            hint={t("jumpclient.jump_password_hint")}
            error={fieldError(t, action.error, "jump_password")}
          >
            <input
              type="password"
              autoComplete="new-password"
              value={jumpPassword}
              data-testid="jump-client-jump-password"
              onInput={(event) => setJumpPassword(event.currentTarget.value)}
            />
          </Field>
          <ErrorNotice
            error={groups.error ?? action.error}
            testid="jump-client-message"
            shown={[
              "password",
              "totp_code",
              "device_name",
              "company",
              "jump_password",
            ]}
          />
          <SaveCancel
            label={t("jumpclient.submit")}
            testid="jump-client-submit"
            busy={action.busy}
            onCancel={onClose}
          />
        </form>
      )}
    </Modal>
  );
}
