/** The staged sign-in as pure rules: which form comes next, and what a form may submit. */

import type { SignInStage } from "../api/client";
import type { MessageKey } from "../i18n";

export type SignInStep =
  | { kind: "credentials" }
  /** `currentPassword`: the one-time password just typed; null after a reload (then asked again). */
  | { kind: "password_change"; currentPassword: string | null }
  | { kind: "mfa" }
  | { kind: "mfa_enrolment" }
  | { kind: "complete" };

/** The form to show for the server's stage. */
export function stepFor(stage: SignInStage, typedPassword: string | null): SignInStep {
  switch (stage) {
    case "signed_out":
      return { kind: "credentials" };
    case "password_change":
      return { kind: "password_change", currentPassword: typedPassword };
    case "mfa":
      return { kind: "mfa" };
    case "mfa_enrolment":
      return { kind: "mfa_enrolment" };
    case "complete":
      return { kind: "complete" };
  }
}

/** What is wrong with a new password before the server sees it, or null. */
export function checkNewPassword(
  current: string,
  next: string,
  confirmation: string,
): MessageKey | null {
  if (!next) return "password.new_required";
  if (next !== confirmation) return "password.mismatch";
  if (next === current) return "password.unchanged";
  return null;
}

/** A code as people type it ("123 456") as the server wants it ("123456"). */
export function normaliseCode(code: string): string {
  return code.replace(/[\s-]+/g, "");
}
