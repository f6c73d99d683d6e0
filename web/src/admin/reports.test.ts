import { describe, expect, it } from "vitest";
import type { SessionReport, SupportSession } from "../api/client";
import { CATALOGUES, translator } from "../i18n";
import { csvField, durationOf, EVENT_LABELS, eventDetails, eventLabel, reportCsv, reportsCsv, startedAt } from "./reports";

const SESSION: SupportSession = {
  id: 3,
  status: "ended",
  customer_name: "Zoë, \"the\" customer",
  reference: "",
  issue_type_name: "",
  issue_description: "=SUM(A1)",
  queue_user_id: 1,
  queue_team_id: null,
  owner_id: 1,
  owner_name: "Ada",
  position: null,
  device: { id: 1, hostname: "laptop", os: "Linux", os_version: "6.1", username: "zoe", device_group_id: null },
  created_at: "2025-01-01T10:00:00Z",
  queued_at: "2025-01-01T10:00:00Z",
  accepted_at: "2025-01-01T10:02:00Z",
  ended_at: "2025-01-01T10:32:30.900Z",
  ended_by: "ada@example.com",
  screen_state: "off",
  screen_requested: "",
  kind: "attended",
  jump_state: "",
  jump_desktop: "",
};

describe("session durations", () => {
  it("run from acceptance to the end, in whole seconds", () => {
    expect(startedAt(SESSION)).toBe("2025-01-01T10:02:00Z");
    expect(durationOf(SESSION)).toBe(1830);
    expect(durationOf({ ...SESSION, accepted_at: null })).toBe(1950);
    expect(durationOf({ ...SESSION, ended_at: null })).toBeNull();
  });
});

describe("CSV", () => {
  it("quotes what needs quoting and defuses formulas", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField('a "b", c')).toBe('"a ""b"", c"');
    expect(csvField("=1+1")).toBe("'=1+1");
    expect(csvField(null)).toBe("");
    expect(csvField(12)).toBe("12");
  });

  it("exports the list with a header", () => {
    const lines = reportsCsv([SESSION]).trimEnd().split("\r\n");
    expect(lines[0]).toBe("id,status,technician,customer,device,os,device_user,issue,created_at,started_at,ended_at,duration_seconds,ended_by");
    expect(lines[1]).toContain('"Zoë, ""the"" customer"');
    expect(lines[1]).toContain("'=SUM(A1)");
    expect(lines[1]).toContain(",1830,");
  });

  it("exports one report with its timeline and chat", () => {
    const report = {
      session: SESSION,
      duration_seconds: 1830,
      events: [{ id: 1, at: "2025-01-01T10:02:00Z", kind: "session.accepted", actor_label: "Ada", details: {} }],
      chat: [{ id: 1, session_id: 3, at: "2025-01-01T10:03:00Z", sender: "customer", sender_name: "Zoë", text: "你好 مرحبا 👋" }],
    } as SessionReport;
    const csv = reportCsv(report);
    expect(csv).toContain("event_at,event,by,details");
    expect(csv).toContain("session.accepted,Ada,{}");
    expect(csv).toContain("customer,Zoë,你好 مرحبا 👋");
  });
});

describe("events", () => {
  it("have words for every kind the server records", () => {
    expect(eventLabel("session.accepted")).toBe("reports.event.session_accepted");
    expect(eventLabel("something.new")).toBeNull();
    for (const key of Object.values(EVENT_LABELS)) expect(CATALOGUES.en[key]).toBeTruthy();
  });

  it("show their details briefly", () => {
    const event = { id: 1, at: "", kind: "agent.connected", actor_label: "", details: { ip: "192.0.2.1", first: true, none: null, empty: "" } };
    expect(eventDetails(event, translator("en"))).toBe("address: 192.0.2.1, first: yes");
    expect(eventDetails(event, translator("de"))).toBe("Adresse: 192.0.2.1, erstmals: ja");
  });
});
