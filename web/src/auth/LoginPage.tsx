/** /login: e-mail and password, then whatever step the server still asks for. */

import { useEffect, useState } from "preact/hooks";
import { api, call, type SignInState, type TotpSetup } from "../api/client";
import { useI18n } from "../i18n";
import { navigate, useLocation } from "../shared/router";
import { safeNext } from "../shared/routes";
import { useSession } from "../shared/session";
import { TotpEnrolment } from "../shared/TotpEnrolment";
import { useAction, useDocumentTitle } from "../shared/hooks";
import { ErrorNotice, Field, LanguageSwitcher, Loading } from "../shared/ui";
import { checkNewPassword, normaliseCode, stepFor } from "./signin";
import { BrandMark } from "../shared/Brand";

export function LoginPage() {
  const { t } = useI18n();
  const { auth, setAuth } = useSession();
  const { search } = useLocation();
  const [typedPassword, setTypedPassword] = useState<string | null>(null);
  const step = stepFor(auth.stage, typedPassword);

  useEffect(() => {
    if (step.kind === "complete") {
      navigate(safeNext(new URLSearchParams(search).get("next")), { replace: true });
    }
  }, [step.kind, search]);

  const titles = {
    credentials: t("signin.title"),
    password_change: t("signin.password_change.title"),
    mfa: t("signin.mfa.title"),
    mfa_enrolment: t("signin.enrolment.title"),
    complete: t("signin.title"),
  };

  useDocumentTitle(titles[step.kind]);

  return (
    <div class="signin-page">
      <div class="signin-topbar">
        <span class="brand">
          <BrandMark />
          relaydesk
        </span>
        <LanguageSwitcher />
      </div>
      <main class="signin-card" data-testid={`signin-${step.kind}`}>
        <h1>{titles[step.kind]}</h1>
        {step.kind === "credentials" && (
          <CredentialsForm
            onSignedIn={(state, password) => {
              setTypedPassword(password);
              setAuth(state);
            }}
          />
        )}
        {step.kind === "password_change" && (
          <PasswordChangeForm currentPassword={step.currentPassword} onDone={setAuth} />
        )}
        {step.kind === "mfa" && <MfaForm onDone={setAuth} />}
        {step.kind === "mfa_enrolment" && <EnrolmentStep onDone={setAuth} />}
        {step.kind === "complete" && <Loading />}
        {step.kind !== "credentials" && step.kind !== "complete" && <AbandonLink />}
      </main>
    </div>
  );
}

function CredentialsForm({ onSignedIn }: { onSignedIn: (state: SignInState, password: string) => void }) {
  const { t } = useI18n();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const state = await call(api.POST("/api/v1/auth/login", { body: { email, password } }));
      onSignedIn(state, password);
    });
  };
  return (
    <form onSubmit={submit} data-testid="signin-form">
      <Field label={t("signin.email")}>
        <input
          type="email"
          name="email"
          autoComplete="username"
          required
          value={email}
          data-testid="signin-email"
          onInput={(event) => setEmail(event.currentTarget.value)}
        />
      </Field>
      <Field label={t("signin.password")}>
        <input
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          data-testid="signin-password"
          onInput={(event) => setPassword(event.currentTarget.value)}
        />
      </Field>
      <ErrorNotice error={action.error} />
      <button type="submit" class="button button-primary button-wide" disabled={action.busy} data-testid="signin-submit">
        {t("signin.submit")}
      </button>
    </form>
  );
}

