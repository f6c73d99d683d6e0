/** The file manager's state as one reducer: the link to the device, its roots, the folder shown,
 * the address typed, the last failure and whether a request is under way. FilesPanel dispatches
 * what happened; the rules (a listing replaces the address and clears the failure, a failed
 * listing puts back the folder shown, a closed link's reason is the failure) live here. */

import type { Link } from "./connection";
import type { Entry, Root } from "./protocol";

export type Listing = { path: string; entries: Entry[]; truncated: boolean };

export interface BrowserState {
  link: Link;
  /** Why the file manager could not start (then the link is closed). */
  startError: unknown;
  roots: Root[];
  listing: Listing | null;
  error: unknown;
  busy: boolean;
  /** The address field: the folder shown, or what the technician types. */
  address: string;
}

export type BrowserEvent =
  | { type: "link"; link: Link; failure?: unknown }
  | { type: "started"; roots: Root[] }
  | { type: "start_failed"; failure: unknown }
  | { type: "working" }
  | { type: "listed"; listing: Listing }
  | { type: "done" }
  | { type: "failed"; failure: unknown; address?: string }
  | { type: "idle" }
  | { type: "typed"; address: string };

export const NEW_BROWSER: BrowserState = {
  link: "connecting",
  startError: null,
  roots: [],
  listing: null,
  error: null,
  busy: false,
  address: "",
};

export function reduceBrowser(state: BrowserState, event: BrowserEvent): BrowserState {
  switch (event.type) {
    case "link":
      return event.link === "closed" && event.failure
        ? { ...state, link: event.link, error: event.failure }
        : { ...state, link: event.link };
    case "started":
      return { ...state, roots: event.roots };
    case "start_failed":
      return { ...state, startError: event.failure, link: "closed" };
    case "working":
      return { ...state, busy: true };
    case "listed":
      return { ...state, listing: event.listing, address: event.listing.path, error: null, busy: false };
    case "done":
      return { ...state, error: null, busy: false };
    case "failed":
      return { ...state, error: event.failure, busy: false, address: event.address ?? state.address };
    case "idle":
      return { ...state, busy: false };
    case "typed":
      return { ...state, address: event.address };
  }
}
