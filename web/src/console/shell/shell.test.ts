import { describe, expect, it } from "vitest";
import { dataFrame, exitFrame, parseFrame, resizeFrame, ShellFrameError } from "./codec";
import { binaryStringBytes, isCopyKey, isPasteKey, NO_SHELLS, reduceShells, stateName } from "./shells";

const bytes = (...values: number[]) => new Uint8Array(values);

describe("shell frames", () => {
  it("encodes exactly what relaydesk.protocol.shell writes", () => {
    // shell.data("é") == b"\x00\xc3\xa9"; shell.resize(100, 30) == b"\x01\x00d\x00\x1e"
    expect(dataFrame("é")).toEqual(bytes(0, 0xc3, 0xa9));
    expect(dataFrame(bytes(1, 2))).toEqual(bytes(0, 1, 2));
    expect(resizeFrame(100, 30)).toEqual(bytes(1, 0, 100, 0, 30));
    expect(resizeFrame(1000, 1000)).toEqual(bytes(1, 0x03, 0xe8, 0x03, 0xe8));
    // shell.exited(-1) == b"\x02\xff\xff\xff\xff"
    expect(exitFrame(-1)).toEqual(bytes(2, 0xff, 0xff, 0xff, 0xff));
  });

  it("clamps a size into what the agent accepts", () => {
    expect(resizeFrame(0, 0)).toEqual(bytes(1, 0, 1, 0, 1));
    expect(resizeFrame(5000, 24.7)).toEqual(bytes(1, 0x03, 0xe8, 0, 24));
  });

  it("parses every kind of frame", () => {
    expect(parseFrame(bytes(0, 0x68, 0xc3, 0xa9))).toEqual({ type: "data", payload: bytes(0x68, 0xc3, 0xa9) });
    expect(parseFrame(bytes(0))).toEqual({ type: "data", payload: bytes() });
    expect(parseFrame(bytes(1, 0, 80, 0, 24).buffer)).toEqual({ type: "resize", columns: 80, rows: 24 });
    expect(parseFrame(bytes(2, 0, 0, 0, 0))).toEqual({ type: "exit", code: 0 });
    expect(parseFrame(bytes(2, 0, 0, 0, 130))).toEqual({ type: "exit", code: 130 });
    expect(parseFrame(bytes(2, 0xff, 0xff, 0xff, 0xfe))).toEqual({ type: "exit", code: -2 });
  });

  it("reads a frame that is a view into a larger buffer", () => {
    const big = bytes(9, 9, 2, 0, 0, 1, 0, 9);
    expect(parseFrame(big.subarray(2, 7))).toEqual({ type: "exit", code: 256 });
  });

  it("round-trips", () => {
    for (const [c, r] of [
      [1, 1],
      [80, 24],
      [1000, 1000],
    ]) {
      expect(parseFrame(resizeFrame(c, r))).toEqual({ type: "resize", columns: c, rows: r });
    }
    for (const code of [0, 1, 255, -15, 2 ** 31 - 1, -(2 ** 31)]) {
      expect(parseFrame(exitFrame(code))).toEqual({ type: "exit", code });
    }
  });

  it("refuses malformed frames with ShellFrameError only", () => {
    const bad = [
      bytes(),
      bytes(3),
      bytes(255, 1, 2),
      bytes(1, 0, 80, 0),
      bytes(1, 0, 80, 0, 24, 0),
      bytes(1, 0, 0, 0, 24),
      bytes(1, 0, 80, 0, 0),
      bytes(1, 0x03, 0xe9, 0, 24),
      bytes(2, 0, 0, 0),
      bytes(2, 0, 0, 0, 0, 0),
    ];
    for (const frame of bad) expect(() => parseFrame(frame)).toThrow(ShellFrameError);
  });

  it("never throws anything but ShellFrameError on random input", () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const frame = new Uint8Array(next() % 8).map(() => next() % 4 === 0 ? next() % 3 : next() % 256);
      try {
        parseFrame(frame);
      } catch (error) {
        expect(error).toBeInstanceOf(ShellFrameError);
      }
    }
  });
});

describe("shell tabs", () => {
  it("opens numbered tabs in front and closes to a neighbour", () => {
    let shells = reduceShells(NO_SHELLS, { type: "open" });
    shells = reduceShells(shells, { type: "open" });
    shells = reduceShells(shells, { type: "open" });
    expect(shells.tabs.map((tab) => tab.number)).toEqual([1, 2, 3]);
    expect(shells.front).toBe(3);
    shells = reduceShells(shells, { type: "focus", id: 2 });
    shells = reduceShells(shells, { type: "close", id: 2 });
    expect(shells.tabs.map((tab) => tab.id)).toEqual([1, 3]);
    expect(shells.front).toBe(3);
    // The free number is reused; the id never is.
    shells = reduceShells(shells, { type: "open" });
    expect(shells.tabs.map((tab) => [tab.id, tab.number])).toEqual([
      [1, 1],
      [3, 3],
      [4, 2],
    ]);
    shells = reduceShells(shells, { type: "close", id: 4 });
    expect(shells.front).toBe(3);
    shells = reduceShells(reduceShells(shells, { type: "close", id: 1 }), { type: "close", id: 3 });
    expect(shells).toMatchObject({ tabs: [], front: null });
    expect(reduceShells(shells, { type: "close", id: 9 })).toBe(shells);
  });

  it("records each tab's state", () => {
    let shells = reduceShells(NO_SHELLS, { type: "open" });
    expect(stateName(shells.tabs[0].state)).toBe("connecting");
    shells = reduceShells(shells, { type: "state", id: 1, state: { exited: 3 } });
    expect(shells.tabs[0].state).toEqual({ exited: 3 });
    expect(stateName(shells.tabs[0].state)).toBe("exited");
  });

  it("keeps Ctrl+C for the shell and copies with Ctrl+Shift+C", () => {
    const key = (code: string, mods: Partial<{ ctrlKey: boolean; shiftKey: boolean; altKey: boolean; metaKey: boolean }>) => ({
      code,
      ctrlKey: false,
      shiftKey: false,
      altKey: false,
      metaKey: false,
      ...mods,
    });
    expect(isCopyKey(key("KeyC", { ctrlKey: true }))).toBe(false);
    expect(isCopyKey(key("KeyC", { ctrlKey: true, shiftKey: true }))).toBe(true);
    expect(isCopyKey(key("KeyC", { metaKey: true }))).toBe(true);
    expect(isCopyKey(key("KeyC", { ctrlKey: true, shiftKey: true, altKey: true }))).toBe(false);
    expect(isPasteKey(key("KeyV", { ctrlKey: true }))).toBe(false);
    expect(isPasteKey(key("KeyV", { ctrlKey: true, shiftKey: true }))).toBe(true);
    expect(isPasteKey(key("KeyV", { metaKey: true }))).toBe(true);
  });

  it("turns xterm's binary strings into bytes", () => {
    expect(binaryStringBytes("\x1b[M \xff")).toEqual(new Uint8Array([0x1b, 0x5b, 0x4d, 0x20, 0xff]));
  });
});
