/** The console's keyboard shortcuts (TOOL-5): Alt+1…9 brings the first to ninth session tab to
 * the front, Alt+S/H/F/I the front session's Screen, Shells, Files and System information.
 *
 * Read from the physical key (`event.code`), so a layout or a Mac's Option characters (Alt+S
 * types "ß") do not change them. They are taken in the capture phase, before the screen view,
 * so they stay with the console even while the screen view has the keyboard; no other Alt
 * combination is taken (Alt+Tab, Alt+F4, AltGr characters and the rest reach the device). */

export const TOOLS = ["screen", "shells", "files", "sysinfo"] as const;
export type Tool = (typeof TOOLS)[number];

export type Shortcut = { kind: "session"; index: number } | { kind: "tool"; tool: Tool };

const TOOL_KEYS: Record<string, Tool> = { KeyS: "screen", KeyH: "shells", KeyF: "files", KeyI: "sysinfo" };

/** The letter shown for each tool's shortcut (Alt+…). */
export const TOOL_LETTERS: Record<Tool, string> = { screen: "S", shells: "H", files: "F", sysinfo: "I" };

interface KeyLike {
  code: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
}

/** The shortcut a key press is, or null (any other key, or Alt with another modifier: AltGr is
 * Ctrl+Alt on Windows, and Alt+Shift switches layouts). */
export function shortcutOf(event: KeyLike): Shortcut | null {
  if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return null;
  const digit = /^Digit([1-9])$/.exec(event.code);
  if (digit) return { kind: "session", index: Number(digit[1]) - 1 };
  const tool = TOOL_KEYS[event.code];
  return tool ? { kind: "tool", tool } : null;
}
