/** The whole web app: who is signed in, in which language, and which page the URL shows. */

import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { AccountPage } from "./account/AccountPage";
import { AdminPage } from "./admin/AdminPage";
import { api, call, SESSION_LOST, type Me, type SignInState } from "./api/client";
import { LoginPage } from "./auth/LoginPage";
import { ConsolePage } from "./console/ConsolePage";
import { I18nContext, initialLanguage, translator, useI18n, type I18n, type Language } from "./i18n";
import { AdHocLinkPage } from "./portal/AdHocLinkPage";
import { PortalPage } from "./portal/PortalPage";
import { AppShell } from "./shared/AppShell";
import { Link, navigate, useLocation } from "./shared/router";
import { loginUrl, matchRoute, needsSignIn, type Route } from "./shared/routes";
import { SessionContext, type Session } from "./shared/session";
import { Card, ErrorNotice, Loading } from "./shared/ui";

const LANGUAGE_KEY = "relaydesk.language";
const SIGNED_OUT: SignInState = { stage: "signed_out" };

function storedLanguage(): string | null {
  try {
    return window.localStorage.getItem(LANGUAGE_KEY);
  } catch {
    return null;
  }
}

function storeLanguage(language: Language): void {
  try {
    window.localStorage.setItem(LANGUAGE_KEY, language);
  } catch {
    // Private browsing: the choice lasts for this page only.
  }
}

export function App() {
  const [auth, setAuth] = useState<SignInState | null>(null);
  const [bootError, setBootError] = useState<unknown>(null);
  const [localLanguage, setLocalLanguage] = useState<Language>(() =>
    initialLanguage(storedLanguage(), navigator.languages ?? [navigator.language]),
  );
  const location = useLocation();
  const route = matchRoute(location.pathname);

  useEffect(() => {
    call(api.GET("/api/v1/auth/state")).then(setAuth, setBootError);
    const lost = () => setAuth(SIGNED_OUT);
    window.addEventListener(SESSION_LOST, lost);
    return () => window.removeEventListener(SESSION_LOST, lost);
  }, []);

  const me = auth?.stage === "complete" ? (auth.user ?? null) : null;
  const language: Language = me?.language ?? localLanguage;

  useEffect(() => {
    document.documentElement.lang = language;
    storeLanguage(language);
  }, [language]);

  const setMe = useCallback((user: Me) => setAuth({ stage: "complete", user }), []);
  const signOut = useCallback(async () => {
    try {
      await call(api.POST("/api/v1/auth/logout"));
    } catch {
      // Already signed out on the server (expired, revoked): nothing left to end.
    }
    setAuth(SIGNED_OUT);
    navigate("/login", { replace: true });
  }, []);

  const i18n = useMemo<I18n>(
    () => ({
      language,
      t: translator(language),
      setLanguage: async (chosen: Language) => {
        if (me) setMe(await call(api.PATCH("/api/v1/me", { body: { language: chosen } })));
        setLocalLanguage(chosen);
      },
    }),
    [language, me, setMe],
  );

  const guarded = auth !== null && needsSignIn(route) && me === null;
  useEffect(() => {
    if (guarded) navigate(loginUrl(location.pathname + location.search), { replace: true });
  }, [guarded, location.pathname, location.search]);

  if (auth === null) {
    return (
      <I18nContext.Provider value={i18n}>
        <div class="boot">{bootError ? <ErrorNotice error={bootError} /> : <Loading />}</div>
      </I18nContext.Provider>
    );
  }
  const session: Session = { auth, me, setAuth, setMe, signOut };
  return (
    <I18nContext.Provider value={i18n}>
      <SessionContext.Provider value={session}>
        {guarded ? <Loading /> : <Page route={route} me={me} />}
      </SessionContext.Provider>
    </I18nContext.Provider>
  );
}

function Page({ route, me }: { route: Route; me: Me | null }) {
  switch (route.area) {
    case "portal":
      return <PortalPage />;
    case "adhoc":
      return <AdHocLinkPage />;
    case "login":
      return <LoginPage />;
    case "console":
      return (
        <AppShell area="console">
          <ConsolePage section={route.section} />
        </AppShell>
      );
    case "admin":
      return (
        <AppShell area="admin">
          {me?.is_admin ? <AdminPage section={route.section} /> : <NotAllowed />}
        </AppShell>
      );
    case "account":
      return (
        <AppShell area="account">
          <AccountPage />
        </AppShell>
      );
    case "not_found":
      return <NotFound />;
  }
}

function NotAllowed() {
  const { t } = useI18n();
  return (
    <main class="page page-narrow">
      <Card testid="not-allowed">
        <div class="empty-state">
          <p class="empty-title">{t("admin.not_allowed")}</p>
          <Link href="/console" class="button button-secondary">
            {t("common.back_to_console")}
          </Link>
        </div>
      </Card>
    </main>
  );
}

function NotFound() {
  const { t } = useI18n();
  return (
    <main class="page page-narrow">
      <Card testid="not-found">
        <div class="empty-state">
          <p class="empty-title">{t("common.not_found")}</p>
          <Link href="/" class="button button-secondary">
            {t("common.home")}
          </Link>
        </div>
      </Card>
    </main>
  );
}
