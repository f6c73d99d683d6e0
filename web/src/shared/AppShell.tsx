/** The frame of the signed-in pages: who is signed in, where to go, language, sign-out. */

import type { ComponentChildren } from "preact";
import { useI18n } from "../i18n";
import { Link } from "./router";
import { useMe, useSession } from "./session";
import { LanguageSwitcher } from "./ui";
import { BrandMark } from "./Brand";
import { roleName } from "./roles";

export type Area = "console" | "admin" | "account";

export function AppShell({ area, children }: { area: Area; children: ComponentChildren }) {
  const { t } = useI18n();
  const me = useMe();
  const { signOut } = useSession();
  const areas: { key: Area; href: string; label: string; show: boolean }[] = [
    { key: "console", href: "/console", label: t("nav.console"), show: true },
    { key: "admin", href: "/admin", label: t("nav.admin"), show: me.is_admin },
    { key: "account", href: "/account", label: t("nav.account"), show: true },
  ];
  return (
    <div class="shell">
      <header class="topbar">
        <Link href="/console" class="brand">
          <BrandMark />
          relaydesk
        </Link>
        <span class="topbar-org" title={t("shell.organisation")}>
          {me.organisation.name}
        </span>
        <nav class="topbar-nav" aria-label={t("shell.main_navigation")}>
          {areas
            .filter((item) => item.show)
            .map((item) => (
              <Link
                key={item.key}
                href={item.href}
                class={item.key === area ? "topbar-link active" : "topbar-link"}
                aria-current={item.key === area ? "page" : undefined}
                data-testid={`nav-${item.key}`}
              >
                {item.label}
              </Link>
            ))}
        </nav>
        <div class="topbar-user">
          <div class="user-chip">
            {me.picture ? (
              <img class="avatar" src={me.picture} alt="" />
            ) : (
              <span class="avatar avatar-initials" aria-hidden="true">
                {initials(me.name)}
              </span>
            )}
            <div class="user-chip-text">
              <span class="user-name" data-testid="current-user-name">
                {me.name}
              </span>
              <span class="user-roles" data-testid="current-user-roles">
                {me.roles.length ? me.roles.map((role) => roleName(role.name, t)).join(", ") : t("shell.no_roles")}
              </span>
            </div>
          </div>
          <LanguageSwitcher />
          <button type="button" class="button button-on-dark" data-testid="sign-out" onClick={() => void signOut()}>
            {t("shell.sign_out")}
          </button>
        </div>
      </header>
      {children}
    </div>
  );
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : parts;
  return letters.map((part) => (part ?? "").charAt(0).toUpperCase()).join("") || "?";
}

/** A side navigation and the page beside it. */
export function SideLayout({
  nav,
  label,
  children,
}: {
  nav: {
    href: string;
    label: string;
    active: boolean;
    testid: string;
    badge?: { text: string; tone: "count" | "alert"; testid: string } | undefined;
  }[];
  label: string;
  children: ComponentChildren;
}) {
  return (
    <div class="side-layout">
      <nav class="sidenav" aria-label={label}>
        {nav.map((item) => (
          <Link
            key={item.href}
            href={item.href}
            class={item.active ? "sidenav-link active" : "sidenav-link"}
            aria-current={item.active ? "page" : undefined}
            data-testid={item.testid}
          >
            <span>{item.label}</span>
            {item.badge && (
              <span class={`nav-badge nav-badge-${item.badge.tone}`} data-testid={item.badge.testid}>
                {item.badge.text}
              </span>
            )}
          </Link>
        ))}
      </nav>
      <main class="page">{children}</main>
    </div>
  );
}
