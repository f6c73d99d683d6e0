import { describe, expect, it } from "vitest";
import { translator } from "../i18n";
import { auditActionLabel, auditDetailLines, partyLabel } from "./auditLabels";

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
    expect(lines).toEqual(["Modus: nur ansehen", "Grund: busy", "new thing: 3"]);
  });
});

describe("report timeline details in words", () => {
  it("names the customer by name, or says 'customer' in the reader's language", () => {
    expect(partyLabel("customer", translator("de"), "Jana Weber")).toBe("Jana Weber");
    expect(partyLabel("customer", translator("de"))).toBe("Kunde");
    expect(partyLabel("customer", translator("fr"))).toBe("client");
    expect(partyLabel("ada@example.com", translator("de"))).toBe("ada@example.com");
  });

  it("says sender, mode and reason as words", () => {
    const de = translator("de");
    expect(auditDetailLines({ sender: "customer" }, de)).toEqual(["Absender: Kunde"]);
    expect(auditDetailLines({ sender: "technician" }, translator("fr"))).toEqual(["expéditeur: technicien"]);
    expect(auditDetailLines({ mode: "view" }, de)).toEqual(["Modus: nur ansehen"]);
    expect(auditDetailLines({ mode: "control" }, translator("fr"))).toEqual(["mode: contrôle"]);
    expect(auditDetailLines({ reason: "The customer ended the support session." }, de)).toEqual([
      "Grund: Der Kunde hat die Support-Sitzung beendet.",
    ]);
    expect(auditDetailLines({ reason: "Tom Tech ended the support session." }, translator("fr"))).toEqual([
      "motif: Tom Tech a mis fin à la session d'assistance.",
    ]);
    expect(auditDetailLines({ reason: "something else" }, de)).toEqual(["Grund: something else"]);
  });
});
