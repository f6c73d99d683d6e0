import { describe, expect, it } from "vitest";
import type { ChatMessage, Queue, SessionDetail, SupportSession } from "../api/client";
import { asConsoleEvent, CONSOLE_EVENT_TYPES } from "../api/realtime";
import { translator } from "../i18n";
import { customerName, deviceLabel, issueLine, queueName, waited } from "./present";
import {
  findWaiting,
  frameAction,
  initialState,
  mergeChat,
  reduce,
  tabsToSync,
  unreadTotal,
  waitingSessions,
  type Action,
  type ConsoleState,
} from "./store";
import { filterRows, readSysinfo, sysinfoFileName, sysinfoText } from "./sysinfo";

const t = translator("en");

function session(id: number, extra: Partial<SupportSession> = {}): SupportSession {
  return {
    id,
    status: "waiting",
    customer_name: `Customer ${id}`,
    reference: "",
    issue_type_name: "",
    issue_description: "",
    queue_user_id: 1,
    queue_team_id: null,
    owner_id: null,
    owner_name: null,
    position: 1,
    device: {
      id,
      hostname: `host-${id}`,
      os: "Linux",
      os_version: "6.8.0-45-generic #45 SMP",
      username: "ada",
      device_group_id: null,
    },
    created_at: "2025-01-01T10:00:00Z",
    queued_at: "2025-01-01T10:00:00Z",
    accepted_at: null,
    ended_at: null,
    ended_by: "",
    screen_state: "off",
    screen_requested: "",
    kind: "attended",
    jump_state: "",
    jump_desktop: "",
    ...extra,
  };
}

function message(id: number, sessionId: number, sender: ChatMessage["sender"] = "customer", text = "hi"): ChatMessage {
  return { id, session_id: sessionId, at: "2025-01-01T10:01:00Z", sender, sender_name: sender, text };
}

function detail(s: SupportSession, chat: ChatMessage[] = []): SessionDetail {
  return { session: s, chat, chat_enabled: true, agent_connected: true };
}

const queue = (extra: Partial<Queue> = {}): Queue => ({
  personal: [],
  teams: [],
  mine: [],
  personal_total: 0,
  mine_total: 0,
  ...extra,
});

function run(actions: Action[], state: ConsoleState = initialState()): ConsoleState {
  return actions.reduce(reduce, state);
}

describe("mergeChat", () => {
  it("adds a message once and keeps the server's order", () => {
    const a = message(2, 1);
    const b = message(1, 1);
    const merged = mergeChat(mergeChat([a], b), a);
    expect(merged.map((m) => m.id)).toEqual([1, 2]);
  });

  it("returns the same list when nothing is new", () => {
    const chat = [message(1, 1)];
    expect(mergeChat(chat, message(1, 1))).toBe(chat);
  });
});

