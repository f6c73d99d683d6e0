import { describe, expect, it } from "vitest";
import { dataFrame } from "./codec";
import { HOLD_LIMIT, NEW_LINK, stepLink, tabState, type LinkEvent, type ShellLink, type Step } from "./shellLink";

const typed = (text: string, socketOpen = true): LinkEvent => ({ type: "typed", frame: dataFrame(text), socketOpen });
const text = (frames: Uint8Array[]) => frames.map((frame) => new TextDecoder().decode(frame.subarray(1))).join("");

/** Runs the events from `link`; every step's frames and lines, and the last step. */
function run(link: ShellLink, ...events: LinkEvent[]): { last: Step; sent: Uint8Array[]; said: string[]; retries: number } {
  let last: Step = { link, send: [], say: [], retry: false };
  const sent: Uint8Array[] = [];
  const said: string[] = [];
  let retries = 0;
  for (const event of events) {
    last = stepLink(last.link, event);
    sent.push(...last.send);
    said.push(...last.say);
    if (last.retry) retries += 1;
  }
  return { last, sent, said, retries };
}

const OPEN = run(NEW_LINK, { type: "asking" }, { type: "relayed" }, { type: "answered" }).last.link;

describe("a shell tab's link", () => {
  it("is open once the device answers, not when the socket reaches the relay", () => {
    const relayed = run(NEW_LINK, { type: "asking" }, { type: "relayed" }).last.link;
    expect(tabState(relayed)).toBe("connecting");
    expect(tabState(OPEN)).toBe("open");
  });

  it("holds what is typed before the first shell answers, silently, and sends it then, in order", () => {
    const { last, sent, said } = run(
      NEW_LINK,
      { type: "asking" },
      { type: "relayed" },
      typed("ls"),
      typed(" -l\r"),
      { type: "answered" },
    );
    expect(text(sent)).toBe("ls -l\r");
    expect(said).toEqual([]);
    expect(last.link).toMatchObject({ phase: "open", held: [], heldBytes: 0 });
    expect(text(stepLink(last.link, typed("x")).send)).toBe("x");
  });

  it("keeps what is typed while a lost shell is reopened and sends it to the new shell", () => {
    // The shell is lost; the tunnel asked for meanwhile is never joined (the agent is away),
    // closed by the relay and asked for again; the next one is joined.
    const lost = run(OPEN, { type: "dropped" });
    expect(lost.said).toEqual(["reconnecting"]);
    expect(lost.retries).toBe(1);
    const away = run(lost.last.link, { type: "asking" }, { type: "relayed" }, typed("echo gap"), typed("-42\r"));
    expect(tabState(away.last.link)).toBe("connecting");
    expect(away.sent).toEqual([]);
    expect(away.said).toEqual(["typing_held"]); // once for the wait
    const again = run(away.last.link, { type: "dropped" }, { type: "asking" }, typed("!"), { type: "relayed" });
    expect(again.said).toEqual([]);
    expect(again.retries).toBe(1);
    expect(again.last.link.attempt).toBe(2);
    const back = run(again.last.link, { type: "answered" });
    expect(text(back.sent)).toBe("echo gap-42\r!");
    expect(back.last.link).toMatchObject({ phase: "open", attempt: 0, heldBytes: 0 });
    // A later loss is said again, and so is typing held then.
    expect(run(back.last.link, { type: "dropped" }, typed("y")).said).toEqual(["reconnecting", "typing_held"]);
  });

  it("holds what is typed while the socket is closing, and says so with the loss", () => {
    const closing = run(OPEN, typed("pwd\r", false));
    expect(closing.sent).toEqual([]);
    expect(closing.said).toEqual([]);
    const lost = run(closing.last.link, { type: "dropped" }, typed("z"));
    expect(lost.said).toEqual(["reconnecting", "typing_held"]);
    expect(text(run(lost.last.link, { type: "relayed" }, { type: "answered" }).sent)).toBe("pwd\rz");
  });

  it("refuses typing past the hold limit, and says so once a wait", () => {
    const big = "a".repeat(HOLD_LIMIT - 1); // with its frame byte: exactly the limit
    const away = run(OPEN, { type: "dropped" }, typed(big), typed("b"), typed("c"));
    expect(away.said).toEqual(["reconnecting", "typing_held", "typing_refused"]);
    expect(away.last.link.heldBytes).toBe(HOLD_LIMIT);
    const back = run(away.last.link, { type: "relayed" }, { type: "answered" });
    expect(text(back.sent)).toBe(big);
    expect(run(back.last.link, { type: "dropped" }, typed(big), typed("d")).said).toEqual([
      "reconnecting",
      "typing_held",
      "typing_refused",
    ]);
  });

  it("asks again while the server is unreachable, and says held typing is dropped when refused", () => {
    const away = run(OPEN, { type: "dropped" }, typed("rm x\r"), { type: "refused", final: false });
    expect(away.retries).toBe(2);
    expect(tabState(away.last.link)).toBe("connecting");
    const refused = run(away.last.link, { type: "refused", final: true });
    expect(refused.said).toEqual(["typing_dropped"]);
    expect(refused.sent).toEqual([]);
    expect(refused.retries).toBe(0);
    expect(tabState(refused.last.link)).toBe("lost");
    expect(run(refused.last.link, { type: "relayed" }, { type: "answered" }, typed("x")).sent).toEqual([]);
  });

  it("fails at once when the first tunnel is refused, retryable or not", () => {
    for (const final of [true, false]) {
      const failed = run(NEW_LINK, { type: "asking" }, typed("a"), { type: "refused", final });
      expect(tabState(failed.last.link)).toBe("failed");
      expect(failed.said).toEqual(["typing_dropped"]);
      expect(failed.retries).toBe(0);
    }
    expect(run(NEW_LINK, { type: "asking" }, { type: "refused", final: true }).said).toEqual([]);
  });

  it("ends with the shell's exit code; typing held for a shell that exits at once is said dropped", () => {
    const exited = run(OPEN, { type: "exited", code: 3 });
    expect(tabState(exited.last.link)).toEqual({ exited: 3 });
    expect(exited.said).toEqual([]);
    const early = run(OPEN, { type: "dropped" }, typed("a"), { type: "relayed" }, { type: "exited", code: 0 });
    expect(early.said).toEqual(["reconnecting", "typing_held", "typing_dropped"]);
    expect(early.sent).toEqual([]);
    expect(run(early.last.link, { type: "dropped" }).retries).toBe(0);
  });
});
