import { describe, expect, it } from "vitest";
import { backoffDelay, BACKOFF_MAX_MS, parseFrame, socketUrl } from "./socket";
import { fileSafe, formatBytes, formatDuration, secondsBetween, textDirection } from "./text";

describe("backoffDelay", () => {
  it("grows exponentially up to a ceiling, with full jitter", () => {
    const top = () => 1;
    expect(backoffDelay(0, top)).toBe(500);
    expect(backoffDelay(1, top)).toBe(1000);
    expect(backoffDelay(3, top)).toBe(4000);
    expect(backoffDelay(10, top)).toBe(BACKOFF_MAX_MS);
    expect(backoffDelay(1000, top)).toBe(BACKOFF_MAX_MS);
  });

  it("never retries at once", () => {
    expect(backoffDelay(0, () => 0)).toBe(50);
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const delay = backoffDelay(attempt);
      expect(delay).toBeGreaterThanOrEqual(50);
      expect(delay).toBeLessThanOrEqual(BACKOFF_MAX_MS);
    }
  });
});

describe("socketUrl", () => {
  it("follows the page's scheme", () => {
    expect(socketUrl("/api/v1/console/ws", { protocol: "http:", host: "localhost:8765" })).toBe("ws://localhost:8765/api/v1/console/ws");
    expect(socketUrl("/x", { protocol: "https:", host: "help.example" })).toBe("wss://help.example/x");
  });
});

describe("parseFrame", () => {
  it("accepts JSON objects with a type only", () => {
    expect(parseFrame('{"type": "queue", "queue": {}}')).toEqual({ type: "queue", queue: {} });
    expect(parseFrame("[1]")).toBeNull();
    expect(parseFrame('{"kind": 1}')).toBeNull();
    expect(parseFrame("not json")).toBeNull();
    expect(parseFrame(new ArrayBuffer(2))).toBeNull();
  });
});

describe("textDirection", () => {
  it("goes by the first strong letter", () => {
    expect(textDirection("مرحبا hello")).toBe("rtl");
    expect(textDirection("שלום")).toBe("rtl");
    expect(textDirection("hello مرحبا")).toBe("ltr");
    expect(textDirection("你好 مرحبا 👋")).toBe("ltr");
    expect(textDirection("👋 123 مرحبا")).toBe("rtl");
    expect(textDirection("👋 123")).toBe("ltr");
  });
});

describe("formatting", () => {
  it("writes sizes in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(8 * 1024 ** 3)).toBe("8.0 GiB");
    expect(formatBytes(250 * 1024 ** 3)).toBe("250 GiB");
    expect(formatBytes(1536, "de")).toBe("1,5 KiB");
    expect(formatBytes(null)).toBe("—");
  });

  it("writes durations", () => {
    expect(formatDuration(9)).toBe("9 s");
    expect(formatDuration(252)).toBe("4 min 12 s");
    expect(formatDuration(3900)).toBe("1 h 05 min");
    expect(formatDuration(2 * 86_400 + 3 * 3600)).toBe("2 d 3 h");
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(-1)).toBe("—");
  });

  it("measures whole seconds between two instants", () => {
    expect(secondsBetween("2025-01-01T00:00:00Z", "2025-01-01T00:00:04.9Z")).toBe(4);
    expect(secondsBetween("2025-01-01T00:00:00Z", null)).toBeNull();
    expect(secondsBetween("nope", "2025-01-01T00:00:00Z")).toBeNull();
  });

  it("makes safe file names", () => {
    expect(fileSafe("laptop 7/ü:x")).toBe("laptop-7-u-x");
    expect(fileSafe("///")).toBe("file");
  });
});
