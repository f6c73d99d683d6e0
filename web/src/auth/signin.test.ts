import { describe, expect, it } from "vitest";
import { checkNewPassword, normaliseCode, stepFor } from "./signin";

describe("stepFor", () => {
  it("asks for credentials when signed out", () => {
    expect(stepFor("signed_out", null)).toEqual({ kind: "credentials" });
  });

  it("reuses the one-time password just typed for the password change", () => {
    expect(stepFor("password_change", "one-time")).toEqual({ kind: "password_change", currentPassword: "one-time" });
  });

  it("asks for the current password again after a reload", () => {
    expect(stepFor("password_change", null)).toEqual({ kind: "password_change", currentPassword: null });
  });

  it("follows the server to the second factor, the enrolment and the end", () => {
    expect(stepFor("mfa", "x").kind).toBe("mfa");
    expect(stepFor("mfa_enrolment", "x").kind).toBe("mfa_enrolment");
    expect(stepFor("complete", "x").kind).toBe("complete");
  });
});

describe("checkNewPassword", () => {
  it("accepts a new password typed twice", () => {
    expect(checkNewPassword("old one", "a new long password", "a new long password")).toBeNull();
  });

  it("wants a new password", () => {
    expect(checkNewPassword("old", "", "")).toBe("password.new_required");
  });

  it("wants both copies to match", () => {
    expect(checkNewPassword("old", "new password one", "new password two")).toBe("password.mismatch");
  });

  it("refuses the current password as the new one", () => {
    expect(checkNewPassword("same password", "same password", "same password")).toBe("password.unchanged");
  });
});

describe("normaliseCode", () => {
  it("drops the spaces and dashes people type", () => {
    expect(normaliseCode(" 123 456 ")).toBe("123456");
    expect(normaliseCode("123-456")).toBe("123456");
  });
});
