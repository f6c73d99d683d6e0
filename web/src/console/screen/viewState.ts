/** The screen view's link as one reducer: its status, the failure on show and the reconnection
 * round (a new round makes ScreenViewer open a new tunnel). A failure stays on show while the
 * view retries (the device's reason, say, that it has no screen to share) and goes once a
 * connection is made or the technician asks to reconnect. */

export type Status = "connecting" | "connected" | "lost" | "failed";

export interface ViewState {
  status: Status;
  failure: string | null;
  round: number;
}

export type ViewEvent =
  | { type: "connecting" }
  | { type: "connected" }
  | { type: "lost" }
  | { type: "failed"; failure: string }
  /** The device refused (its reason); the disconnect that follows says "lost". */
  | { type: "refused"; reason: string }
  /** Time to try again with a new tunnel. */
  | { type: "retry" }
  /** The technician's "Reconnect": at once, the failure cleared. */
  | { type: "reconnect" };

export const NEW_VIEW: ViewState = { status: "connecting", failure: null, round: 0 };

export function reduceView(state: ViewState, event: ViewEvent): ViewState {
  switch (event.type) {
    case "connecting":
      return { ...state, status: "connecting" };
    case "connected":
      return { ...state, status: "connected", failure: null };
    case "lost":
      return { ...state, status: "lost" };
    case "failed":
      return { ...state, status: "failed", failure: event.failure };
    case "refused":
      return { ...state, failure: event.reason };
    case "retry":
      return { ...state, round: state.round + 1 };
    case "reconnect":
      return { ...state, failure: null, round: state.round + 1 };
  }
}
