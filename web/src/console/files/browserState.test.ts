import { describe, expect, it } from "vitest";
import { NEW_BROWSER, reduceBrowser, type BrowserEvent, type BrowserState } from "./browserState";

const run = (...events: BrowserEvent[]): BrowserState => events.reduce(reduceBrowser, NEW_BROWSER);
const listing = { path: "/home/ann", entries: [], truncated: false };

describe("the file manager's state", () => {
  it("starts connecting, then shows the device's roots", () => {
    expect(NEW_BROWSER.link).toBe("connecting");
    const roots = [{ path: "/", name: "/", total: null, free: null }];
    const state = run({ type: "link", link: "open" }, { type: "started", roots });
    expect(state.link).toBe("open");
    expect(state.roots).toEqual(roots);
  });

  it("a listing replaces the address, clears the failure and ends the wait", () => {
    const state = run(
      { type: "failed", failure: "no" },
      { type: "typed", address: "/ho" },
      { type: "working" },
      { type: "listed", listing },
    );
    expect(state).toMatchObject({ listing, address: "/home/ann", error: null, busy: false });
  });

  it("a failed listing keeps the folder shown and puts its address back", () => {
    const state = run(
      { type: "listed", listing },
      { type: "typed", address: "/nowhere" },
      { type: "working" },
      { type: "failed", failure: "not found", address: "/home/ann" },
    );
    expect(state).toMatchObject({ listing, address: "/home/ann", error: "not found", busy: false });
  });

  it("a failed action keeps what was typed; a finished one clears the failure", () => {
    const failed = run({ type: "typed", address: "/tmp" }, { type: "working" }, { type: "failed", failure: "denied" });
    expect(failed).toMatchObject({ address: "/tmp", error: "denied", busy: false });
    expect(reduceBrowser({ ...failed, busy: true }, { type: "done" })).toMatchObject({ error: null, busy: false });
  });

  it("a link closed with a reason shows it; a start that fails closes the link", () => {
    expect(run({ type: "link", link: "closed", failure: "gone" })).toMatchObject({ link: "closed", error: "gone" });
    expect(run({ type: "link", link: "reconnecting" }).error).toBeNull();
    expect(run({ type: "start_failed", failure: "refused" })).toMatchObject({ link: "closed", startError: "refused" });
  });
});
