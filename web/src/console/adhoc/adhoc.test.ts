import { describe, expect, it } from "vitest";
import { tokenOfFragment } from "../../portal/AdHocLinkPage";
import { actionsOf, stepOf, type AdHocSession } from "./adhoc";

const session = (state: AdHocSession["state"]): AdHocSession =>
  ({ id: 1, state, recipient_email: "maria@example.org" }) as AdHocSession;

describe("ad hoc sessions", () => {
  it("places each state on the progress, emailed as prepared, over ones nowhere", () => {
    expect(stepOf("prepared")).toBe(0);
    expect(stepOf("emailed")).toBe(0);
    expect(stepOf("link_opened")).toBe(1);
    expect(stepOf("waiting_for_code")).toBe(3);
    expect(stepOf("activated")).toBe(4);
    expect(stepOf("expired")).toBe(-1);
  });

  it("offers a new code before activation, Connect once activated, nothing once over", () => {
    expect(actionsOf(session("waiting_for_code"))).toEqual({ newCode: true, connect: false, end: true });
    expect(actionsOf(session("activated"))).toEqual({ newCode: false, connect: true, end: true });
    expect(actionsOf(session("ended"))).toEqual({ newCode: false, connect: false, end: false });
  });

  it("reads the token from the link's fragment only when it is one", () => {
    expect(tokenOfFragment("#abcdefghijklmnopqrstuvwxyz_-0123456789ABCDE")).toBe("abcdefghijklmnopqrstuvwxyz_-0123456789ABCDE");
    expect(tokenOfFragment("")).toBeNull();
    expect(tokenOfFragment("#short")).toBeNull();
    expect(tokenOfFragment("#<script>alert(1)</script>aaaaaaaaaaaaaa")).toBeNull();
  });
});
