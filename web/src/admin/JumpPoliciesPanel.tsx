/** Administration → Jump policies (UNA-6, issue 13 item 7): per Jump group, what happens on a
 * device when a technician jumps to it — ask the logged-in user or not, what to do when nobody
 * answers, and the weekly windows (in a time zone) outside which jumps are refused. A device's
 * own policy (set over the API) wins over its group's; those are listed too. */

import { useState } from "preact/hooks";
import { api, call, type DeviceGroup } from "../api/client";
import type { components } from "../api/schema";
import { useI18n, type MessageKey } from "../i18n";
import { useAction, useLoad } from "../shared/hooks";
import { Card, ErrorNotice, Field, Loading, Notice } from "../shared/ui";

type Policy = components["schemas"]["JumpPolicyOut"];
type PolicyIn = components["schemas"]["JumpPolicyIn"];
type Window = { days: number[]; start: string; end: string };

const DAYS = [0, 1, 2, 3, 4, 5, 6] as const;
const DAY_KEYS: Record<number, MessageKey> = {
  0: "day.0",
  1: "day.1",
  2: "day.2",
  3: "day.3",
  4: "day.4",
  5: "day.5",
  6: "day.6",
};
const OFFICE: Window = { days: [0, 1, 2, 3, 4], start: "08:00", end: "18:00" };

function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function JumpPoliciesPanel() {
  const { t } = useI18n();
  const groups = useLoad(() => call(api.GET("/api/v1/device-groups")));
  const policies = useLoad(() => call(api.GET("/api/v1/jump-policies")));
  if (!groups.data && !policies.data && (groups.loading || policies.loading)) return <Loading />;
  const list: Policy[] = policies.data ?? [];
  return (
    <>
      <p class="muted">{t("admin.jump_policies.about")}</p>
      <ErrorNotice error={groups.error ?? policies.error} />
      {!groups.data?.length && <Notice>{t("admin.jump_policies.no_groups")}</Notice>}
      {(groups.data ?? []).map((group) => (
        <GroupPolicy
          key={group.id}
          group={group}
          policy={list.find((p) => p.device_group_id === group.id) ?? null}
          onChanged={policies.reload}
        />
      ))}
      {list.some((p) => p.device_id !== null) && (
        <Card title={t("admin.jump_policies.device")} testid="jump-policies-devices">
          <ul class="plain-list">
            {list
              .filter((p) => p.device_id !== null)
              .map((p) => (
                <li key={p.id} data-testid="jump-policy-device">
                  #{p.device_id}: <Summary policy={p} />
                </li>
              ))}
          </ul>
        </Card>
      )}
    </>
  );
}

export function Summary({ policy }: { policy: Policy | null }) {
  const { t } = useI18n();
  if (!policy) return <span class="muted">{t("admin.jump_policies.none")}</span>;
  const prompt =
    policy.prompt === "ask"
      ? t("admin.jump_policies.summary_ask", {
          seconds: String(policy.answer_seconds),
          then: t(policy.when_nobody_answers === "allow" ? "admin.jump_policies.then_allow" : "admin.jump_policies.then_deny"),
        })
      : t("admin.jump_policies.summary_none");
  const windows = policy.schedule_windows.length
    ? policy.schedule_windows
        .map((w) => `${w.days.map((d) => t(DAY_KEYS[d] ?? "day.0")).join(" ")} ${w.start}–${w.end}`)
        .join(", ") + ` (${policy.schedule_timezone})`
    : t("admin.jump_policies.any_time");
  return (
    <span data-testid="jump-policy-summary">
      {prompt} · {windows}
    </span>
  );
}

function GroupPolicy({ group, policy, onChanged }: { group: DeviceGroup; policy: Policy | null; onChanged: () => void }) {
  const { t } = useI18n();
  return (
    <Card title={`${t("admin.jump_policies.group")}: ${group.name}`} testid="jump-policy" actions={<Summary policy={policy} />}>
      <PolicyForm target={{ group: group.id }} policy={policy} onChanged={onChanged} />
    </Card>
  );
}

