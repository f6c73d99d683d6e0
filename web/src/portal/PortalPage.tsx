/** /: the public page where a customer starts a support session (ATT-2) — with a session key
 * (typed, or from the key's unique link), by picking a technician, or with the issue form —
 * and then follows it: who helps, how to start the support client, status, chat, consent. */

import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, call, type CustomerStart, type PortalFront as Front } from "../api/client";
import { ApiError } from "../api/errors";
import { useI18n } from "../i18n";
import { BrandMark } from "../shared/Brand";
import { useDocumentTitle, useLoad } from "../shared/hooks";
import { Link, navigate, useLocation } from "../shared/router";
import { ErrorNotice, LanguageSwitcher, Loading, Notice } from "../shared/ui";
import {
  addressWithoutKey,
  browserStorage,
  entryFromSearch,
  formatKeyInput,
  fromStart,
  loadStored,
  saveStored,
  type StoredStart,
} from "./portal";
import { KeyEntry, PortalFront } from "./PortalFront";
import { PortalSession } from "./PortalSession";
import { SelfServiceInstall } from "./SelfServiceInstall";

export function PortalPage() {
  const { t } = useI18n();
  useDocumentTitle(t("portal.title"));
  const location = useLocation();
  const entry = entryFromSearch(location.search, window.location.hash);
  const [stored, setStored] = useState<StoredStart | null>(() => loadStored(browserStorage(), entry.slug));
  const [lost, setLost] = useState(false);
  const slug = stored?.slug ?? entry.slug;
  const front = useLoad<Front>(() => call(api.GET("/api/v1/portal", { params: { query: slug ? { slug } : {} } })));

  const started = useCallback(
    (start: CustomerStart) => {
      const kept = fromStart(start, entry.slug);
      saveStored(browserStorage(), entry.slug, kept);
      setStored(kept);
      setLost(false);
      if (entry.key) navigate(addressWithoutKey(entry.slug), { replace: true });
    },
    [entry.slug, entry.key],
  );

  const storedSlug = stored?.slug ?? null;
  const forget = useCallback(() => saveStored(browserStorage(), storedSlug, null), [storedSlug]);
  const leave = useCallback(
    (why: "done" | "lost") => {
      forget();
      setStored(null);
      setLost(why === "lost");
    },
    [forget],
  );

  // A key link opened while an older session is kept here: the link wins.
  const linkKey = entry.key;
  useEffect(() => {
    if (linkKey && stored && formatKeyInput(stored.key) !== formatKeyInput(linkKey)) leave("done");
  }, [linkKey, stored, leave]);

  return (
    <PortalFrame organisation={front.data?.organisation_name}>
      {stored ? (
        <PortalSession start={stored} onLeave={leave} onEnded={forget} />
      ) : (
        <>
          <section class="portal-hero">
            <h1>{t("portal.title")}</h1>
            <p class="lead">{t("portal.intro")}</p>
          </section>
          {lost && (
            <Notice kind="warning" testid="portal-session-lost">
              {t("portal.session_lost")}
            </Notice>
          )}
          {front.data === null ? (
            front.error instanceof ApiError && front.error.code === "portal_not_found" ? (
              <KeyEntry slug={null} linkKey={entry.key} onStarted={started} />
            ) : front.error ? (
              <ErrorNotice error={front.error} />
            ) : (
              <Loading />
            )
          ) : (
            <PortalFront front={front.data} slug={entry.slug} linkKey={entry.key} onStarted={started} />
          )}
          {front.data && <SelfServiceInstall slug={entry.slug} />}
        </>
      )}
    </PortalFrame>
  );
}

function PortalFrame({ organisation, children }: { organisation: string | undefined; children: ComponentChildren }) {
  const { t } = useI18n();
  return (
    <div class="portal">
      <header class="portal-header">
        <span class="brand">
          <BrandMark />
          relaydesk
          {organisation && (
            <span class="portal-org" data-testid="portal-organisation">
              {organisation}
            </span>
          )}
        </span>
        <div class="portal-header-actions">
          <LanguageSwitcher />
          <Link href="/login" class="button button-quiet" data-testid="portal-technician-login">
            {t("portal.technician_sign_in")}
          </Link>
        </div>
      </header>
      <main class="portal-main">{children}</main>
      <footer class="portal-footer muted">{t("portal.footer")}</footer>
    </div>
  );
}
