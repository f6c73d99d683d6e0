/** The double-submit CSRF token: the server sets the `relaydesk_csrf` cookie at sign-in and
 * wants it back in `X-CSRF-Token` on every request that changes something. */

const CSRF_COOKIE = "relaydesk_csrf";
const CSRF_HEADER = "X-CSRF-Token";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

export function needsCsrf(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

/** The value of one cookie in a `document.cookie` string, or null. */
export function readCookie(cookies: string, name: string): string | null {
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value) || null;
      } catch {
        return value || null;
      }
    }
  }
  return null;
}

/** The header to add to a request, or null when it needs none or no token is there. */
export function csrfHeader(method: string, cookies: string): [string, string] | null {
  if (!needsCsrf(method)) return null;
  const token = readCookie(cookies, CSRF_COOKIE);
  return token ? [CSRF_HEADER, token] : null;
}
