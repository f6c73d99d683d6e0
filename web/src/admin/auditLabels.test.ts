import { describe, expect, it } from "vitest";
import { translator } from "../i18n";
import { auditActionLabel, auditDetailLines } from "./auditLabels";

describe("audit actions as sentences", () => {
  it("says each action in the reader's language", () => {
    expect(auditActionLabel("session.accepted", translator("en"))).toBe("Session accepted");
    expect(auditActionLabel("session.accepted", translator("fr"))).toBe("Session acceptée");
    expect(auditActionLabel("session.accepted", translator("de"))).toBe("Sitzung angenommen");
    expect(auditActionLabel("screen.granted", translator("de"))).toBe("Bildschirmfreigabe erlaubt");
    expect(auditActionLabel("auth.signed_in", translator("fr"))).toBe("Connexion");
  });

  it("shows an action it does not know as its code", () => {
    expect(auditActionLabel("device.enrolled_by_newer_server", translator("de"))).toBe(
      "device.enrolled_by_newer_server",
    );
  });

  it("writes details as words, not JSON", () => {
    const lines = auditDetailLines({ mode: "view", reason: "busy", new_thing: 3 }, translator("de"));
    expect(lines).toEqual(["Modus: view", "Grund: busy", "new thing: 3"]);
  });
});
