/** /adhoc#<token>: the deployment link of an ad hoc session (ADH-2). The token is in the
 * fragment, which the browser never sends; the page tells the server the link was opened (the
 * token in a POST body) and offers the support client saved under a name that carries the token
 * (`download` attribute; the URL has none), as the attended key's download does. */

import { useEffect, useState } from "preact/hooks";
import { api, call } from "../api/client";
import type { components } from "../api/schema";
import { useI18n } from "../i18n";
import { BrandMark } from "../shared/Brand";
import { useDocumentTitle } from "../shared/hooks";
import { ErrorNotice, LanguageSwitcher, Loading, Notice } from "../shared/ui";

type AdHocLink = components["schemas"]["AdHocLinkOut"];

/** The token of the link's fragment ("#abc…"), or null when the fragment is not one. */
export function tokenOfFragment(hash: string): string | null {
  const token = hash.replace(/^#/, "");
  return /^[A-Za-z0-9_-]{20,128}$/.test(token) ? token : null;
}

export function AdHocLinkPage() {
  const { t, language } = useI18n();
  useDocumentTitle(t("adhoc.portal.title"));
  const [token] = useState(() => tokenOfFragment(window.location.hash));
  const [link, setLink] = useState<AdHocLink | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!token) return;
    call(api.POST("/api/v1/portal/ad-hoc/opened", { body: { token, language } })).then(setLink, setError);
    // Opened once per page load; a language switch later does not count as another opening.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [token]);
  return (
    <div class="portal">
      <header class="portal-header">
        <span class="brand">
          <BrandMark />
          relaydesk
          {link && (
            <span class="portal-org" data-testid="adhoc-portal-organisation">
              {link.organisation}
            </span>
          )}
        </span>
        <div class="portal-header-actions">
          <LanguageSwitcher />
        </div>
      </header>
      <main class="portal-main">
        <section class="portal-hero">
          <h1>{t("adhoc.portal.title")}</h1>
        </section>
        {!token ? (
          <Notice kind="warning" testid="adhoc-portal-no-token">
            {t("adhoc.portal.no_token")}
          </Notice>
        ) : error ? (
          <ErrorNotice error={error} testid="adhoc-portal-error" />
        ) : !link ? (
          <Loading />
        ) : (
          <section class="card" data-testid="adhoc-portal">
            <p class="lead" data-testid="adhoc-portal-invited">
              {t("adhoc.portal.invited", { technician: link.technician, organisation: link.organisation })}
            </p>
            <p>{t("adhoc.portal.steps")}</p>
            <p>
              <a class="button button-primary" href={link.support_client_url} download={link.file_name} data-testid="adhoc-portal-download">
                {t("adhoc.portal.download")}
              </a>
            </p>
          </section>
        )}
      </main>
    </div>
  );
}
