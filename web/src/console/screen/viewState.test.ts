import { describe, expect, it } from "vitest";
import { NEW_VIEW, reduceView, type ViewEvent, type ViewState } from "./viewState";

const run = (...events: ViewEvent[]): ViewState => events.reduce(reduceView, NEW_VIEW);

describe("the screen view's link", () => {
  it("connects: the status says so, no failure", () => {
    expect(run({ type: "connecting" }, { type: "connected" })).toEqual({ status: "connected", failure: null, round: 0 });
  });

  it("keeps the device's reason on show while it retries, until a connection is made", () => {
    const refused = run({ type: "refused", reason: "no screen" }, { type: "lost" }, { type: "retry" }, { type: "connecting" });
    expect(refused).toEqual({ status: "connecting", failure: "no screen", round: 1 });
    expect(reduceView(refused, { type: "connected" }).failure).toBeNull();
  });

  it("a failure stops it until the technician reconnects", () => {
    const failed = run({ type: "failed", failure: "refused" });
    expect(failed).toMatchObject({ status: "failed", failure: "refused", round: 0 });
    expect(reduceView(failed, { type: "reconnect" })).toMatchObject({ failure: null, round: 1 });
  });
});
