/** "Generate session key" (ATT-1): validity, portal and the device group the customer's computer
 * joins (GOV-3: offered only when groups exist; the server refuses a group outside the
 * technician's scope, or none when his roles reach only some groups), then the key and its link
 * to copy or to e-mail to the customer. */

import { useState } from "preact/hooks";
import { api, call, send, type Portal, type SessionKeyIssued, type ValidityMinutes } from "../api/client";
import { useI18n, type MessageKey } from "../i18n";
import { formatDateTime } from "../shared/format";
import { useAction, useLoad } from "../shared/hooks";
import { Modal } from "../shared/Modal";
import { CopyButton, ErrorNotice, Field, fieldError, Notice, SaveCancel } from "../shared/ui";
import { OutstandingKeys } from "./OutstandingKeys";

export const VALIDITY_CHOICES: { minutes: ValidityMinutes; label: MessageKey }[] = [
  { minutes: 15, label: "key.validity.15" },
  { minutes: 60, label: "key.validity.60" },
  { minutes: 240, label: "key.validity.240" },
  { minutes: 1440, label: "key.validity.1440" },
  { minutes: 10080, label: "key.validity.10080" },
];

export function SessionKeyDialog({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  const portals = useLoad(() => call(api.GET("/api/v1/portals")));
  const groups = useLoad(() => call(api.GET("/api/v1/session-keys/device-groups")));
  const [groupId, setGroupId] = useState<number | null>(null);
  const [validity, setValidity] = useState<ValidityMinutes>(60);
  const [portalId, setPortalId] = useState<number | null>(null);
  const [customer, setCustomer] = useState("");
  const [reference, setReference] = useState("");
  const [issued, setIssued] = useState<SessionKeyIssued | null>(null);
  const action = useAction();

  const list: Portal[] = portals.data ?? [];
  const chosenPortal = portalId ?? list.find((portal) => portal.is_default)?.id ?? list[0]?.id ?? null;

  const generate = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      setIssued(
        await call(
          api.POST("/api/v1/session-keys", {
            body: {
              validity_minutes: validity,
              portal_id: chosenPortal,
              device_group_id: groupId,
              customer_name: customer.trim(),
              reference: reference.trim(),
            },
          }),
        ),
      );
    });
  };

  return (
    <Modal title={t("key.title")} onClose={onClose} testid="session-key-dialog">
      {issued ? (
        <IssuedKey issued={issued} onAnother={() => setIssued(null)} onClose={onClose} />
      ) : (
        <form onSubmit={generate} data-testid="session-key-generate-form">
          <p class="muted">{t("key.about")}</p>
          <Field
            label={t("key.customer_name")}
            hint={t("key.customer_name_hint")}
            error={fieldError(t, action.error, "customer_name")}
          >
            <input
              type="text"
              value={customer}
              maxLength={200}
              dir="auto"
              autoComplete="off"
              data-testid="key-customer-name"
              onInput={(event) => setCustomer(event.currentTarget.value)}
            />
          </Field>
          <Field
            label={t("key.reference")}
            hint={t("key.reference_hint")}
            error={fieldError(t, action.error, "reference")}
          >
            <input
              type="text"
              value={reference}
              maxLength={100}
              dir="auto"
              autoComplete="off"
              data-testid="key-reference"
              onInput={(event) => setReference(event.currentTarget.value)}
            />
          </Field>
          <fieldset>
            <legend>{t("key.validity")}</legend>
            <div class="segmented segmented-wrap" role="radiogroup">
              {VALIDITY_CHOICES.map((choice) => (
                <label key={choice.minutes} class={validity === choice.minutes ? "segment active" : "segment"}>
                  <input
                    type="radio"
                    name="validity"
                    value={choice.minutes}
                    checked={validity === choice.minutes}
                    data-testid={`key-validity-${choice.minutes}`}
                    onChange={() => setValidity(choice.minutes)}
                  />
                  {t(choice.label)}
                </label>
              ))}
            </div>
            <p class="field-hint">{t("key.validity_hint")}</p>
          </fieldset>
          <Field label={t("key.portal")} hint={t("key.portal_hint")}>
            <select
              value={chosenPortal ?? ""}
              disabled={list.length < 2}
              data-testid="key-portal"
              onChange={(event) => setPortalId(Number(event.currentTarget.value))}
            >
              {list.map((portal) => (
                <option key={portal.id} value={portal.id}>
                  {portal.name}
                </option>
              ))}
            </select>
          </Field>
          {(groups.data?.length ?? 0) > 0 && (
            <Field label={t("key.device_group")} hint={t("key.device_group_hint")}>
              <select
                value={groupId ?? ""}
                data-testid="key-device-group"
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
          )}
          <ErrorNotice error={portals.error ?? groups.error ?? action.error} shown={["customer_name", "reference"]} />
          <SaveCancel
            label={t("key.generate")}
            testid="key-generate"
            busy={action.busy || portals.data === null}
            onCancel={onClose}
          />
        </form>
      )}
      <OutstandingKeys key={issued?.expires_at ?? "none"} />
    </Modal>
  );
}

function IssuedKey({
  issued,
  onAnother,
  onClose,
}: {
  issued: SessionKeyIssued;
  onAnother: () => void;
  onClose: () => void;
}) {
  const { t, language } = useI18n();
  const [email, setEmail] = useState("");
  const [sentTo, setSentTo] = useState<string | null>(null);
  const mail = useAction();

  const sendMail = (event: Event) => {
    event.preventDefault();
    const recipient = email.trim();
    setSentTo(null);
    void mail.run(async () => {
      await send(api.POST("/api/v1/session-keys/email", { body: { key: issued.key, email: recipient } }));
      setSentTo(recipient);
      setEmail("");
    });
  };

  return (
    <div data-testid="session-key-issued">
      <p class="muted">{t("key.issued_about")}</p>
      <div class="key-box">
        <span class="key-label">{t("key.key")}</span>
        <div class="key-row">
          <code class="key-value" data-testid="session-key-value">
            {issued.key}
          </code>
          <CopyButton text={issued.key} testid="session-key-copy" />
        </div>
        <span class="key-label">{t("key.url")}</span>
        <div class="key-row">
          <code class="key-url" data-testid="session-key-url">
            {issued.url}
          </code>
          <CopyButton text={issued.url} testid="session-key-url-copy" />
        </div>
        <p class="key-expiry muted small" data-testid="session-key-expiry">
          {t("key.expires", { when: formatDateTime(issued.expires_at, language), portal: issued.portal.name })}
        </p>
      </div>
      <form class="inline-form key-mail" onSubmit={sendMail} data-testid="session-key-email-form">
        <Field label={t("key.email_label")}>
          <input
            type="email"
            required
            autoComplete="off"
            maxLength={320}
            placeholder={t("key.email_placeholder")}
            value={email}
            data-testid="session-key-email"
            onInput={(event) => setEmail(event.currentTarget.value)}
          />
        </Field>
        <button type="submit" class="button button-secondary" disabled={mail.busy} data-testid="session-key-email-send">
          {t("key.email_send")}
        </button>
      </form>
      {sentTo && (
        <Notice kind="success" testid="session-key-email-sent">
          {t("key.email_sent", { email: sentTo })}
        </Notice>
      )}
      <ErrorNotice error={mail.error} testid="session-key-email-error" />
      <div class="form-actions modal-actions">
        <button type="button" class="button button-primary" onClick={onClose} data-testid="session-key-done">
          {t("key.done")}
        </button>
        <button type="button" class="button button-quiet" onClick={onAnother} data-testid="session-key-another">
          {t("key.another")}
        </button>
      </div>
    </div>
  );
}
