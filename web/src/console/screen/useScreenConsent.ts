/**
 * The session's screen consent, kept current from the SessionOut the session view passes in
 * (its console store follows the console WebSocket, whose `session.screen` messages carry every
 * request, answer, revocation and stop at once), the answers to the technician's own requests,
 * and a look at the session on mount and whenever the viewer's tunnel drops. Every change goes
 * through one place that names what happened.
 */

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, call, type SupportSession } from "../../api/client";
import {
  changeBetween,
  consentOf,
  sameConsent,
  type Consent,
  type ConsentChange,
  type OwnAction,
  type ScreenRequest,
  type ScreenState,
} from "./consent";
type ScreenFields = { screen_state: ScreenState; screen_requested: ScreenRequest };

export type ScreenConsent = {
  consent: Consent;
  /** Take a consent the server just answered with (a POST's SessionOut). */
  apply: (next: Consent) => void;
  /** Say what the technician is about to do, so its effect is not blamed on the customer. */
  expect: (action: OwnAction) => void;
  /** Ask the server now (after a dropped tunnel, for instance). */
  refresh: () => Promise<void>;
};

export function useScreenConsent(
  sessionId: number,
  session: ScreenFields,
  onChange: (change: ConsentChange) => void,
  /** The whole session as the server just gave it (to keep the caller's copy current). */
  onSession?: (session: SupportSession) => void,
): ScreenConsent {
  const [consent, setConsent] = useState<Consent>(() => consentOf(session));
  const current = useRef(consent);
  const own = useRef<{ action: OwnAction; until: number }>({ action: null, until: 0 });
  const changed = useRef(onChange);
  changed.current = onChange;
  const fresh = useRef(onSession);
  fresh.current = onSession;

  const apply = useCallback((next: Consent) => {
    const before = current.current;
    if (sameConsent(before, next)) return;
    const mine = own.current.until > Date.now() ? own.current.action : null;
    own.current = { action: null, until: 0 };
    current.current = next;
    setConsent(next);
    const change = changeBetween(before, next, mine);
    if (change) changed.current(change);
  }, []);

  const expect = useCallback((action: OwnAction) => {
    own.current = { action, until: Date.now() + 5000 };
  }, []);

  const refresh = useCallback(async () => {
    try {
      const detail = await call(
        api.GET("/api/v1/sessions/{session_id}", { params: { path: { session_id: sessionId } } }),
      );
      apply(consentOf(detail.session));
      fresh.current?.(detail.session);
    } catch {
      // A failed poll changes nothing; the next one tries again.
    }
  }, [sessionId, apply]);

  // The session view's copy.
  const { screen_state: shownState, screen_requested: shownRequest } = session;
  useEffect(() => {
    apply(consentOf({ screen_state: shownState, screen_requested: shownRequest }));
  }, [shownState, shownRequest, apply]);

  // Once on mount: the copy passed in may be old.
  useEffect(() => {
    void refresh();
  }, [refresh]);

  return { consent, apply, expect, refresh };
}
