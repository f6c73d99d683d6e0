/**
 * Screen sharing consent as the technician's panel sees it (TOOL-2). The server keeps the truth
 * on the session: `screen_state` (off, requested, view, control) and `screen_requested` (what
 * the technician asked for and the customer has not answered yet). This module turns that pair
 * and its changes into what the panel shows and offers.
 */

export type ScreenState = "off" | "requested" | "view" | "control";
export type ScreenRequest = "" | "view" | "control";

export type Consent = { state: ScreenState; requested: ScreenRequest };

export const NO_CONSENT: Consent = { state: "off", requested: "" };

/** What the panel is doing. */
export type Phase =
  | "idle" // nothing shared, nothing asked
  | "waiting" // asked, the customer has not answered
  | "view" // sharing, input off
  | "control"; // sharing with mouse and keyboard

export function phaseOf(consent: Consent): Phase {
  switch (consent.state) {
    case "off":
      return consent.requested ? "waiting" : "idle";
    case "requested":
      return "waiting";
    case "view":
      return "view";
    case "control":
      return "control";
  }
}

/** The screen is shared: a tunnel may be asked for. */
export function isShared(consent: Consent): boolean {
  return consent.state === "view" || consent.state === "control";
}

export type ScreenRights = { view: boolean; control: boolean };

export function rightsOf(permissions: readonly string[]): ScreenRights {
  const view = permissions.includes("view_screen");
  return { view, control: view && permissions.includes("full_control") };
}

export type Offer = {
  requestView: boolean;
  requestControl: boolean;
  /** Request control is shown but greyed: the role lacks full control. */
  controlForbidden: boolean;
  releaseControl: boolean;
  /** Stop sharing, or withdraw an unanswered request. */
  stop: boolean;
};

export function offerFor(consent: Consent, rights: ScreenRights): Offer {
  const phase = phaseOf(consent);
  const askingControl = consent.requested === "control";
  return {
    requestView: phase === "idle" && rights.view,
    requestControl: (phase === "idle" || (phase === "view" && !askingControl)) && rights.view,
    controlForbidden: !rights.control,
    releaseControl: phase === "control",
    stop: phase !== "idle",
  };
}

/** A change worth telling the technician about. */
export type ConsentChange =
  | "granted_view"
  | "granted_control"
  | "denied_view"
  | "denied_control"
  | "stopped"
  | "control_revoked"
  | "control_released";

/** What the technician himself just did, so that its effect is not blamed on the customer. */
export type OwnAction = "release" | "stop" | null;

/** What happened between two consents. */
export function changeBetween(
  before: Consent,
  after: Consent,
  own: OwnAction = null,
): ConsentChange | null {
  if (own === "stop" && after.state === "off") return null;
  if (after.state === "control" && before.state !== "control") return "granted_control";
  if (after.state === "view" && (before.state === "off" || before.state === "requested")) {
    return "granted_view";
  }
  if (before.state === "control" && after.state === "view") {
    return own === "release" ? "control_released" : "control_revoked";
  }
  if (isShared(before) && after.state === "off") return "stopped";
  if (before.requested && !after.requested) {
    // The request is gone without the grant it asked for: nothing shared (whatever was asked
    // for), or still view only after asking for control.
    if (after.state === "off") return "denied_view";
    if (after.state === before.state) {
      return before.requested === "control" ? "denied_control" : "denied_view";
    }
  }
  return null;
}

export function sameConsent(a: Consent, b: Consent): boolean {
  return a.state === b.state && a.requested === b.requested;
}

/** A SessionOut's screen fields as a consent. */
export function consentOf(session: { screen_state: ScreenState; screen_requested: ScreenRequest }): Consent {
  return { state: session.screen_state, requested: session.screen_requested };
}
