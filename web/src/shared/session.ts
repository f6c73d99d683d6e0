/** Who is signed in, shared by every page. */

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Me, SignInState } from "../api/client";

export type Session = {
  auth: SignInState;
  /** Signed in completely: the user; during a staged sign-in or signed out: null. */
  me: Me | null;
  setAuth: (state: SignInState) => void;
  setMe: (me: Me) => void;
  signOut: () => Promise<void>;
};

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionContext");
  return session;
}

/** For pages only reachable signed in (the app guards them). */
export function useMe(): Me {
  const { me } = useSession();
  if (!me) throw new Error("useMe while not signed in");
  return me;
}
