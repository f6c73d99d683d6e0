/** /account: the signed-in user's own password, second factor, API tokens and language. */

import { useState } from "preact/hooks";
import { api, call, send, type ApiToken, type TotpSetup } from "../api/client";
import { CurrentPasswordField, NewPasswordFields } from "../auth/LoginPage";
import { checkNewPassword } from "../auth/signin";
import { LANGUAGES, useI18n } from "../i18n";
import { formatDateTime } from "../shared/format";
import { useAction, useDocumentTitle, useLoad } from "../shared/hooks";
import { useMe, useSession } from "../shared/session";
import { TotpEnrolment } from "../shared/TotpEnrolment";
import { Badge, Card, Checkbox, ConfirmButton, CopyButton, ErrorNotice, Field, Loading, Notice } from "../shared/ui";

export function AccountPage() {
  const { t } = useI18n();
  const me = useMe();
  useDocumentTitle(t("account.title"));
  return (
    <main class="page page-narrow">
      <div class="page-header">
        <h1>{t("account.title")}</h1>
        <p class="muted">
          {me.name} · {me.email}
        </p>
      </div>
      <PasswordCard />
      <TotpCard />
      <TokensCard />
      <LanguageCard />
    </main>
  );
}

function PasswordCard() {
  const { t } = useI18n();
  const { setAuth } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirmation, setConfirmation] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [changed, setChanged] = useState(false);
  const [keepTokens, setKeepTokens] = useState(false);
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    setChanged(false);
    const wrong = checkNewPassword(current, next, confirmation);
    setProblem(wrong && t(wrong));
    if (wrong) return;
    void action.run(async () => {
      const state = await call(
        api.POST("/api/v1/me/password", {
          body: { current_password: current, new_password: next, keep_api_tokens: keepTokens },
        }),
      );
      setAuth(state);
      setCurrent("");
      setNext("");
      setConfirmation("");
      setChanged(true);
    });
  };
  return (
    <Card title={t("account.password.title")} testid="account-password">
      <form onSubmit={submit} data-testid="account-password-form" class="form-narrow">
        <CurrentPasswordField value={current} onInput={setCurrent} />
        <NewPasswordFields
          next={next}
          confirmation={confirmation}
          onNext={setNext}
          onConfirmation={setConfirmation}
          problem={problem}
        />
        <p class="muted">{t("account.password.others_signed_out")}</p>
        <Checkbox
          label={t("account.password.keep_api_tokens")}
          checked={keepTokens}
          onChange={setKeepTokens}
          testid="account-password-keep-tokens"
        />
        <ErrorNotice error={action.error} />
        {changed && (
          <Notice kind="success" testid="password-changed">
            {t("account.password.changed")}
          </Notice>
        )}
        <div class="form-actions">
          <button type="submit" class="button button-primary" disabled={action.busy} data-testid="account-password-submit">
            {t("password.change")}
          </button>
        </div>
      </form>
    </Card>
  );
}

function TotpCard() {
  const { t } = useI18n();
  const me = useMe();
  const { setAuth, setMe } = useSession();
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [password, setPassword] = useState("");
  const [done, setDone] = useState<"enabled" | "disabled" | null>(null);
  const action = useAction();

  const start = () => {
    setDone(null);
    void action.run(async () => setSetup(await call(api.POST("/api/v1/me/totp/setup"))));
  };
  const confirm = (code: string) => {
    void action.run(async () => {
      setAuth(await call(api.POST("/api/v1/me/totp/confirm", { body: { code } })));
      setSetup(null);
      setDone("enabled");
    });
  };
  const disable = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      await send(api.POST("/api/v1/me/totp/disable", { body: { current_password: password } }));
      setMe(await call(api.GET("/api/v1/me")));
      setPassword("");
      setDone("disabled");
    });
  };

  return (
    <Card
      title={t("account.totp.title")}
      testid="account-totp"
      actions={
        me.totp_enabled ? (
          <Badge tone="good">{t("account.totp.on")}</Badge>
        ) : (
          <Badge tone="neutral">{t("account.totp.off")}</Badge>
        )
      }
    >
      <p class="muted">{t("account.totp.about")}</p>
      {done && (
        <Notice kind="success" testid="totp-status-changed">
          {t(done === "enabled" ? "account.totp.enabled" : "account.totp.disabled")}
        </Notice>
      )}
      {me.totp_enabled ? (
        <form onSubmit={disable} class="form-narrow" data-testid="totp-disable-form">
          <Field label={t("password.current")} hint={t("account.totp.disable_hint")}>
            <input
              type="password"
              autoComplete="current-password"
              required
              value={password}
              data-testid="totp-disable-password"
              onInput={(event) => setPassword(event.currentTarget.value)}
            />
          </Field>
          <ErrorNotice error={action.error} />
          <div class="form-actions">
            <button type="submit" class="button button-danger" disabled={action.busy} data-testid="totp-disable">
              {t("account.totp.disable")}
            </button>
          </div>
        </form>
      ) : setup ? (
        <TotpEnrolment
          setup={setup}
          busy={action.busy}
          error={action.error}
          onConfirm={confirm}
          onCancel={() => {
            setSetup(null);
            action.clear();
          }}
        />
      ) : (
        <>
          <ErrorNotice error={action.error} />
          <div class="form-actions">
            <button type="button" class="button button-primary" disabled={action.busy} data-testid="totp-setup" onClick={start}>
              {t("account.totp.enable")}
            </button>
          </div>
        </>
      )}
    </Card>
  );
}

