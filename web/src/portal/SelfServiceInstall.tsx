/** "Install for unattended access" on the public portal (UNA-3): the customer proves he may
 * install a permanent client — with his administrator's installer code, or with a technician's
 * sign-in — names the computer (and, as a technician, gives the company), and gets a single-use
 * install command (the token only as an argument) and the install script to download. */

import { useState } from "preact/hooks";
import { api, call } from "../api/client";
import type { components } from "../api/schema";
import { useI18n } from "../i18n";
import { useAction } from "../shared/hooks";
import { ErrorNotice, Field, fieldError } from "../shared/ui";

type Issued = components["schemas"]["SelfServiceIssued"];
type Way = "code" | "technician";

export function SelfServiceInstall({ slug }: { slug: string | null }) {
  const { t, language } = useI18n();
  const [open, setOpen] = useState(false);
  const [way, setWay] = useState<Way>("code");
  const [code, setCode] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [totp, setTotp] = useState("");
  const [name, setName] = useState("");
  const [company, setCompany] = useState("");
  const [issued, setIssued] = useState<Issued | null>(null);
  const action = useAction();

  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const answer =
        way === "code"
          ? await call(
              api.POST("/api/v1/portal/self-service/installer-code", {
                body: {
                  portal: slug,
                  installer_code: code.trim(),
                  device_name: name,
                },
              }),
            )
          : await call(
              api.POST("/api/v1/portal/self-service/technician", {
                body: {
                  portal: slug,
                  email,
                  password,
                  totp_code: totp.trim(),
                  device_name: name,
                  company,
                },
              }),
            );
      setPassword("");
      setTotp("");
      setIssued(answer);
    });
  };

  return (
    <section
      class="card portal-install"
      aria-labelledby="portal-install-title"
      data-testid="self-service"
    >
      <h2 id="portal-install-title">{t("selfservice.title")}</h2>
      <p class="muted">{t("selfservice.intro")}</p>
      {!open && !issued && (
        <button
          type="button"
          class="button"
          data-testid="self-service-open"
          onClick={() => setOpen(true)}
        >
          {t("selfservice.open")}
        </button>
      )}
      {open && !issued && (
        <form class="stack" data-testid="self-service-form" onSubmit={submit}>
          <fieldset class="choice">
            <legend>{t("selfservice.how")}</legend>
            {(["code", "technician"] as const).map((option) => (
              <label key={option}>
                <input
                  type="radio"
                  name="self-service-way"
                  value={option}
                  checked={way === option}
                  data-testid={`self-service-way-${option}`}
                  onChange={() => {
                    setWay(option);
                    action.clear();
                  }}
                />{" "}
                {t(
                  option === "code"
                    ? "selfservice.with_code"
                    : "selfservice.with_technician",
                )}
              </label>
            ))}
          </fieldset>
          {way === "code" ? (
            <Field
              label={t("selfservice.code")}
              hint={t("selfservice.code_hint")}
            >
              <input
                name="installer-code"
                autoComplete="off"
                spellcheck={false}
                required
                maxLength={128}
                value={code}
                data-testid="self-service-code"
                onInput={(event) => setCode(event.currentTarget.value)}
              />
            </Field>
          ) : (
            <>
              <Field label={t("selfservice.email")}>
                <input
                  type="email"
                  name="email"
                  autoComplete="username"
                  required
                  value={email}
                  data-testid="self-service-email"
                  onInput={(event) => setEmail(event.currentTarget.value)}
                />
              </Field>
              <Field label={t("selfservice.password")}>
                <input
                  type="password"
                  name="password"
                  autoComplete="current-password"
                  required
                  value={password}
                  data-testid="self-service-password"
                  onInput={(event) => setPassword(event.currentTarget.value)}
                />
              </Field>
              <Field
                label={t("selfservice.totp")}
                hint={t("selfservice.totp_hint")}
              >
                <input
                  name="totp"
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  maxLength={20}
                  value={totp}
                  data-testid="self-service-totp"
                  onInput={(event) => setTotp(event.currentTarget.value)}
                />
              </Field>
              <Field
                label={t("selfservice.company")}
                error={fieldError(t, action.error, "company")}
              >
                <input
                  name="company"
                  value={company}
                  data-testid="self-service-company"
                  onInput={(event) => setCompany(event.currentTarget.value)}
                />
              </Field>
            </>
          )}
          <Field
            label={t("selfservice.device_name")}
            hint={t("selfservice.device_name_hint")}
            error={fieldError(t, action.error, "device_name")}
          >
            <input
              name="device-name"
              value={name}
              data-testid="self-service-device-name"
              onInput={(event) => setName(event.currentTarget.value)}
            />
          </Field>
          <button
            type="submit"
            class="button button-primary"
            disabled={action.busy}
            data-testid="self-service-submit"
          >
            {t("selfservice.submit")}
          </button>
          <ErrorNotice
            error={action.error}
            testid="self-service-message"
            shown={["device_name", "company"]}
          />
        </form>
      )}
      {issued && (
        <div class="stack" data-testid="self-service-issued">
          <p>
            {t("selfservice.issued", {
              name: issued.nickname,
              company: issued.company,
              expires: new Date(issued.expires_at).toLocaleTimeString(language),
            })}
          </p>
          <p class="muted">{t("selfservice.run_as_root")}</p>
          <pre class="command" data-testid="self-service-command">
            {issued.install_command}
          </pre>
          <p>
            <a
              class="button"
              href={issued.download_url}
              download="relaydesk-install.sh"
              data-testid="self-service-download"
            >
              {t("selfservice.download")}
            </a>{" "}
            <span class="muted">{t("selfservice.download_hint")}</span>
          </p>
        </div>
      )}
    </section>
  );
}
