/** Issue types: what a customer can pick on the portal's issue form; each routes the session to
 * one team's queue and may put the customer's computer in a device group (GOV-3 scope). */

import { useState } from "preact/hooks";
import { api, call, send, type DeviceGroup, type IssueType, type Team } from "../api/client";
import { useI18n } from "../i18n";
import { useAction, useLoad } from "../shared/hooks";
import { Link } from "../shared/router";
import { EditDelete, ListTable, NewButton } from "../shared/crud";
import { Card, ErrorNotice, Field, fieldError, Loading, Notice, SaveCancel } from "../shared/ui";

async function load(): Promise<{ issueTypes: IssueType[]; teams: Team[]; groups: DeviceGroup[] }> {
  const [issueTypes, teams, groups] = await Promise.all([
    call(api.GET("/api/v1/issue-types")),
    call(api.GET("/api/v1/teams")),
    call(api.GET("/api/v1/device-groups")),
  ]);
  return { issueTypes, teams, groups };
}

export function IssueTypesPanel() {
  const { t } = useI18n();
  const data = useLoad(load);
  const [editing, setEditing] = useState<number | "new" | null>(null);
  const removal = useAction();

  if (data.data === null) return data.error ? <ErrorNotice error={data.error} /> : <Loading />;
  const { issueTypes, teams, groups } = data.data;
  const teamNames = new Map(teams.map((team) => [team.id, team.name]));
  const groupNames = new Map(groups.map((group) => [group.id, group.name]));
  const current = typeof editing === "number" ? issueTypes.find((item) => item.id === editing) ?? null : null;

  const remove = (id: number) =>
    void removal.run(async () => {
      await send(api.DELETE("/api/v1/issue-types/{issue_type_id}", { params: { path: { issue_type_id: id } } }));
      if (editing === id) setEditing(null);
      data.reload();
    });
  const done = () => {
    setEditing(null);
    data.reload();
  };

  return (
    <>
      <p class="muted intro">{t("admin.issue_types.about")}</p>
      {teams.length === 0 ? (
        <Notice kind="warning" testid="issue-types-no-teams">
          {t("admin.issue_types.no_teams")}{" "}
          <Link href="/admin/teams">{t("admin.teams")}</Link>
        </Notice>
      ) : (
        editing === null && (
          <NewButton label={t("admin.issue_types.new")} testid="issue-type-new" onClick={() => setEditing("new")} />
        )
      )}
      {editing !== null && (
        <IssueTypeForm
          key={String(editing)}
          issueType={current}
          teams={teams}
          groups={groups}
          onDone={done}
          onCancel={() => setEditing(null)}
        />
      )}
      <ErrorNotice error={removal.error} />
      <ListTable
        head={[t("common.name"), t("admin.issue_types.team"), t("admin.issue_types.device_group")]}
        testid="issue-types-table"
        empty={issueTypes.length === 0 ? { text: t("admin.issue_types.none"), testid: "issue-types-empty" } : null}
      >
        {issueTypes.map((item) => (
          <tr key={item.id} data-testid="issue-type-row">
            <td class="strong" dir="auto">
              {item.name}
            </td>
            <td>{teamNames.get(item.team_id) ?? `#${item.team_id}`}</td>
            <td data-testid="issue-type-device-group">
              {item.device_group_id === null
                ? "—"
                : groupNames.get(item.device_group_id) ?? `#${item.device_group_id}`}
            </td>
            <td class="cell-actions">
              <EditDelete
                testid="issue-type"
                question={t("admin.issue_types.delete_question", { name: item.name })}
                onEdit={() => setEditing(item.id)}
                onDelete={() => remove(item.id)}
              />
            </td>
          </tr>
        ))}
      </ListTable>
    </>
  );
}

function IssueTypeForm({
  issueType,
  teams,
  groups,
  onDone,
  onCancel,
}: {
  issueType: IssueType | null;
  teams: Team[];
  groups: DeviceGroup[];
  onDone: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const [name, setName] = useState(issueType?.name ?? "");
  const [teamId, setTeamId] = useState<number>(issueType?.team_id ?? teams[0]?.id ?? 0);
  const [groupId, setGroupId] = useState<number | null>(issueType?.device_group_id ?? null);
  const action = useAction();

  const submit = (event: Event) => {
    event.preventDefault();
    const body = { name: name.trim(), team_id: teamId, device_group_id: groupId };
    void action.run(async () => {
      if (issueType) {
        await call(
          api.PATCH("/api/v1/issue-types/{issue_type_id}", { params: { path: { issue_type_id: issueType.id } }, body }),
        );
      } else {
        await call(api.POST("/api/v1/issue-types", { body }));
      }
      onDone();
    });
  };

  return (
    <Card
      title={issueType ? t("admin.issue_types.edit_title", { name: issueType.name }) : t("admin.issue_types.new")}
      testid="issue-type-form-card"
    >
      <form onSubmit={submit} data-testid="issue-type-form">
        <div class="form-grid">
          <Field label={t("common.name")} hint={t("admin.issue_types.name_hint")} error={fieldError(t, action.error, "name")}>
            <input
              required
              maxLength={200}
              dir="auto"
              value={name}
              data-testid="issue-type-name"
              onInput={(event) => setName(event.currentTarget.value)}
            />
          </Field>
          <Field label={t("admin.issue_types.team")} hint={t("admin.issue_types.team_hint")} error={fieldError(t, action.error, "team_id")}>
            <select value={teamId} data-testid="issue-type-team" onChange={(event) => setTeamId(Number(event.currentTarget.value))}>
              {teams.map((team) => (
                <option key={team.id} value={team.id}>
                  {team.name}
                </option>
              ))}
            </select>
          </Field>
          {groups.length > 0 && (
            <Field
              label={t("admin.issue_types.device_group")}
              hint={t("admin.issue_types.device_group_hint")}
              error={fieldError(t, action.error, "device_group_id")}
            >
              <select
                value={groupId ?? ""}
                data-testid="issue-type-device-group-select"
                onChange={(event) => {
                  const value = event.currentTarget.value;
                  setGroupId(value === "" ? null : Number(value));
                }}
              >
                <option value="">{t("admin.issue_types.no_device_group")}</option>
                {groups.map((group) => (
                  <option key={group.id} value={group.id}>
                    {group.name}
                  </option>
                ))}
              </select>
            </Field>
          )}
        </div>
        <ErrorNotice error={action.error} shown={["name", "team_id", "device_group_id"]} />
        <SaveCancel
          label={issueType ? t("common.save") : t("admin.issue_types.create")}
          testid="issue-type-save"
          busy={action.busy}
          onCancel={onCancel}
        />
      </form>
    </Card>
  );
}
