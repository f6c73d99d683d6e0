import { describe, expect, it } from "vitest";
import type { CustomerSession, CustomerStart } from "../api/client";
import { asPortalEvent, PORTAL_EVENT_TYPES, type PortalEvent } from "../api/realtime";
import {
  addressWithoutKey,
  applyFrame,
  detectPlatform,
  entryFromSearch,
  formatKeyInput,
  fromStart,
  isOpen,
  loadStored,
  parseStored,
  refreshed,
  saveStored,
  stepOf,
  viewOf,
} from "./portal";

const START: CustomerStart = {
  customer_token: "secret-token",
  key: "ABCD-EFGH-JKMN",
  technician: { id: 1, name: "Ada", title: "Engineer", company: "Acme", picture: null, verified_domain: "acme.test" },
  team_name: null,
  commands: {
    linux_macos: "curl … | sh -s -- --key ABCD-EFGH-JKMN",
    windows_powershell: "powershell …",
    script_url_linux_macos: "/portal/agent.sh",
    script_url_windows: "/portal/agent.ps1",
    support_client_url: "/portal/download/support-client",
    support_client_sha256: "0".repeat(64),
    support_client_size: 100_000_000,
    support_client_file_name: "relaydesk-support-ABCD-EFGH-JKMN.bin",
  },
};

const SESSION: CustomerSession = {
  status: "waiting",
  technician: START.technician,
  chat: [],
  chat_enabled: true,
  screen_state: "off",
  screen_requested: "",
};

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

describe("the kept session", () => {
  it("survives a round trip through storage", () => {
    const storage = memoryStorage();
    saveStored(storage, "portal-1", fromStart(START, "portal-1"));
    expect(loadStored(storage, "portal-1")).toEqual({
      token: "secret-token",
      key: "ABCD-EFGH-JKMN",
      technician: START.technician,
      team_name: null,
      commands: START.commands,
      slug: "portal-1",
    });
    saveStored(storage, "portal-1", null);
    expect(loadStored(storage, "portal-1")).toBeNull();
  });

  it("is kept per portal", () => {
    const storage = memoryStorage();
    saveStored(storage, "portal-1", fromStart(START, "portal-1"));
    expect(loadStored(storage, null)).toBeNull();
    expect(loadStored(storage, "portal-2")).toBeNull();
    saveStored(storage, null, fromStart(START, null));
    expect(loadStored(storage, null)?.slug).toBeNull();
    saveStored(storage, null, null);
    expect(loadStored(storage, "portal-1")?.slug).toBe("portal-1");
  });

  it("refuses what this page did not write", () => {
    expect(parseStored(null)).toBeNull();
    expect(parseStored("not json")).toBeNull();
    expect(parseStored('{"token": ""}')).toBeNull();
    expect(parseStored('{"token": "t", "key": "k", "commands": {}}')).toBeNull();
  });

  it("lives without storage", () => {
    expect(loadStored(null, null)).toBeNull();
    expect(() => saveStored(null, null, null)).not.toThrow();
    const broken = { getItem: () => { throw new Error("denied"); }, setItem: () => { throw new Error("denied"); }, removeItem: () => undefined };
    expect(loadStored(broken, null)).toBeNull();
    expect(() => saveStored(broken, null, fromStart(START, null))).not.toThrow();
  });
});

describe("the key's unique link", () => {
  it("reads the portal and the key", () => {
    expect(entryFromSearch("?portal=portal-1&key=ABCD-EFGH-JKMN")).toEqual({ slug: "portal-1", key: "ABCD-EFGH-JKMN" });
    expect(entryFromSearch("")).toEqual({ slug: null, key: null });
    // The key link's key rides in the fragment, which no server sees.
    expect(entryFromSearch("?portal=p7Xq", "#key=ABCD-EFGH-JKMN")).toEqual({ slug: "p7Xq", key: "ABCD-EFGH-JKMN" });
    expect(entryFromSearch("?key=%20")).toEqual({ slug: null, key: null });
  });

  it("drops the key from the address once used", () => {
    expect(addressWithoutKey("portal-1")).toBe("/?portal=portal-1");
    expect(addressWithoutKey("a b")).toBe("/?portal=a%20b");
    expect(addressWithoutKey(null)).toBe("/");
  });
});

