/**
 * The session's screen consent, kept current from three sources: the SessionOut the session view
 * passes in, the console WebSocket's `session.screen` messages, and a poll of the session twice
 * a second while anything is asked or shared (so a customer's revocation shows within a second
 * even when a push is missed). Every change goes through one place that names what happened.
 */

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, call } from "../../api/client";
import {
  changeBetween,
  consentFromMessage,
  consentOf,
  phaseOf,
  sameConsent,
  type Consent,
  type ConsentChange,
  type OwnAction,
  type ScreenRequest,
  type ScreenState,
} from "./consent";
import { subscribeConsole } from "./consoleFeed";

export const POLL_MS = 500;

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
): ScreenConsent {
  const [consent, setConsent] = useState<Consent>(() => consentOf(session));
  const current = useRef(consent);
  const own = useRef<{ action: OwnAction; until: number }>({ action: null, until: 0 });
  const changed = useRef(onChange);
  changed.current = onChange;

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
    } catch {
      // A failed poll changes nothing; the next one tries again.
    }
  }, [sessionId, apply]);

  // The session view's copy.
  useEffect(() => {
    apply(consentOf(session));
  }, [session.screen_state, session.screen_requested, apply]);

  // Pushed changes.
  useEffect(
    () =>
      subscribeConsole((message) => {
        const next = consentFromMessage(message, sessionId);
        if (next) apply(next);
      }),
    [sessionId, apply],
  );

  // Once on mount (the copy passed in may be old), then while anything is asked or shared.
  useEffect(() => {
    void refresh();
  }, [refresh]);
  const active = phaseOf(consent) !== "idle";
  useEffect(() => {
    if (!active) return undefined;
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void refresh().finally(() => {
        busy = false;
      });
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [active, refresh]);

  return { consent, apply, expect, refresh };
}
