/** Teams: a name, a description and members; each team gets a shared queue. */

import { useState } from "preact/hooks";
import { api, call, send, type Team, type User } from "../api/client";
import { useI18n } from "../i18n";
import { useAction, useLoad } from "../shared/hooks";
import { Card, Checkbox, ConfirmButton, ErrorNotice, Field, fieldError, Loading } from "../shared/ui";

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
        <div class="toolbar">
          <button type="button" class="button button-primary" data-testid="team-new" onClick={() => setEditing("new")}>
            {t("admin.teams.new")}
          </button>
        </div>
      )}
      {editing !== null && (
        <TeamForm key={String(editing)} team={team ?? null} users={users} onDone={done} onCancel={() => setEditing(null)} />
      )}
      <ErrorNotice error={removal.error} />
      <Card>
        {teams.length === 0 ? (
          <p class="muted" data-testid="teams-empty">
            {t("admin.teams.none")}
          </p>
        ) : (
          <table class="table" data-testid="teams-table">
            <thead>
              <tr>
                <th>{t("common.name")}</th>
                <th>{t("common.description")}</th>
                <th>{t("admin.teams.members")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {teams.map((item) => (
                <tr key={item.id} data-testid="team-row">
                  <td class="strong">{item.name}</td>
                  <td>{item.description || "—"}</td>
                  <td>{item.member_ids.map((id) => names.get(id) ?? `#${id}`).join(", ") || "—"}</td>
                  <td class="cell-actions">
                    <button type="button" class="button button-secondary" data-testid="team-edit" onClick={() => setEditing(item.id)}>
                      {t("common.edit")}
                    </button>
                    <ConfirmButton
                      label={t("common.delete")}
                      question={t("admin.teams.delete_question", { name: item.name })}
                      testid="team-delete"
                      onConfirm={() => remove(item.id)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
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
        <div class="form-grid">
          <Field label={t("common.name")} error={fieldError(t, action.error, "name")}>
            <input
              required
              maxLength={200}
              value={draft.name}
              data-testid="team-name"
              onInput={(event) => setDraft({ ...draft, name: event.currentTarget.value })}
            />
          </Field>
          <Field label={t("common.description")}>
            <input
              maxLength={2000}
              value={draft.description}
              data-testid="team-description"
              onInput={(event) => setDraft({ ...draft, description: event.currentTarget.value })}
            />
          </Field>
        </div>
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
        <div class="form-actions">
          <button type="submit" class="button button-primary" disabled={action.busy} data-testid="team-save">
            {team ? t("common.save") : t("admin.teams.create")}
          </button>
          <button type="button" class="button button-quiet" onClick={onCancel}>
            {t("common.cancel")}
          </button>
        </div>
      </form>
    </Card>
  );
}
