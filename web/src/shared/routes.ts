/** Which page a URL shows. Pure, so the routing rules can be tested without a browser. */

export const CONSOLE_SECTIONS = ["queues", "sessions", "jump-clients", "ad-hoc", "reports"] as const;
export type ConsoleSection = (typeof CONSOLE_SECTIONS)[number];

export const ADMIN_SECTIONS = [
  "users",
  "teams",
  "roles",
  "device-groups",
  "installers",
  "jump-policies",
  "issue-types",
  "session-reports",
  "settings",
  "audit",
] as const;
export type AdminSection = (typeof ADMIN_SECTIONS)[number];

export type Route =
  | { area: "portal" }
  | { area: "adhoc" }
  | { area: "login" }
  | { area: "console"; section: ConsoleSection; reportId?: number }
  | { area: "admin"; section: AdminSection; reportId?: number }
  | { area: "account" }
  | { area: "not_found" };

function pick<T extends string>(options: readonly T[], value: string | undefined): T | null {
  if (value === undefined || value === "") return options[0] ?? null;
  return (options as readonly string[]).includes(value) ? (value as T) : null;
}

export function matchRoute(pathname: string): Route {
  const parts = pathname.split("/").filter(Boolean);
  const [area, section, ...rest] = parts;
  if (area === undefined || area === "portal") return { area: "portal" };
  if (rest.length > 0) return reportRoute(area, section, rest);
  switch (area) {
    case "login":
      return section === undefined ? { area: "login" } : { area: "not_found" };
    case "adhoc":
      return section === undefined ? { area: "adhoc" } : { area: "not_found" };
    case "account":
      return section === undefined ? { area: "account" } : { area: "not_found" };
    case "console": {
      const found = pick(CONSOLE_SECTIONS, section);
      return found ? { area: "console", section: found } : { area: "not_found" };
    }
    case "admin": {
      const found = pick(ADMIN_SECTIONS, section);
      return found ? { area: "admin", section: found } : { area: "not_found" };
    }
    default:
      return { area: "not_found" };
  }
}

/** Where each area lists session reports; a report's own page is this path and its id. */
export const REPORTS_PATH = { console: "/console/reports", admin: "/admin/session-reports" } as const;

/** A report's own URL (/console/reports/123, /admin/session-reports/123): nothing else is deeper. */
function reportRoute(area: string, section: string | undefined, rest: string[]): Route {
  const [id, ...more] = rest;
  if (more.length > 0 || id === undefined || !/^[1-9][0-9]{0,14}$/.test(id)) return { area: "not_found" };
  if (area === "console" && section === "reports") return { area: "console", section: "reports", reportId: Number(id) };
  if (area === "admin" && section === "session-reports") {
    return { area: "admin", section: "session-reports", reportId: Number(id) };
  }
  return { area: "not_found" };
}

/** Pages that only a signed-in user may see. */
export function needsSignIn(route: Route): boolean {
  return route.area === "console" || route.area === "admin" || route.area === "account";
}

/** Where to go after signing in: only a path of this app, never another site or the login page. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.includes("\\")) {
    return "/console";
  }
  const path = next.split(/[?#]/)[0] ?? "";
  if (path === "/login" || path.startsWith("/login/")) return "/console";
  return next;
}

export function loginUrl(currentPath: string): string {
  return `/login?next=${encodeURIComponent(currentPath)}`;
}