/** A Jump group's policy, or a device's own (which wins over its group's). */
export function PolicyForm({
  target,
  policy,
  onChanged,
}: {
  target: { group: number } | { device: number };
  policy: Policy | null;
  onChanged: () => void;
}) {
  const { t } = useI18n();
  const action = useAction();
  const [saved, setSaved] = useState(false);
  const [form, setForm] = useState<PolicyIn & { schedule_windows: Window[] }>(() => ({
    prompt: policy?.prompt ?? "none",
    when_nobody_answers: policy?.when_nobody_answers ?? "deny",
    answer_seconds: policy?.answer_seconds ?? 30,
    schedule_timezone: policy?.schedule_timezone || browserZone(),
    schedule_windows: (policy?.schedule_windows ?? []).map((w) => ({ ...w, days: [...w.days] })),
  }));
  const setWindow = (index: number, change: Partial<Window>) =>
    setForm({ ...form, schedule_windows: form.schedule_windows.map((w, i) => (i === index ? { ...w, ...change } : w)) });

  const save = (event: Event) => {
    event.preventDefault();
    setSaved(false);
    void action.run(async () => {
      const body = { ...form, schedule_timezone: form.schedule_windows.length ? form.schedule_timezone : "" };
      if ("group" in target) {
        await call(api.PUT("/api/v1/jump-policies/groups/{group_id}", { params: { path: { group_id: target.group } }, body }));
      } else {
        await call(api.PUT("/api/v1/devices/{device_id}/jump-policy", { params: { path: { device_id: target.device } }, body }));
      }
      setSaved(true);
      onChanged();
    });
  };
  const remove = () =>
    void action.run(async () => {
      if ("group" in target) {
        await call(api.DELETE("/api/v1/jump-policies/groups/{group_id}", { params: { path: { group_id: target.group } } }));
      } else {
        await call(api.DELETE("/api/v1/devices/{device_id}/jump-policy", { params: { path: { device_id: target.device } } }));
      }
      onChanged();
    });

  return (
    <form class="form" onSubmit={save} data-testid="jump-policy-form">
      <div class="form-grid">
        <Field label={t("admin.jump_policies.prompt")}>
          <select
            data-testid="jump-policy-prompt"
            value={form.prompt}
            onChange={(event) => setForm({ ...form, prompt: event.currentTarget.value as "none" | "ask" })}
          >
            <option value="none">{t("admin.jump_policies.prompt.none")}</option>
            <option value="ask">{t("admin.jump_policies.prompt.ask")}</option>
          </select>
        </Field>
        {form.prompt === "ask" && (
          <>
            <Field label={t("admin.jump_policies.when_nobody_answers")}>
              <select
                data-testid="jump-policy-nobody"
                value={form.when_nobody_answers}
                onChange={(event) =>
                  setForm({ ...form, when_nobody_answers: event.currentTarget.value as "deny" | "allow" })
                }
              >
                <option value="deny">{t("admin.jump_policies.nobody.deny")}</option>
                <option value="allow">{t("admin.jump_policies.nobody.allow")}</option>
              </select>
            </Field>
            <Field label={t("admin.jump_policies.answer_seconds")}>
              <input
                type="number"
                min={5}
                max={600}
                data-testid="jump-policy-seconds"
                value={form.answer_seconds}
                onInput={(event) => setForm({ ...form, answer_seconds: Number(event.currentTarget.value) })}
              />
            </Field>
          </>
        )}
      </div>
      <fieldset class="fieldset">
        <legend>{t("admin.jump_policies.schedule")}</legend>
        {form.schedule_windows.length > 0 && (
          <Field label={t("admin.jump_policies.timezone")}>
            <input
              data-testid="jump-policy-timezone"
              value={form.schedule_timezone}
              onInput={(event) => setForm({ ...form, schedule_timezone: event.currentTarget.value })}
            />
          </Field>
        )}
        {form.schedule_windows.map((window, index) => (
          <div class="schedule-window" key={index} data-testid="jump-policy-window">
            {DAYS.map((day) => (
              <label key={day} class="checkbox-inline">
                <input
                  type="checkbox"
                  checked={window.days.includes(day)}
                  onChange={(event) =>
                    setWindow(index, {
                      days: event.currentTarget.checked
                        ? [...window.days, day].sort()
                        : window.days.filter((d) => d !== day),
                    })
                  }
                />
                {t(DAY_KEYS[day] ?? "day.0")}
              </label>
            ))}
            <span>{t("admin.jump_policies.from")}</span>
            <input type="time" value={window.start} onInput={(event) => setWindow(index, { start: event.currentTarget.value })} />
            <span>{t("admin.jump_policies.to")}</span>
            <input type="time" value={window.end} onInput={(event) => setWindow(index, { end: event.currentTarget.value })} />
            <button
              type="button"
              class="button button-quiet button-small"
              onClick={() => setForm({ ...form, schedule_windows: form.schedule_windows.filter((_, i) => i !== index) })}
            >
              {t("admin.jump_policies.remove_window")}
            </button>
          </div>
        ))}
        <button
          type="button"
          class="button button-secondary button-small"
          data-testid="jump-policy-add-window"
          onClick={() => setForm({ ...form, schedule_windows: [...form.schedule_windows, { ...OFFICE, days: [...OFFICE.days] }] })}
        >
          {t("admin.jump_policies.add_window")}
        </button>
      </fieldset>
      <ErrorNotice error={action.error} />
      {saved && <Notice kind="success" testid="jump-policy-saved">{t("admin.jump_policies.saved")}</Notice>}
      <div class="form-actions">
        <button type="submit" class="button button-primary" disabled={action.busy} data-testid="jump-policy-save">
          {t("admin.jump_policies.save")}
        </button>
        {policy && (
          <button type="button" class="button button-quiet" disabled={action.busy} data-testid="jump-policy-remove" onClick={remove}>
            {t("admin.jump_policies.remove")}
          </button>
        )}
      </div>
    </form>
  );
}
