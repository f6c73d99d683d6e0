/** The pure parts of the shell tabs: their list, their states, the copy/paste keys. */

/** A shell's connection: the tunnel is being opened, it is live, the shell ended with a code,
 * the connection dropped, or the server refused to open it. */
export type ShellState = "connecting" | "open" | "lost" | "failed" | { exited: number };

export type ShellTab = { id: number; number: number; state: ShellState };
export type ShellTabs = { tabs: ShellTab[]; front: number | null; next: number };

export const NO_SHELLS: ShellTabs = { tabs: [], front: null, next: 1 };

export type ShellAction =
  | { type: "open" }
  | { type: "close"; id: number }
  | { type: "focus"; id: number }
  | { type: "state"; id: number; state: ShellState };

/** Tabs are numbered Shell 1, Shell 2, …; closing the front tab brings its neighbour forward. */
export function reduceShells(shells: ShellTabs, action: ShellAction): ShellTabs {
  switch (action.type) {
    case "open": {
      const id = shells.next;
      const used = new Set(shells.tabs.map((tab) => tab.number));
      let number = 1;
      while (used.has(number)) number += 1;
      return { tabs: [...shells.tabs, { id, number, state: "connecting" }], front: id, next: id + 1 };
    }
    case "close": {
      const index = shells.tabs.findIndex((tab) => tab.id === action.id);
      if (index < 0) return shells;
      const tabs = shells.tabs.filter((tab) => tab.id !== action.id);
      let front = shells.front;
      if (front === action.id) front = tabs.length ? tabs[Math.min(index, tabs.length - 1)].id : null;
      return { ...shells, tabs, front };
    }
    case "focus":
      return shells.tabs.some((tab) => tab.id === action.id) ? { ...shells, front: action.id } : shells;
    case "state":
      return {
        ...shells,
        tabs: shells.tabs.map((tab) => (tab.id === action.id ? { ...tab, state: action.state } : tab)),
      };
  }
}

/** The state as a word for data attributes and styles. */
export function stateName(state: ShellState): "connecting" | "open" | "lost" | "failed" | "exited" {
  return typeof state === "object" ? "exited" : state;
}

type KeyLike = { ctrlKey: boolean; shiftKey: boolean; altKey: boolean; metaKey: boolean; code: string };

/** Ctrl+Shift+C (or ⌘C on a Mac): copy the selection. Plain Ctrl+C stays the interrupt. */
export function isCopyKey(event: KeyLike): boolean {
  if (event.altKey) return false;
  if (event.metaKey && !event.ctrlKey) return event.code === "KeyC";
  return event.ctrlKey && event.shiftKey && event.code === "KeyC";
}

/** Ctrl+Shift+V (or ⌘V): paste. The browser's paste event carries the text. */
export function isPasteKey(event: KeyLike): boolean {
  if (event.altKey) return false;
  if (event.metaKey && !event.ctrlKey) return event.code === "KeyV";
  return event.ctrlKey && event.shiftKey && event.code === "KeyV";
}

/** xterm.js hands some input (old mouse reports) as a "binary string": one char per byte. */
export function binaryStringBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}
