import { describe, expect, it } from "vitest";
import type { OrganisationSettings, Team } from "../api/client";
import { auditQuery, endOfDay, exportUrl, NO_FILTERS, startOfDay } from "./audit";
import { toForm, toUpdate } from "./settings";
import { scopeGroupNames, teamChanges } from "./users";

const settings: OrganisationSettings = {
  name: "Acme Support",
  remote_support_enabled: true,
  allow_unmanaged_devices: false,
  chat_disabled: false,
  adhoc_limit_per_user: 1,
  adhoc_limit_per_organisation: 5,
  access_password_min_length: 8,
  recording_enabled: true,
  retention_days: 30,
  console_ip_ranges: ["192.0.2.0/24", "2001:db8::/32"],
  mfa_required: false,
  unattended_access_enabled: true,
  device_seats: 12,
};

describe("settings form", () => {
  it("shows an unlimited licence (no seat count) as 0 and sends 0 back, which means unlimited", () => {
    const form = toForm({ ...settings, device_seats: null });
    expect(form.device_seats).toBe("0");
    const result = toUpdate(form);
    expect(result.ok && result.update.device_seats).toBe(0);
  });

  it("round-trips every setting", () => {
    const result = toUpdate(toForm(settings));
    expect(result).toEqual({ ok: true, update: settings });
  });

  it("writes IP ranges one per line and reads them back trimmed", () => {
    const form = toForm(settings);
    expect(form.console_ip_ranges).toBe("192.0.2.0/24\n2001:db8::/32");
    const result = toUpdate({ ...form, console_ip_ranges: " 10.0.0.0/8 \n\n" });
    expect(result.ok && result.update.console_ip_ranges).toEqual(["10.0.0.0/8"]);
  });

  it("names the fields that are not whole numbers", () => {
    const result = toUpdate({ ...toForm(settings), retention_days: "3.5", adhoc_limit_per_user: "" });
    expect(result).toEqual({ ok: false, invalid: ["adhoc_limit_per_user", "retention_days"] });
  });
});

describe("audit filters", () => {
  it("sends nothing when nothing is chosen", () => {
    expect(auditQuery(NO_FILTERS)).toEqual({});
  });

  it("turns days into instants with a zone, the end day included", () => {
    const query = auditQuery({ actorId: "7", action: " auth.signed_in ", since: "2026-03-01", until: "2026-03-02" });
    expect(query).toEqual({
      actor_id: 7,
      action: "auth.signed_in",
      since: new Date("2026-03-01T00:00:00").toISOString(),
      until: new Date("2026-03-03T00:00:00").toISOString(),
    });
    expect(query.since?.endsWith("Z")).toBe(true);
  });

  it("ignores what is not a day", () => {
    expect(startOfDay("yesterday")).toBeNull();
    expect(endOfDay("2026-13-45")).toBeNull();
  });

  it("exports with the same filters", () => {
    const url = new URL(exportUrl("json", { ...NO_FILTERS, action: "user.created" }), "http://host");
    expect(url.pathname).toBe("/api/v1/audit/export");
    expect(Object.fromEntries(url.searchParams)).toEqual({ format: "json", action: "user.created" });
  });
});

describe("user administration", () => {
  const team = (id: number, member_ids: number[]): Team => ({ id, name: `T${id}`, description: "", member_ids });

  it("changes only the teams whose membership differs", () => {
    const teams = [team(1, [5, 6]), team(2, [6]), team(3, [5])];
    expect(teamChanges(teams, 5, new Set([2, 3]))).toEqual([
      { id: 1, member_ids: [6] },
      { id: 2, member_ids: [6, 5] },
    ]);
    expect(teamChanges(teams, 5, new Set([1, 3]))).toEqual([]);
  });

  it("names the device groups of a scoped assignment", () => {
    const assignment = { id: 1, role_id: 2, role_name: "Viewer", scope: "groups" as const, device_group_ids: [4, 9] };
    expect(scopeGroupNames(assignment, [{ id: 4, name: "Laptops" }])).toEqual(["Laptops", "#9"]);
  });
});