function TokensCard() {
  const { t, language } = useI18n();
  const tokens = useLoad(() => call(api.GET("/api/v1/me/tokens")));
  const [name, setName] = useState("");
  const [days, setDays] = useState("");
  const [issued, setIssued] = useState<{ token: string; api_token: ApiToken } | null>(null);
  const action = useAction();

  const create = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const expires = days.trim() ? Number(days) : null;
      setIssued(
        await call(api.POST("/api/v1/me/tokens", { body: { name: name.trim(), expires_in_days: expires } })),
      );
      setName("");
      setDays("");
      tokens.reload();
    });
  };
  const revoke = (token: ApiToken) => {
    void action.run(async () => {
      await send(api.DELETE("/api/v1/me/tokens/{token_id}", { params: { path: { token_id: token.id } } }));
      if (issued?.api_token.id === token.id) setIssued(null);
      tokens.reload();
    });
  };

  return (
    <Card title={t("account.tokens.title")} testid="account-tokens">
      <p class="muted">{t("account.tokens.about")}</p>
      <form class="inline-form" onSubmit={create} data-testid="token-create-form">
        <Field label={t("account.tokens.name")}>
          <input
            required
            maxLength={100}
            value={name}
            data-testid="token-name"
            onInput={(event) => setName(event.currentTarget.value)}
          />
        </Field>
        <Field label={t("account.tokens.expires_in_days")}>
          <input
            type="number"
            min={1}
            max={3650}
            placeholder={t("account.tokens.never")}
            value={days}
            data-testid="token-days"
            onInput={(event) => setDays(event.currentTarget.value)}
          />
        </Field>
        <button type="submit" class="button button-primary" disabled={action.busy} data-testid="token-create">
          {t("account.tokens.create")}
        </button>
      </form>
      <ErrorNotice error={action.error} />
      {issued && (
        <Notice kind="success" testid="new-api-token-notice">
          <p>{t("account.tokens.shown_once", { name: issued.api_token.name })}</p>
          <div class="secret-row">
            <code class="secret" data-testid="new-api-token">
              {issued.token}
            </code>
            <CopyButton text={issued.token} testid="new-api-token-copy" />
          </div>
        </Notice>
      )}
      <ErrorNotice error={tokens.error} />
      {tokens.data === null ? (
        !tokens.error && <Loading />
      ) : tokens.data.length === 0 ? (
        <p class="muted" data-testid="tokens-empty">
          {t("account.tokens.none")}
        </p>
      ) : (
        <table class="table" data-testid="tokens-table">
          <thead>
            <tr>
              <th>{t("account.tokens.name")}</th>
              <th>{t("account.tokens.prefix")}</th>
              <th>{t("common.created")}</th>
              <th>{t("account.tokens.expires")}</th>
              <th>{t("account.tokens.last_used")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((token) => (
              <tr key={token.id} data-testid="token-row">
                <td>{token.name}</td>
                <td>
                  <code>{token.prefix}…</code>
                </td>
                <td>{formatDateTime(token.created_at, language)}</td>
                <td>{token.expires_at ? formatDateTime(token.expires_at, language) : t("account.tokens.never")}</td>
                <td>{token.last_used_at ? formatDateTime(token.last_used_at, language) : t("account.tokens.unused")}</td>
                <td class="cell-actions">
                  <ConfirmButton
                    label={t("account.tokens.revoke")}
                    question={t("account.tokens.revoke_question")}
                    testid="token-revoke"
                    onConfirm={() => revoke(token)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function LanguageCard() {
  const { t, language, setLanguage } = useI18n();
  const [error, setError] = useState<unknown>(null);
  return (
    <Card title={t("account.language.title")} testid="account-language">
      <p class="muted">{t("account.language.about")}</p>
      <div class="segmented" role="radiogroup" aria-label={t("language.label")}>
        {LANGUAGES.map((code) => (
          <label
            key={code}
            class={code === language ? "segment active" : "segment"}
            data-testid={`account-language-${code}`}
          >
            <input
              type="radio"
              name="language"
              value={code}
              checked={code === language}
              onChange={() => {
                setError(null);
                setLanguage(code).catch(setError);
              }}
            />
            {t(`language.${code}`)}
          </label>
        ))}
      </div>
      <ErrorNotice error={error} />
    </Card>
  );
}
