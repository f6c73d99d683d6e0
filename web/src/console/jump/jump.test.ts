import { describe, expect, it } from "vitest";
import { jumpBlocked, nextAllowedText } from "./jump";

describe("the Jump action", () => {
  it("is greyed out when the organisation turned unattended access off, whatever the role", () => {
    expect(jumpBlocked({ unattended_access_enabled: false, permissions: ["unattended_access"] })).toBe("jump.off");
  });
  it("is greyed out when the roles leave unattended access out", () => {
    expect(jumpBlocked({ unattended_access_enabled: true, permissions: ["view_screen"] })).toBe("jump.no_permission");
  });
  it("is offered with the switch on and the permission", () => {
    expect(jumpBlocked({ unattended_access_enabled: true, permissions: ["unattended_access"] })).toBeNull();
  });
});

describe("the next allowed time", () => {
  it("is said in the schedule's zone and the reader's language", () => {
    const iso = "2026-12-07T07:00:00Z"; // Monday 08:00 in Paris
    expect(nextAllowedText(iso, "Europe/Paris", "en")).toBe("Monday, 7 December 2026 at 08:00 (Europe/Paris)");
    expect(nextAllowedText(iso, "Europe/Paris", "fr")).toBe("lundi 7 décembre 2026 à 08:00 (Europe/Paris)");
    expect(nextAllowedText(iso, "Europe/Paris", "de")).toContain("Montag, 7. Dezember 2026");
    expect(nextAllowedText(iso, "America/New_York", "en")).toContain("02:00 (America/New_York)");
  });
  it("keeps an unreadable answer as it came", () => {
    expect(nextAllowedText("soon", "UTC", "en")).toBe("soon");
  });
});
