/** /: the public page where a customer starts a support session. */

import { useState } from "preact/hooks";
import { useI18n } from "../i18n";
import { useDocumentTitle } from "../shared/hooks";
import { Link } from "../shared/router";
import { Field, LanguageSwitcher, Notice } from "../shared/ui";
import { BrandMark } from "../shared/Brand";

export function PortalPage() {
  const { t } = useI18n();
  useDocumentTitle(t("portal.title"));
  const [key, setKey] = useState("");
  const [tried, setTried] = useState(false);
  return (
    <div class="portal">
      <header class="portal-header">
        <span class="brand">
          <BrandMark />
          relaydesk
        </span>
        <div class="portal-header-actions">
          <LanguageSwitcher />
          <Link href="/login" class="button button-quiet" data-testid="portal-technician-login">
            {t("portal.technician_sign_in")}
          </Link>
        </div>
      </header>
      <main class="portal-main">
        <section class="portal-hero">
          <h1>{t("portal.title")}</h1>
          <p class="lead">{t("portal.intro")}</p>
        </section>
        <section class="card portal-key" aria-labelledby="portal-key-title">
          <h2 id="portal-key-title">{t("portal.key.title")}</h2>
          <p class="muted">{t("portal.key.intro")}</p>
          <form
            class="inline-form"
            data-testid="session-key-form"
            onSubmit={(event) => {
              event.preventDefault();
              setTried(true);
            }}
          >
            <Field label={t("portal.key.label")}>
              <input
                name="key"
                autoComplete="off"
                spellcheck={false}
                required
                maxLength={64}
                value={key}
                data-testid="session-key-input"
                onInput={(event) => {
                  setKey(event.currentTarget.value);
                  setTried(false);
                }}
              />
            </Field>
            <button type="submit" class="button button-primary" data-testid="session-key-submit">
              {t("portal.key.submit")}
            </button>
          </form>
          {tried && (
            <Notice kind="warning" testid="session-key-message">
              {t("portal.key.unavailable")}
            </Notice>
          )}
        </section>
        <div class="portal-grid">
          <section class="card" aria-labelledby="portal-technician-title">
            <h2 id="portal-technician-title">{t("portal.technician.title")}</h2>
            <p class="muted">{t("portal.technician.empty")}</p>
          </section>
          <section class="card" aria-labelledby="portal-issue-title">
            <h2 id="portal-issue-title">{t("portal.issue.title")}</h2>
            <p class="muted">{t("portal.issue.empty")}</p>
          </section>
        </div>
      </main>
      <footer class="portal-footer muted">{t("portal.footer")}</footer>
    </div>
  );
}
