/**
 * One shell tab's link to its shell on the device, as a pure state machine: ShellTerminal hands
 * it what happens (a tunnel asked for, the socket at the relay, the device's first frame, a key
 * typed, the socket gone) and does what it answers (frames to send, lines for the terminal).
 *
 * The console's socket reaching the relay is not the shell: the agent's end of the tunnel joins
 * later, or never (the agent was away when the tunnel was asked for, its own server node having
 * died: the relay closes the tunnel unjoined and the tab asks for another). So the shell is open
 * only once the device has spoken on this tunnel (its first frame: a login shell's prompt, or an
 * exit). What the technician types before that is held here, in order, and sent when the shell
 * answers, to the new shell if the tunnel was lost meanwhile; the terminal says so once per wait.
 * Nothing typed goes silently: past HOLD_LIMIT bytes more typing is refused, and held typing is
 * dropped when the tab gives up (refused, or the shell ends before it is sent), both said in the
 * terminal.
 */

import type { ShellState } from "./shells";

/** Typing held while the shell is away (a paste of this much is already unusual). */
export const HOLD_LIMIT = 64 * 1024;

/** asking: a tunnel is asked for; relayed: the console's socket is at the relay, the device's
 * end not heard from yet; open: the device answered on this tunnel. */
export type Phase = "asking" | "relayed" | "open" | "exited" | "lost" | "failed";

export interface ShellLink {
  phase: Phase;
  /** Tunnels lost since the shell last answered: 0 for the first tunnel; sets the retry delay. */
  attempt: number;
  code: number | null;
  held: Uint8Array[];
  heldBytes: number;
  /** The terminal said, during this wait, that typing is held (or refused). */
  toldHeld: boolean;
  toldRefused: boolean;
}

export type LinkEvent =
  | { type: "asking" }
  | { type: "relayed" }
  /** A frame came from the device on this tunnel (data or exit: see `exited`). */
  | { type: "answered" }
  /** The technician typed (or pasted); `socketOpen`: the socket can take a frame now. */
  | { type: "typed"; frame: Uint8Array; socketOpen: boolean }
  | { type: "exited"; code: number }
  /** The tunnel's socket closed (the shell had not exited): a new tunnel is asked for. */
  | { type: "dropped" }
  /** Asking for a tunnel failed: `final` when it is not worth asking again (a refusal). */
  | { type: "refused"; final: boolean };

/** Lines for the terminal, in the console's language (ShellTerminal words them). */
export type Notice = "reconnecting" | "typing_held" | "typing_refused" | "typing_dropped";

export interface Step {
  link: ShellLink;
  send: Uint8Array[];
  say: Notice[];
  /** A new tunnel is to be asked for, after reconnectDelay(link.attempt - 1). */
  retry: boolean;
}

export const NEW_LINK: ShellLink = {
  phase: "asking",
  attempt: 0,
  code: null,
  held: [],
  heldBytes: 0,
  toldHeld: false,
  toldRefused: false,
};

const ENDED: ReadonlySet<Phase> = new Set(["exited", "lost", "failed"]);

function step(link: ShellLink, extra: Partial<Omit<Step, "link">> = {}): Step {
  return { link, send: [], say: [], retry: false, ...extra };
}

/** Held typing given up: said once, if there was any. */
function dropHeld(link: ShellLink): { link: ShellLink; say: Notice[] } {
  const say: Notice[] = link.heldBytes > 0 ? ["typing_dropped"] : [];
  return { link: { ...link, held: [], heldBytes: 0 }, say };
}

export function stepLink(link: ShellLink, event: LinkEvent): Step {
  if (ENDED.has(link.phase)) return step(link); // nothing more happens to an ended link
  switch (event.type) {
    case "asking":
      return step({ ...link, phase: "asking" });
    case "relayed":
      return step({ ...link, phase: "relayed" });
    case "answered": {
      if (link.phase === "open") return step(link);
      return step({ ...NEW_LINK, phase: "open" }, { send: link.held });
    }
    case "typed": {
      if (link.phase === "open" && event.socketOpen) return step(link, { send: [event.frame] });
      if (link.heldBytes + event.frame.length > HOLD_LIMIT) {
        if (link.toldRefused) return step(link);
        return step({ ...link, toldRefused: true }, { say: ["typing_refused"] });
      }
      const holding = { ...link, held: [...link.held, event.frame], heldBytes: link.heldBytes + event.frame.length };
      // The first tunnel's wait is short and normal; a reopening one's is said.
      if (link.attempt === 0 || link.toldHeld) return step(holding);
      return step({ ...holding, toldHeld: true }, { say: ["typing_held"] });
    }
    case "exited": {
      const { link: ended, say } = dropHeld({ ...link, phase: "exited", code: event.code });
      return step(ended, { say });
    }
    case "dropped": {
      const waiting = { ...link, phase: "asking" as const, attempt: link.attempt + 1 };
      if (link.attempt > 0) return step(waiting, { retry: true }); // the same wait, going on
      // The shell was lost: said once. Typing held already (the socket was closing) is said too.
      const say: Notice[] = link.heldBytes > 0 ? ["reconnecting", "typing_held"] : ["reconnecting"];
      return step({ ...waiting, toldHeld: link.heldBytes > 0 }, { say, retry: true });
    }
    case "refused": {
      if (link.attempt > 0 && !event.final) {
        return step({ ...link, phase: "asking", attempt: link.attempt + 1 }, { retry: true });
      }
      const { link: ended, say } = dropHeld({ ...link, phase: link.attempt > 0 ? "lost" : "failed" });
      return step(ended, { say });
    }
  }
}

/** The tab's state as the shell panel shows it. */
export function tabState(link: ShellLink): ShellState {
  switch (link.phase) {
    case "asking":
    case "relayed":
      return "connecting";
    case "exited":
      return { exited: link.code ?? 0 };
    default:
      return link.phase;
  }
}
