/**
 * X11 keysyms for the on-screen keyboard, the special-key buttons and typed text. RFB sends
 * keysyms; the agent maps them to the device's keyboard layout.
 */

export const XK = {
  BackSpace: 0xff08,
  Tab: 0xff09,
  Return: 0xff0d,
  Pause: 0xff13,
  Scroll_Lock: 0xff14,
  Sys_Req: 0xff15,
  Escape: 0xff1b,
  Delete: 0xffff,
  Home: 0xff50,
  Left: 0xff51,
  Up: 0xff52,
  Right: 0xff53,
  Down: 0xff54,
  Page_Up: 0xff55,
  Page_Down: 0xff56,
  End: 0xff57,
  Print: 0xff61,
  Insert: 0xff63,
  Menu: 0xff67,
  Num_Lock: 0xff7f,
  F1: 0xffbe,
  Shift_L: 0xffe1,
  Shift_R: 0xffe2,
  Control_L: 0xffe3,
  Control_R: 0xffe4,
  Caps_Lock: 0xffe5,
  Alt_L: 0xffe9,
  Alt_R: 0xffea,
  Super_L: 0xffeb,
  ISO_Level3_Shift: 0xfe03,
  space: 0x20,
} as const;

/** F1..F12 (F1 = 0xffbe, consecutive). */
export function functionKey(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 35) throw new RangeError(`no F${n}`);
  return XK.F1 + n - 1;
}

/**
 * The keysym of a character: Latin-1 characters are their own keysym, any other Unicode
 * character is 0x01000000 + its code point (X11's Unicode keysyms); control characters that
 * have a key (newline, tab, backspace) map to that key.
 */
export function keysymOf(char: string): number | null {
  const code = char.codePointAt(0);
  if (code === undefined) return null;
  if (char === "\n" || char === "\r") return XK.Return;
  if (char === "\t") return XK.Tab;
  if (char === "\b") return XK.BackSpace;
  if (code < 0x20 || code === 0x7f) return null;
  if (code < 0x100) return code;
  return 0x01000000 + code;
}

/** Keysyms for a whole text, character by character (unmappable characters are skipped). */
export function keysymsOfText(text: string): number[] {
  const out: number[] = [];
  for (const char of text) {
    const keysym = keysymOf(char);
    if (keysym !== null) out.push(keysym);
  }
  return out;
}

export type Modifier = "shift" | "ctrl" | "alt" | "altgr" | "super";

export const MODIFIER_KEYSYMS: Record<Modifier, number> = {
  shift: XK.Shift_L,
  ctrl: XK.Control_L,
  alt: XK.Alt_L,
  altgr: XK.ISO_Level3_Shift,
  super: XK.Super_L,
};

/** One key of the on-screen keyboard. */
export type Key =
  | { kind: "char"; base: string; shifted: string; width?: number }
  | { kind: "special"; label: string; keysym: number; width?: number }
  | { kind: "modifier"; label: string; modifier: Modifier; width?: number };

const chars = (base: string, shifted: string): Key[] =>
  [...base].map((c, i) => ({ kind: "char", base: c, shifted: shifted[i] ?? c }) as Key);

const special = (label: string, keysym: number, width?: number): Key => ({
  kind: "special",
  label,
  keysym,
  width,
});

const modifier = (label: string, mod: Modifier, width?: number): Key => ({
  kind: "modifier",
  label,
  modifier: mod,
  width,
});

/** The labels that differ between languages (Entf, Pos1, Bild↑ in German; Suppr, Début in
 * French); F1, Alt, AltGr, Tab… are the same in all. */
export type KeyLabels = {
  shift: string;
  ctrl: string;
  super: string;
  enter: string;
  caps: string;
  space: string;
  esc: string;
  print: string;
  insert: string;
  delete: string;
  home: string;
  end: string;
  pageUp: string;
  pageDown: string;
};

/** A US-style layout: the agent types keysyms, so the letters on the device follow its layout. */
export function keyboardRows(labels: KeyLabels): Key[][] {
  const fkeys = Array.from({ length: 12 }, (_, i) => special(`F${i + 1}`, functionKey(i + 1)));
  return [
    [
      special(labels.esc, XK.Escape),
      ...fkeys,
      special(labels.print, XK.Print),
      special(labels.insert, XK.Insert),
      special(labels.delete, XK.Delete),
    ],
    [...chars("`1234567890-=", "~!@#$%^&*()_+"), special("⌫", XK.BackSpace, 2)],
    [special("Tab ↹", XK.Tab, 1.5), ...chars("qwertyuiop[]\\", "QWERTYUIOP{}|")],
    [special(labels.caps, XK.Caps_Lock, 1.75), ...chars("asdfghjkl;'", 'ASDFGHJKL:"'), special(labels.enter, XK.Return, 2)],
    [modifier(labels.shift, "shift", 2.25), ...chars("zxcvbnm,./", "ZXCVBNM<>?"), special("↑", XK.Up)],
    [
      modifier(labels.ctrl, "ctrl", 1.5),
      modifier(labels.super, "super", 1.5),
      modifier("Alt", "alt", 1.5),
      special(labels.space, XK.space, 5),
      modifier("AltGr", "altgr", 1.5),
      special(labels.home, XK.Home),
      special(labels.end, XK.End),
      special(labels.pageUp, XK.Page_Up),
      special(labels.pageDown, XK.Page_Down),
      special("←", XK.Left),
      special("↓", XK.Down),
      special("→", XK.Right),
    ],
  ];
}

/** A key event to send: keysym and whether it goes down or up. */
export type KeyStroke = { keysym: number; down: boolean };

/**
 * What pressing a key sends, given the latched modifiers: modifiers down, the key down and up,
 * modifiers up in reverse order. A character key sends its shifted character when Shift is
 * latched (X servers expect the keysym that the modifiers produce).
 */
export function strokesFor(key: Key, latched: readonly Modifier[]): KeyStroke[] {
  if (key.kind === "modifier") return [];
  const keysym =
    key.kind === "char"
      ? keysymOf(latched.includes("shift") ? key.shifted : key.base)
      : key.keysym;
  if (keysym === null) return [];
  const mods = latched.map((m) => MODIFIER_KEYSYMS[m]);
  return [
    ...mods.map((k) => ({ keysym: k, down: true })),
    { keysym, down: true },
    { keysym, down: false },
    ...[...mods].reverse().map((k) => ({ keysym: k, down: false })),
  ];
}

export const COMBO_NAMES = [
  "super",
  "alt_tab",
  "alt_f4",
  "ctrl_esc",
  "ctrl_shift_esc",
  "print",
  "super_l",
] as const;
export type ComboName = (typeof COMBO_NAMES)[number];

/** Named combinations for the special-keys menu. */
export const COMBOS: Record<ComboName, number[]> = {
  super: [XK.Super_L],
  alt_tab: [XK.Alt_L, XK.Tab],
  alt_f4: [XK.Alt_L, functionKey(4)],
  ctrl_esc: [XK.Control_L, XK.Escape],
  ctrl_shift_esc: [XK.Control_L, XK.Shift_L, XK.Escape],
  print: [XK.Print],
  super_l: [XK.Super_L, "l".charCodeAt(0)],
};

/** Press all keys of a combination in order, release them in reverse. */
export function comboStrokes(keys: readonly number[]): KeyStroke[] {
  return [
    ...keys.map((keysym) => ({ keysym, down: true })),
    ...[...keys].reverse().map((keysym) => ({ keysym, down: false })),
  ];
}
