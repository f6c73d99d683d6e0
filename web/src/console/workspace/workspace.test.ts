import { describe, expect, it } from "vitest";
import { shortcutOf } from "./shortcuts";

const key = (code: string, mods: Partial<{ altKey: boolean; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean }> = {}) => ({
  code,
  altKey: true,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  ...mods,
});

describe("shortcutOf", () => {
  it("reads Alt+1…9 as the first to ninth session", () => {
    expect(shortcutOf(key("Digit1"))).toEqual({ kind: "session", index: 0 });
    expect(shortcutOf(key("Digit9"))).toEqual({ kind: "session", index: 8 });
    expect(shortcutOf(key("Digit0"))).toBeNull();
  });

  it("reads Alt+S/H/F/I as the tools, by the physical key", () => {
    expect(shortcutOf(key("KeyS"))).toEqual({ kind: "tool", tool: "screen" });
    expect(shortcutOf(key("KeyH"))).toEqual({ kind: "tool", tool: "shells" });
    expect(shortcutOf(key("KeyF"))).toEqual({ kind: "tool", tool: "files" });
    expect(shortcutOf(key("KeyI"))).toEqual({ kind: "tool", tool: "sysinfo" });
  });

  it("leaves every other key to the page or the device", () => {
    expect(shortcutOf(key("KeyS", { altKey: false }))).toBeNull();
    expect(shortcutOf(key("KeyS", { ctrlKey: true }))).toBeNull(); // AltGr on Windows
    expect(shortcutOf(key("KeyS", { shiftKey: true }))).toBeNull();
    expect(shortcutOf(key("KeyS", { metaKey: true }))).toBeNull();
    expect(shortcutOf(key("Tab"))).toBeNull();
    expect(shortcutOf(key("F4"))).toBeNull();
    expect(shortcutOf(key("KeyX"))).toBeNull();
  });
});
