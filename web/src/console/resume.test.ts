import { describe, expect, it } from "vitest";
import { consoleSocketPath } from "./resume";

describe("consoleSocketPath", () => {
  it("is the plain path before any event was heard", () => {
    expect(consoleSocketPath(null)).toBe("/api/v1/console/ws");
  });

  it("names the last event heard on reconnection", () => {
    expect(consoleSocketPath("1764777600000-3")).toBe("/api/v1/console/ws?after=1764777600000-3");
  });
});