function PasswordChangeForm({
  currentPassword,
  onDone,
}: {
  currentPassword: string | null;
  onDone: (state: SignInState) => void;
}) {
  const { t } = useI18n();
  const [current, setCurrent] = useState(currentPassword ?? "");
  const [next, setNext] = useState("");
  const [confirmation, setConfirmation] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const wrong = checkNewPassword(current, next, confirmation);
    setProblem(wrong && t(wrong));
    if (wrong) return;
    void action.run(async () => {
      onDone(
        await call(
          api.POST("/api/v1/me/password", {
            // A first sign-in's one-time password: no tokens of the user exist to keep.
            body: { current_password: current, new_password: next, keep_api_tokens: false },
          }),
        ),
      );
    });
  };
  return (
    <form onSubmit={submit} data-testid="password-change-form">
      <p class="lead">{t("signin.password_change.intro")}</p>
      {currentPassword === null && <CurrentPasswordField value={current} onInput={setCurrent} />}
      <NewPasswordFields
        next={next}
        confirmation={confirmation}
        onNext={setNext}
        onConfirmation={setConfirmation}
        problem={problem}
      />
      <ErrorNotice error={action.error} />
      <button type="submit" class="button button-primary button-wide" disabled={action.busy} data-testid="password-change-submit">
        {t("password.change")}
      </button>
    </form>
  );
}

export function CurrentPasswordField({ value, onInput }: { value: string; onInput: (value: string) => void }) {
  const { t } = useI18n();
  return (
    <Field label={t("password.current")}>
      <input
        type="password"
        autoComplete="current-password"
        required
        value={value}
        data-testid="password-current"
        onInput={(event) => onInput(event.currentTarget.value)}
      />
    </Field>
  );
}

export function NewPasswordFields(props: {
  next: string;
  confirmation: string;
  onNext: (value: string) => void;
  onConfirmation: (value: string) => void;
  problem: string | null;
}) {
  const { t } = useI18n();
  return (
    <>
      <Field label={t("password.new")} hint={t("password.hint")}>
        <input
          type="password"
          autoComplete="new-password"
          required
          value={props.next}
          data-testid="password-new"
          onInput={(event) => props.onNext(event.currentTarget.value)}
        />
      </Field>
      <Field label={t("password.confirm")} error={props.problem}>
        <input
          type="password"
          autoComplete="new-password"
          required
          value={props.confirmation}
          data-testid="password-confirm"
          onInput={(event) => props.onConfirmation(event.currentTarget.value)}
        />
      </Field>
    </>
  );
}

function MfaForm({ onDone }: { onDone: (state: SignInState) => void }) {
  const { t } = useI18n();
  const [code, setCode] = useState("");
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      onDone(await call(api.POST("/api/v1/auth/mfa", { body: { code: normaliseCode(code) } })));
    });
  };
  return (
    <form onSubmit={submit} data-testid="mfa-form">
      <p class="lead">{t("signin.mfa.intro")}</p>
      <Field label={t("totp.code")}>
        <input
          name="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          required
          maxLength={12}
          value={code}
          data-testid="mfa-code"
          onInput={(event) => setCode(event.currentTarget.value)}
        />
      </Field>
      <ErrorNotice error={action.error} />
      <button type="submit" class="button button-primary button-wide" disabled={action.busy} data-testid="mfa-submit">
        {t("signin.mfa.submit")}
      </button>
    </form>
  );
}

function EnrolmentStep({ onDone }: { onDone: (state: SignInState) => void }) {
  const { t } = useI18n();
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [setupError, setSetupError] = useState<unknown>(null);
  const action = useAction();
  useEffect(() => {
    call(api.POST("/api/v1/me/totp/setup")).then(setSetup, setSetupError);
  }, []);
  const confirm = (code: string) => {
    void action.run(async () => {
      onDone(await call(api.POST("/api/v1/me/totp/confirm", { body: { code } })));
    });
  };
  return (
    <div>
      <p class="lead">{t("signin.enrolment.intro")}</p>
      <ErrorNotice error={setupError} />
      {setup ? (
        <TotpEnrolment setup={setup} busy={action.busy} error={action.error} onConfirm={confirm} />
      ) : (
        !setupError && <Loading />
      )}
    </div>
  );
}

/** Leaves a half-finished sign-in (e.g. to use another account). */
function AbandonLink() {
  const { t } = useI18n();
  const { signOut } = useSession();
  return (
    <p class="signin-abandon">
      <button type="button" class="button button-link" data-testid="signin-abandon" onClick={() => void signOut()}>
        {t("signin.abandon")}
      </button>
    </p>
  );
}
