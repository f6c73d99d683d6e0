import { describe, expect, it } from "vitest";
import { translator } from "../i18n";
import { initials } from "./AppShell";
import { senderName } from "./Chat";
import { formatDateTime, lines, svgDataUrl } from "./format";
import { loginUrl, matchRoute, needsSignIn, safeNext } from "./routes";
import { formatNumber, formatPercent } from "./text";

describe("matchRoute", () => {
  it("maps the areas the server serves", () => {
    expect(matchRoute("/")).toEqual({ area: "portal" });
    expect(matchRoute("/login")).toEqual({ area: "login" });
    expect(matchRoute("/account")).toEqual({ area: "account" });
    expect(matchRoute("/console")).toEqual({ area: "console", section: "queues" });
    expect(matchRoute("/console/jump-clients")).toEqual({ area: "console", section: "jump-clients" });
    expect(matchRoute("/admin")).toEqual({ area: "admin", section: "users" });
    expect(matchRoute("/admin/audit/")).toEqual({ area: "admin", section: "audit" });
  });

  it("gives each session report a URL of its own", () => {
    expect(matchRoute("/console/reports/123")).toEqual({ area: "console", section: "reports", reportId: 123 });
    expect(matchRoute("/admin/session-reports/7/")).toEqual({ area: "admin", section: "session-reports", reportId: 7 });
    expect(matchRoute("/console/reports/0")).toEqual({ area: "not_found" });
    expect(matchRoute("/console/reports/12x")).toEqual({ area: "not_found" });
    expect(matchRoute("/console/queues/123")).toEqual({ area: "not_found" });
    expect(matchRoute("/console/reports/1/2")).toEqual({ area: "not_found" });
  });

  it("says when there is no such page", () => {
    expect(matchRoute("/admin/nothing")).toEqual({ area: "not_found" });
    expect(matchRoute("/console/queues/extra")).toEqual({ area: "not_found" });
    expect(matchRoute("/elsewhere")).toEqual({ area: "not_found" });
  });

  it("guards the signed-in areas only", () => {
    expect(needsSignIn(matchRoute("/console"))).toBe(true);
    expect(needsSignIn(matchRoute("/admin/roles"))).toBe(true);
    expect(needsSignIn(matchRoute("/account"))).toBe(true);
    expect(needsSignIn(matchRoute("/"))).toBe(false);
    expect(needsSignIn(matchRoute("/login"))).toBe(false);
  });
});

describe("safeNext", () => {
  it("returns to the page the user came from", () => {
    expect(safeNext("/admin/audit?x=1")).toBe("/admin/audit?x=1");
  });

  it("never leaves the site", () => {
    expect(safeNext("https://evil.example/")).toBe("/console");
    expect(safeNext("//evil.example/")).toBe("/console");
    expect(safeNext("/\\evil.example")).toBe("/console");
    expect(safeNext("javascript:alert(1)")).toBe("/console");
  });

  it("does not loop back to the sign-in page", () => {
    expect(safeNext("/login?next=/x")).toBe("/console");
    expect(safeNext(null)).toBe("/console");
  });

  it("round-trips through the login URL", () => {
    const url = new URL(loginUrl("/admin/users?a=b"), "http://host");
    expect(safeNext(url.searchParams.get("next"))).toBe("/admin/users?a=b");
  });
});

describe("svgDataUrl", () => {
  const decode = (url: string) =>
    new TextDecoder().decode(Uint8Array.from(atob(url.split(",")[1] ?? ""), (c) => c.charCodeAt(0)));

  it("makes inline SVG a standalone image", () => {
    const url = svgDataUrl('<svg width="10" height="10"><path d="M0 0"/></svg>');
    expect(url.startsWith("data:image/svg+xml;base64,")).toBe(true);
    expect(decode(url)).toBe('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M0 0"/></svg>');
  });

  it("keeps a namespace that is already there, and non-ASCII text", () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><title>Clé</title></svg>';
    expect(decode(svgDataUrl(svg))).toBe(svg);
  });
});

describe("small helpers", () => {
  it("splits lines, dropping blanks", () => {
    expect(lines(" 10.0.0.0/8 \n\n192.0.2.0/24\r\n")).toEqual(["10.0.0.0/8", "192.0.2.0/24"]);
  });

  it("makes initials", () => {
    expect(initials("Ada Lovelace King")).toBe("AK");
    expect(initials("cher")).toBe("C");
    expect(initials("  ")).toBe("?");
  });

  it("formats dates per language, and tolerates none", () => {
    expect(formatDateTime(null, "en")).toBe("—");
    expect(formatDateTime("2026-01-31T10:00:00Z", "de")).toMatch(/2026/);
    expect(formatDateTime("not a date", "fr")).toBe("not a date");
  });
});

describe("formatPercent", () => {
  it("writes numbers the way the reader's language does", () => {
    expect(formatPercent(22.46, "en")).toBe("22.5 %");
    expect(formatPercent(22.46, "fr")).toBe("22,5 %");
    expect(formatPercent(22.46, "de")).toBe("22,5 %");
    expect(formatPercent(null, "de")).toBe("—");
    expect(formatNumber(0.25, "de", 2)).toBe("0,25");
  });
});

describe("senderName", () => {
  it("says the server's name for an unnamed customer in the reader's language", () => {
    const unnamed = { sender: "customer", sender_name: "Customer" } as const;
    expect(senderName(unnamed, translator("de"))).toBe("Kunde");
    expect(senderName(unnamed, translator("fr"))).toBe("Client");
    expect(senderName(unnamed, translator("en"))).toBe("Customer");
  });

  it("keeps the names people gave", () => {
    const de = translator("de");
    expect(senderName({ sender: "customer", sender_name: "Zoë Ōtsuka" }, de)).toBe("Zoë Ōtsuka");
    expect(senderName({ sender: "technician", sender_name: "Customer" }, de)).toBe("Customer");
  });
});