describe("the console reducer", () => {
  it("keeps the queues and drops a selection that left them", () => {
    const state = run([
      { type: "queue", queue: queue({ personal: [session(1), session(2)] }) },
      { type: "select", sessionId: 2 },
      { type: "queue", queue: queue({ personal: [session(1)] }) },
    ]);
    expect(waitingSessions(state.queue).map((s) => s.id)).toEqual([1]);
    expect(state.selected).toBeNull();
  });

  it("notifies an arrival once and forgets it when the session is taken", () => {
    const arrived = session(5);
    let state = run([
      { type: "queue", queue: queue({ personal: [arrived] }) },
      { type: "arrived", session: arrived },
      { type: "arrived", session: arrived },
    ]);
    expect(state.toasts).toHaveLength(1);
    state = reduce(state, { type: "queue", queue: queue() });
    expect(state.toasts).toHaveLength(0);
  });

  it("opens accepted sessions as tabs and puts the newest in front", () => {
    const state = run([
      { type: "viewing", sessions: true },
      { type: "open", detail: detail(session(1, { status: "active" })), focus: true },
      { type: "open", detail: detail(session(2, { status: "active" })), focus: true },
    ]);
    expect(state.tabs.map((tab) => tab.session.id)).toEqual([1, 2]);
    expect(state.front).toBe(2);
  });

  it("restores tabs without stealing the front one (after a reload)", () => {
    const state = run(
      [
        { type: "open", detail: detail(session(1, { status: "active" })), focus: false },
        { type: "open", detail: detail(session(2, { status: "active" })), focus: false },
      ],
      initialState(2),
    );
    expect(state.front).toBe(2);
  });

  it("counts unread messages only for tabs not in front, and clears them on focus", () => {
    let state = run([
      { type: "viewing", sessions: true },
      { type: "open", detail: detail(session(1, { status: "active" })), focus: true },
      { type: "open", detail: detail(session(2, { status: "active" })), focus: true },
      { type: "chat", message: message(10, 1) },
      { type: "chat", message: message(11, 1) },
      { type: "chat", message: message(11, 1) },
      { type: "chat", message: message(12, 2) },
      { type: "chat", message: message(13, 1, "technician") },
    ]);
    expect(state.tabs.find((tab) => tab.session.id === 1)?.unread).toBe(2);
    expect(state.tabs.find((tab) => tab.session.id === 2)?.unread).toBe(0);
    expect(unreadTotal(state)).toBe(2);
    state = reduce(state, { type: "focus", sessionId: 1 });
    expect(unreadTotal(state)).toBe(0);
  });

  it("counts messages as unread while the technician is on another page", () => {
    let state = run([
      { type: "open", detail: detail(session(1, { status: "active" })), focus: true },
      { type: "chat", message: message(10, 1) },
    ]);
    expect(unreadTotal(state)).toBe(1);
    state = reduce(state, { type: "viewing", sessions: true });
    expect(unreadTotal(state)).toBe(0);
  });

  it("merges the chat history of a refreshed session", () => {
    const state = run([
      { type: "open", detail: detail(session(1, { status: "active" }), [message(1, 1)]), focus: true },
      { type: "chat", message: message(3, 1) },
      { type: "detail", detail: detail(session(1, { status: "ended" }), [message(1, 1), message(2, 1)]) },
    ]);
    const tab = state.tabs[0];
    expect(tab?.chat.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(tab?.session.status).toBe("ended");
  });

  it("closes a tab and brings its neighbour to the front", () => {
    const state = run([
      { type: "open", detail: detail(session(1, { status: "active" })), focus: true },
      { type: "open", detail: detail(session(2, { status: "active" })), focus: true },
      { type: "open", detail: detail(session(3, { status: "active" })), focus: true },
      { type: "focus", sessionId: 2 },
      { type: "close", sessionId: 2 },
    ]);
    expect(state.tabs.map((tab) => tab.session.id)).toEqual([1, 3]);
    expect(state.front).toBe(3);
    expect(reduce(reduce(state, { type: "close", sessionId: 1 }), { type: "close", sessionId: 3 }).front).toBeNull();
  });

  it("keeps a system information snapshot that came before the request's reply", () => {
    const state = run([
      { type: "open", detail: detail(session(1, { status: "active" })), focus: true },
      { type: "sysinfo", sessionId: 1, requestId: "r1", info: { hostname: "h" }, at: "now" },
      { type: "sysinfo-requested", sessionId: 1, requestId: "r1" },
    ]);
    expect(state.tabs[0]?.sysinfo.status).toBe("ready");
    const asked = reduce(state, { type: "sysinfo-requested", sessionId: 1, requestId: "r2" });
    expect(asked.tabs[0]?.sysinfo).toMatchObject({ status: "waiting", requestId: "r2", info: { hostname: "h" } });
    expect(reduce(asked, { type: "sysinfo-failed", sessionId: 1 }).tabs[0]?.sysinfo.status).toBe("ready");
  });

  it("follows the agent's connection and the screen consent", () => {
    const state = run([
      { type: "open", detail: detail(session(1, { status: "active" })), focus: true },
      { type: "online", sessionId: 1, online: false },
      { type: "screen", sessionId: 1, state: "requested", requested: "control" },
    ]);
    expect(state.tabs[0]?.online).toBe(false);
    expect(state.tabs[0]?.session).toMatchObject({ screen_state: "requested", screen_requested: "control" });
  });

  it("takes the agent's connection from the session's details (after a reload or a restart)", () => {
    const away = { ...detail(session(1, { status: "active" })), agent_connected: false };
    const opened = run([{ type: "open", detail: away, focus: true }]);
    expect(opened.tabs[0]?.online).toBe(false);
    const back = reduce(opened, { type: "detail", detail: detail(session(1, { status: "active" })) });
    expect(back.tabs[0]?.online).toBe(true);
  });

  it("forgets whether agents are connected while its own connection is down", () => {
    const open = run([{ type: "open", detail: detail(session(1, { status: "active" })), focus: true }]);
    const lost = reduce(open, { type: "connection", state: "retrying" });
    expect(lost.tabs[0]?.online).toBeNull();
    expect(reduce(lost, { type: "connection", state: "open" }).tabs[0]?.online).toBeNull();
  });

  it("shows or hides every tab's chat when the organisation switches it", () => {
    const state = run([
      { type: "open", detail: detail(session(1, { status: "active" })), focus: true },
      { type: "open", detail: detail(session(2, { status: "active" })), focus: true },
      { type: "chat-switch", enabled: false },
    ]);
    expect(state.tabs.map((tab) => tab.chatEnabled)).toEqual([false, false]);
    expect(reduce(state, { type: "chat-switch", enabled: true }).tabs.every((tab) => tab.chatEnabled)).toBe(true);
    expect(frameAction({ type: "organisation.chat", enabled: false }, () => "")).toEqual({
      type: "chat-switch",
      enabled: false,
    });
  });

  it("ignores events for sessions without a tab", () => {
    const state = initialState();
    expect(reduce(state, { type: "chat", message: message(1, 99) })).toBe(state);
  });
});

describe("tabsToSync", () => {
  it("opens the technician's sessions that have no tab and re-reads tabs that left his list", () => {
    const state = run([
      { type: "open", detail: detail(session(1, { status: "active" })), focus: true },
      { type: "open", detail: detail(session(2, { status: "active" })), focus: true },
    ]);
    const next = queue({ mine: [session(2, { status: "active" }), session(3, { status: "active" })] });
    expect(tabsToSync(state, next)).toEqual({ open: [3], refresh: [1] });
  });
});

describe("frameAction", () => {
  const now = () => "2025-01-01T00:00:00Z";

  it("turns the server's frames into actions", () => {
    expect(frameAction({ type: "queue", queue: queue() }, now)).toEqual({ type: "queue", queue: queue() });
    expect(frameAction({ type: "notification", kind: "session_arrived", session: session(1) }, now)).toMatchObject({
      type: "arrived",
    });
    expect(frameAction({ type: "session.chat", ...message(4, 1) }, now)).toEqual({ type: "chat", message: message(4, 1) });
    expect(frameAction({ type: "session.updated", session_id: 1, online: true }, now)).toEqual({
      type: "online",
      sessionId: 1,
      online: true,
    });
    expect(frameAction({ type: "session.sysinfo", session_id: 1, request_id: "r", info: { a: 1 } }, now)).toEqual({
      type: "sysinfo",
      sessionId: 1,
      requestId: "r",
      info: { a: 1 },
      at: "2025-01-01T00:00:00Z",
    });
    const screen = { type: "session.screen", session_id: 1, state: "view", requested: "", technician: "" } as const;
    expect(frameAction(screen, now)).toMatchObject({
      type: "screen",
      state: "view",
    });
  });

  it("takes every event type the server sends, and nothing else", () => {
    expect(asConsoleEvent({ type: "later" })).toBeNull();
    expect(asConsoleEvent({ type: "toString" })).toBeNull();
    expect(asConsoleEvent({ type: "chat" })).toBeNull(); // the portal page's, not the console's
    for (const type of Object.keys(CONSOLE_EVENT_TYPES)) expect(asConsoleEvent({ type })).not.toBeNull();
  });
});

describe("finding a waiting session", () => {
  it("looks in the personal and the team queues", () => {
    const q = queue({ teams: [{ team_id: 3, team_name: "Printers", sessions: [session(7, { queue_team_id: 3, queue_user_id: null })], total: 1 }] });
    expect(findWaiting(q, 7)?.id).toBe(7);
    expect(findWaiting(q, 8)).toBeNull();
    expect(queueName(findWaiting(q, 7)!, q, t)).toBe("Team Printers");
    expect(queueName(session(1), q, t)).toBe("My queue");
  });
});

describe("presenting sessions", () => {
  it("names the customer, or says there is no name", () => {
    expect(customerName(session(1), t)).toBe("Customer 1");
    expect(customerName(session(1, { customer_name: "  " }), t)).toBe("Customer on host-1");
    expect(customerName(session(1, { reference: "T-1234" }), t)).toBe("Customer 1 · T-1234");
  });

  it("puts the portal issue form's type before its description", () => {
    expect(issueLine(session(1, { issue_type_name: "Printer", issue_description: " It jams " }))).toBe("Printer · It jams");
    expect(issueLine(session(1))).toBe("");
  });

  it("keeps only the first word of a long OS version", () => {
    expect(deviceLabel(session(1))).toBe("host-1 · Linux 6.8.0-45-generic");
  });

  it("says how long someone waited", () => {
    const start = "2025-01-01T10:00:00Z";
    const at = (minutes: number) => Date.parse(start) + minutes * 60_000;
    expect(waited(start, at(0.5), t)).toBe("just now");
    expect(waited(start, at(5), t)).toBe("5 min");
    expect(waited(start, at(135), t)).toBe("2 h 15 min");
    expect(waited("not a date", at(1), t)).toBe("—");
  });
});

const SNAPSHOT = {
  collected_at: "2025-01-01T10:00:00+00:00",
  hostname: "laptop-7",
  current_user: "ada",
  os: { name: "Debian GNU/Linux 12", system: "Linux", release: "6.1.0", version: "12", architecture: "x86_64" },
  uptime_seconds: 3700,
  cpu: { model: "Xeon", physical_cores: 4, logical_cores: 8, percent: 12.5, load_average: [0.5, 0.25, 0.1] },
  memory: { total_bytes: 8 * 1024 ** 3, available_bytes: 4 * 1024 ** 3, percent: 50, swap_total_bytes: 0, swap_used_bytes: 0 },
  disks: [{ device: "/dev/sda1", mountpoint: "/", filesystem: "ext4", total_bytes: 100, used_bytes: 40, free_bytes: 60, percent: 40 }],
  network: [{ name: "eth0", up: true, addresses: [{ family: "AF_INET", address: "192.0.2.7", netmask: "255.255.255.0" }] }],
  users: [{ name: "ada", terminal: "tty1", host: "", since: "2025-01-01T08:00:00+00:00" }],
  processes: { by_cpu: [{ pid: 1, name: "init", user: "root", cpu_percent: 0, rss_bytes: 1024 }], by_memory: [], count: [{ total: 42 }] },
  services: { manager: "systemd", items: [{ name: "ssh.service", load: "loaded", active: "active", sub: "running", description: "OpenSSH" }] },
  packages: { manager: "dpkg", count: 2, items: [{ name: "bash", version: "5.2" }, { name: "coreutils", version: "9.1" }] },
};

describe("readSysinfo", () => {
  it("reads what the agent sends", () => {
    const info = readSysinfo(SNAPSHOT);
    expect(info.hostname).toBe("laptop-7");
    expect(info.processes.total).toBe(42);
    expect(info.network[0]?.addresses[0]?.address).toBe("192.0.2.7");
    expect(info.packages.items).toHaveLength(2);
  });

  it("survives missing and wrong fields", () => {
    const info = readSysinfo({ hostname: 7, cpu: "fast", disks: [null, { percent: "x" }], network: {}, packages: { items: [{}] } });
    expect(info.hostname).toBe("7");
    expect(info.cpu.model).toBe("");
    expect(info.disks).toHaveLength(2);
    expect(info.disks[1]?.percent).toBeNull();
    expect(info.network).toEqual([]);
    expect(info.packages.count).toBe(1);
    expect(readSysinfo(null).os.name).toBe("");
  });
});

describe("sysinfoText", () => {
  it("writes every section in plain text", () => {
    const text = sysinfoText(readSysinfo(SNAPSHOT), t, "en");
    expect(text).toContain("System information of laptop-7");
    expect(text).toContain("Computer name: laptop-7");
    expect(text).toContain("Memory: 8.0 GiB (Available: 4.0 GiB)");
    expect(text).toContain("Running for: 1 h 01 min");
    for (const heading of ["Disks", "Network", "Users", "Processes", "Services", "Software"]) {
      expect(text).toMatch(new RegExp(`^${heading}\\n=+$`, "m"));
    }
    expect(text).toContain("  AF_INET 192.0.2.7 / 255.255.255.0");
    expect(text).toContain("ssh.service  active/running  OpenSSH");
    expect(text).toContain("bash 5.2");
  });

  it("translates its headings", () => {
    expect(sysinfoText(readSysinfo(SNAPSHOT), translator("de"), "de")).toContain("Computername: laptop-7");
  });

  it("names files after the computer and the time", () => {
    expect(sysinfoFileName(readSysinfo(SNAPSHOT))).toBe("sysinfo-laptop-7-2025-01-01T10-00-00");
  });
});

describe("filterRows", () => {
  it("filters case-insensitively and limits what is shown", () => {
    const items = ["Alpha", "beta", "alphabet", "gamma"];
    expect(filterRows(items, "ALPHA", (s) => s, 1)).toEqual({ rows: ["Alpha"], matched: 2 });
    expect(filterRows(items, " ", (s) => s, 10).matched).toBe(4);
  });
});
