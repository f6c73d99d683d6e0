/** Teams: a name, a description and members; each team gets a shared queue. */

import { useState } from "preact/hooks";
import { api, call, send, type Team, type User } from "../api/client";
import { useI18n } from "../i18n";
import { useAction, useLoad } from "../shared/hooks";
import { EditDelete, ListTable, NameDescriptionFields, NewButton } from "../shared/crud";
import { Card, Checkbox, ErrorNotice, fieldError, Loading, SaveCancel } from "../shared/ui";

async function load(): Promise<{ teams: Team[]; users: User[] }> {
  const [teams, users] = await Promise.all([call(api.GET("/api/v1/teams")), call(api.GET("/api/v1/users"))]);
  return { teams, users };
}

type Draft = { name: string; description: string; member_ids: number[] };

export function TeamsPanel() {
  const { t } = useI18n();
  const data = useLoad(load);
  const [editing, setEditing] = useState<number | "new" | null>(null);
  const removal = useAction();

  if (data.data === null) return data.error ? <ErrorNotice error={data.error} /> : <Loading />;
  const { teams, users } = data.data;
  const names = new Map(users.map((user) => [user.id, user.name]));
  const team = typeof editing === "number" ? teams.find((item) => item.id === editing) : undefined;

  const remove = (id: number) => {
    void removal.run(async () => {
      await send(api.DELETE("/api/v1/teams/{team_id}", { params: { path: { team_id: id } } }));
      if (editing === id) setEditing(null);
      data.reload();
    });
  };
  const done = () => {
    setEditing(null);
    data.reload();
  };

  return (
    <>
      {editing === null && (
        <NewButton label={t("admin.teams.new")} testid="team-new" onClick={() => setEditing("new")} />
      )}
      {editing !== null && (
        <TeamForm key={String(editing)} team={team ?? null} users={users} onDone={done} onCancel={() => setEditing(null)} />
      )}
      <ErrorNotice error={removal.error} />
      <ListTable
        head={[t("common.name"), t("common.description"), t("admin.teams.members")]}
        testid="teams-table"
        empty={teams.length === 0 ? { text: t("admin.teams.none"), testid: "teams-empty" } : null}
      >
        {teams.map((item) => (
          <tr key={item.id} data-testid="team-row">
            <td class="strong">{item.name}</td>
            <td>{item.description || "—"}</td>
            <td>{item.member_ids.map((id) => names.get(id) ?? `#${id}`).join(", ") || "—"}</td>
            <td class="cell-actions">
              <EditDelete
                testid="team"
                question={t("admin.teams.delete_question", { name: item.name })}
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

function TeamForm({
  team,
  users,
  onDone,
  onCancel,
}: {
  team: Team | null;
  users: User[];
  onDone: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const [draft, setDraft] = useState<Draft>(
    team ? { name: team.name, description: team.description, member_ids: team.member_ids } : { name: "", description: "", member_ids: [] },
  );
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const body = { ...draft, name: draft.name.trim(), description: draft.description.trim() };
    void action.run(async () => {
      if (team) {
        await call(api.PATCH("/api/v1/teams/{team_id}", { params: { path: { team_id: team.id } }, body }));
      } else {
        await call(api.POST("/api/v1/teams", { body }));
      }
      onDone();
    });
  };
  return (
    <Card title={team ? t("admin.teams.edit_title", { name: team.name }) : t("admin.teams.new")} testid="team-form-card">
      <form onSubmit={submit} data-testid="team-form">
        <NameDescriptionFields
          testid="team"
          name={draft.name}
          description={draft.description}
          nameError={fieldError(t, action.error, "name")}
          onName={(value) => setDraft({ ...draft, name: value })}
          onDescription={(value) => setDraft({ ...draft, description: value })}
        />
        <fieldset class="checkbox-fieldset">
          <legend>{t("admin.teams.members")}</legend>
          <div class="checkbox-list">
            {users.map((user) => (
              <Checkbox
                key={user.id}
                label={user.name}
                checked={draft.member_ids.includes(user.id)}
                testid={`team-member-${user.id}`}
                onChange={(on) =>
                  setDraft({
                    ...draft,
                    member_ids: on ? [...draft.member_ids, user.id] : draft.member_ids.filter((id) => id !== user.id),
                  })
                }
              />
            ))}
          </div>
        </fieldset>
        <ErrorNotice error={action.error} shown={["name"]} />
        <SaveCancel
          label={team ? t("common.save") : t("admin.teams.create")}
          testid="team-save"
          busy={action.busy}
          onCancel={onCancel}
        />
      </form>
    </Card>
  );
}
