/** Shows a new TOTP secret (QR code and text) and asks for the first code from the app. */

import { useState } from "preact/hooks";
import type { TotpSetup } from "../api/client";
import { normaliseCode } from "../auth/signin";
import { useI18n } from "../i18n";
import { svgDataUrl } from "./format";
import { ErrorNotice, Field, SaveCancel } from "./ui";

type Props = {
  setup: TotpSetup;
  busy: boolean;
  error: unknown;
  onConfirm: (code: string) => void;
  onCancel?: () => void;
};

export function TotpEnrolment({ setup, busy, error, onConfirm, onCancel }: Props) {
  const { t } = useI18n();
  const [code, setCode] = useState("");
  return (
    <form
      class="totp-enrolment"
      data-testid="totp-enrolment-form"
      onSubmit={(event) => {
        event.preventDefault();
        onConfirm(normaliseCode(code));
      }}
    >
      <ol class="steps">
        <li>{t("totp.step_scan")}</li>
        <li>{t("totp.step_code")}</li>
      </ol>
      <div class="totp-secret-box">
        <img
          class="totp-qr"
          src={svgDataUrl(setup.qr_svg)}
          alt={t("totp.qr_alt")}
          width={180}
          height={180}
          data-testid="totp-qr"
        />
        <div>
          <p class="muted">{t("totp.manual_entry")}</p>
          <code class="secret" data-testid="totp-secret">
            {setup.secret}
          </code>
        </div>
      </div>
      <Field label={t("totp.code")}>
        <input
          name="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          required
          maxLength={12}
          value={code}
          data-testid="totp-code"
          onInput={(event) => setCode(event.currentTarget.value)}
        />
      </Field>
      <ErrorNotice error={error} />
      <SaveCancel label={t("totp.confirm")} testid="totp-confirm" busy={busy} onCancel={onCancel} />
    </form>
  );
}