describe("formatKeyInput", () => {
  it("writes capitals in groups of four", () => {
    expect(formatKeyInput("abcdefghjkmn")).toBe("ABCD-EFGH-JKMN");
    expect(formatKeyInput("abcd efgh")).toBe("ABCD-EFGH");
    expect(formatKeyInput("ab-cd-ef")).toBe("ABCD-EF");
    expect(formatKeyInput(" -- ")).toBe("");
  });
});

describe("the session's progress", () => {
  it("maps each status to a step", () => {
    expect(stepOf("waiting_for_agent")).toBe("start_client");
    expect(stepOf("waiting")).toBe("wait_technician");
    expect(stepOf("held")).toBe("wait_technician");
    expect(stepOf("active")).toBe("in_session");
    expect(stepOf("ended")).toBe("ended");
    expect(isOpen("active")).toBe(true);
    expect(isOpen("waiting_for_agent")).toBe(false);
    expect(isOpen("ended")).toBe(false);
  });

  it("offers Windows instructions to Windows browsers", () => {
    expect(detectPlatform("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")).toBe("windows");
    expect(detectPlatform("Mozilla/5.0 (X11; Linux x86_64)")).toBe("posix");
    expect(detectPlatform("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)")).toBe("posix");
  });
});

describe("applyFrame", () => {
  const message = (id: number, text = "hi") => ({
    id,
    session_id: 1,
    at: "2025-01-01T00:00:00Z",
    sender: "technician" as const,
    sender_name: "Ada",
    text,
  });

  it("takes snapshots, chat and screen changes", () => {
    let view = viewOf({ ...SESSION, status: "waiting" });
    view = applyFrame(view, {
      type: "snapshot",
      status: "active",
      technician: START.technician,
      chat: [message(1)],
      chat_enabled: true,
      jump_client_request_id: null,
      jump_client_technician: "",
    });
    expect(view.status).toBe("active");
    view = applyFrame(view, { type: "chat", ...message(2, "你好 مرحبا 👋") });
    view = applyFrame(view, { type: "chat", ...message(2, "你好 مرحبا 👋") });
    expect(view.chat.map((m) => m.text)).toEqual(["hi", "你好 مرحبا 👋"]);
    view = applyFrame(view, { type: "screen", state: "requested", requested: "control", technician: "Ada" });
    expect(view).toMatchObject({ screen_state: "requested", screen_requested: "control", screen_asked_by: "Ada" });
    view = applyFrame(view, { type: "screen", state: "control", requested: "", technician: "" });
    expect(view).toMatchObject({ screen_state: "control", screen_requested: "", screen_asked_by: null });
  });

  it("keeps the question to install a permanent client from the snapshots across reloads", () => {
    const snapshot = (id: number | null): PortalEvent => ({
      type: "snapshot",
      status: "active",
      technician: START.technician,
      chat: [],
      chat_enabled: true,
      jump_client_request_id: id,
      jump_client_technician: id ? "Ada" : "",
    });
    let view = applyFrame(viewOf({ ...SESSION, status: "active" }), snapshot(7));
    expect(view).toMatchObject({ jump_client_request_id: 7, jump_client_technician: "Ada" });
    view = refreshed(view, { ...SESSION, status: "active" });
    expect(view.jump_client_request_id).toBe(7);
    view = applyFrame(view, snapshot(null));
    expect(view).toMatchObject({ jump_client_request_id: null, jump_client_technician: "" });
  });

  it("keeps the view for a tool opened or an error, and knows only the page's event types", () => {
    const view = viewOf(SESSION);
    expect(applyFrame(view, { type: "tool", kind: "shell", state: "opened" })).toBe(view);
    expect(applyFrame(view, { type: "error", code: "customer_session_unknown", detail: "gone" })).toBe(view);
    expect(asPortalEvent({ type: "later" })).toBeNull();
    expect(asPortalEvent({ type: "session.chat" })).toBeNull(); // the console's, not the page's
    for (const type of Object.keys(PORTAL_EVENT_TYPES)) expect(asPortalEvent({ type })).not.toBeNull();
  });

  it("merges a fetched session into what is shown", () => {
    const before = applyFrame(viewOf(SESSION), { type: "chat", ...message(5) });
    const asked = applyFrame(before, { type: "screen", state: "requested", requested: "view", technician: "Ada" });
    const after = refreshed(asked, { ...SESSION, chat: [message(4)], screen_state: "requested", screen_requested: "view" });
    expect(after.chat.map((m) => m.id)).toEqual([4, 5]);
    expect(after.screen_asked_by).toBe("Ada");
    expect(refreshed(null, SESSION).chat).toEqual([]);
  });
});
