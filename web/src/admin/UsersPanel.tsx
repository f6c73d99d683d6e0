/** Users: create, edit, deactivate, delete; their roles (with scope) and teams. */

import type { TargetedEvent } from "preact";
import { useState } from "preact/hooks";
import {
  api,
  call,
  send,
  type DeviceGroup,
  type Role,
  type Team,
  type User,
  type UserCreate,
} from "../api/client";
import { LANGUAGES, useI18n, type Language } from "../i18n";
import { initials } from "../shared/AppShell";
import { NewButton } from "../shared/crud";
import { useAction, useLoad } from "../shared/hooks";
import { useMe } from "../shared/session";
import {
  Badge,
  Card,
  Checkbox,
  ConfirmButton,
  CopyButton,
  ErrorNotice,
  Field,
  fieldError,
  Loading,
  Notice,
  SaveCancel,
} from "../shared/ui";
import { MAX_PICTURE_BYTES, readPicture, scopeGroupNames, teamChanges } from "./users";
import { roleName } from "../shared/roles";

type Directory = { users: User[]; roles: Role[]; teams: Team[]; groups: DeviceGroup[] };

async function loadDirectory(): Promise<Directory> {
  const [users, roles, teams, groups] = await Promise.all([
    call(api.GET("/api/v1/users")),
    call(api.GET("/api/v1/roles")),
    call(api.GET("/api/v1/teams")),
    call(api.GET("/api/v1/device-groups")),
  ]);
  return { users, roles, teams, groups };
}

export function UsersPanel() {
  const { t } = useI18n();
  const directory = useLoad(loadDirectory);
  const [creating, setCreating] = useState(false);
  const [selected, setSelected] = useState<number | null>(null);
  const [created, setCreated] = useState<{ name: string; password: string } | null>(null);

  if (directory.data === null) {
    return directory.error ? <ErrorNotice error={directory.error} /> : <Loading />;
  }
  const { users } = directory.data;
  const editing = users.find((user) => user.id === selected) ?? null;

  return (
    <>
      <ErrorNotice error={directory.error} />
      {created && (
        <Notice kind="success" testid="user-created">
          <p>{t("admin.users.created", { name: created.name })}</p>
          <div class="secret-row">
            <code class="secret" data-testid="initial-password">
              {created.password}
            </code>
            <CopyButton text={created.password} testid="initial-password-copy" />
          </div>
          <p class="muted">{t("admin.users.initial_password_once")}</p>
        </Notice>
      )}
      {creating ? (
        <CreateUserForm
          onCancel={() => setCreating(false)}
          onCreated={(user, password) => {
            setCreating(false);
            setCreated(password ? { name: user.name, password } : null);
            setSelected(user.id);
            directory.reload();
          }}
        />
      ) : (
        <NewButton
          label={t("admin.users.new")}
          testid="user-new"
          onClick={() => {
            setCreated(null);
            setCreating(true);
          }}
        />
      )}
      {editing && (
        <UserEditor
          key={editing.id}
          user={editing}
          directory={directory.data}
          onChanged={directory.reload}
          onClose={() => setSelected(null)}
        />
      )}
      <Card>
        <table class="table" data-testid="users-table">
          <thead>
            <tr>
              <th>{t("admin.users.name")}</th>
              <th>{t("admin.users.email")}</th>
              <th>{t("admin.users.roles")}</th>
              <th>{t("admin.users.status")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.map((user) => (
              <tr key={user.id} data-testid="user-row" class={user.id === selected ? "row-selected" : undefined}>
                <td>
                  <div class="person">
                    <Avatar name={user.name} picture={user.picture} />
                    <div>
                      <div class="person-name">{user.name}</div>
                      <div class="muted small">{[user.title, user.company].filter(Boolean).join(" · ")}</div>
                    </div>
                  </div>
                </td>
                <td>{user.email}</td>
                <td>{user.role_assignments.map((assignment) => roleName(assignment.role_name, t)).join(", ") || "—"}</td>
                <td>
                  <span class="badges">
                    {user.is_active ? (
                      <Badge tone="good">{t("admin.users.active")}</Badge>
                    ) : (
                      <Badge tone="bad">{t("admin.users.inactive")}</Badge>
                    )}
                    {user.totp_enabled && <Badge>{t("admin.users.totp")}</Badge>}
                  </span>
                </td>
                <td class="cell-actions">
                  <button
                    type="button"
                    class="button button-secondary"
                    data-testid="user-edit"
                    onClick={() => setSelected(user.id)}
                  >
                    {t("common.edit")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}

function Avatar({ name, picture }: { name: string; picture: string | null }) {
  return picture ? (
    <img class="avatar" src={picture} alt="" />
  ) : (
    <span class="avatar avatar-initials" aria-hidden="true">
      {initials(name)}
    </span>
  );
}

type Profile = {
  name: string;
  email: string;
  title: string;
  company: string;
  verified_domain: string;
  language: Language;
  picture: string | null;
};

function ProfileFields({
  profile,
  onChange,
  error,
  withEmail,
}: {
  profile: Profile;
  onChange: (profile: Profile) => void;
  error: unknown;
  withEmail: boolean;
}) {
  const { t } = useI18n();
  const [pictureProblem, setPictureProblem] = useState<string | null>(null);
  const text = (key: "name" | "email" | "title" | "company" | "verified_domain") => ({
    value: profile[key],
    onInput: (event: TargetedEvent<HTMLInputElement>) =>
      onChange({ ...profile, [key]: event.currentTarget.value }),
  });
  const choosePicture = (event: TargetedEvent<HTMLInputElement>) => {
    const file = event.currentTarget.files?.[0];
    setPictureProblem(null);
    if (!file) return;
    if (!file.type.startsWith("image/")) {
      setPictureProblem(t("admin.users.picture_not_image"));
      return;
    }
    if (file.size > MAX_PICTURE_BYTES) {
      setPictureProblem(t("admin.users.picture_too_large"));
      return;
    }
    readPicture(file).then(
      (url) => onChange({ ...profile, picture: url }),
      () => setPictureProblem(t("admin.users.picture_unreadable")),
    );
  };
  return (
    <div class="form-grid">
      <Field label={t("admin.users.name")} error={fieldError(t, error, "name")}>
        <input required maxLength={200} data-testid="user-name" {...text("name")} />
      </Field>
      {withEmail && (
        <Field label={t("admin.users.email")} error={fieldError(t, error, "email")}>
          <input type="email" required maxLength={320} data-testid="user-email" {...text("email")} />
        </Field>
      )}
      <Field label={t("admin.users.title")} error={fieldError(t, error, "title")}>
        <input maxLength={200} data-testid="user-title" {...text("title")} />
      </Field>
      <Field label={t("admin.users.company")} error={fieldError(t, error, "company")}>
        <input maxLength={200} data-testid="user-company" {...text("company")} />
      </Field>
      <Field
        label={t("admin.users.verified_domain")}
        hint={t("admin.users.verified_domain_hint")}
        error={fieldError(t, error, "verified_domain")}
      >
        <input maxLength={200} placeholder="example.com" data-testid="user-domain" {...text("verified_domain")} />
      </Field>
      <Field label={t("admin.users.language")}>
        <select
          value={profile.language}
          data-testid="user-language"
          onChange={(event) => onChange({ ...profile, language: event.currentTarget.value as Language })}
        >
          {LANGUAGES.map((code) => (
            <option key={code} value={code}>
              {t(`language.${code}`)}
            </option>
          ))}
        </select>
      </Field>
      <Field
        label={t("admin.users.picture")}
        hint={t("admin.users.picture_hint")}
        error={pictureProblem ?? fieldError(t, error, "picture")}
      >
        <div class="picture-field">
          <Avatar name={profile.name || "?"} picture={profile.picture} />
          <input type="file" accept="image/*" data-testid="user-picture" onChange={choosePicture} />
          {profile.picture && (
            <button type="button" class="button button-quiet" onClick={() => onChange({ ...profile, picture: null })}>
              {t("admin.users.picture_remove")}
            </button>
          )}
        </div>
      </Field>
    </div>
  );
}

function profileOf(user: User): Profile {
  const { name, email, title, company, verified_domain, language, picture } = user;
  return { name, email, title, company, verified_domain, language, picture };
}

const PROFILE_FIELDS = ["name", "email", "title", "company", "verified_domain", "picture"];

const EMPTY_PROFILE: Profile = {
  name: "",
  email: "",
  title: "",
  company: "",
  verified_domain: "",
  language: "en",
  picture: null,
};

function CreateUserForm({
  onCreated,
  onCancel,
}: {
  onCreated: (user: User, initialPassword: string | null) => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const [profile, setProfile] = useState<Profile>(EMPTY_PROFILE);
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const body: UserCreate = {
        name: profile.name.trim(),
        email: profile.email.trim(),
        title: profile.title.trim(),
        company: profile.company.trim(),
        verified_domain: profile.verified_domain.trim(),
        language: profile.language,
        picture: profile.picture,
      };
      const created = await call(api.POST("/api/v1/users", { body }));
      onCreated(created.user, created.initial_password);
    });
  };
  return (
    <Card title={t("admin.users.new")} testid="user-create">
      <form onSubmit={submit} data-testid="user-create-form">
        <p class="muted">{t("admin.users.new_about")}</p>
        <ProfileFields profile={profile} onChange={setProfile} error={action.error} withEmail />
        <ErrorNotice error={action.error} shown={PROFILE_FIELDS} />
        <SaveCancel label={t("admin.users.create")} testid="user-create-submit" busy={action.busy} onCancel={onCancel} />
      </form>
    </Card>
  );
}

function UserEditor({
  user,
  directory,
  onChanged,
  onClose,
}: {
  user: User;
  directory: Directory;
  onChanged: () => void;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const me = useMe();
  const [profile, setProfile] = useState<Profile>(() => profileOf(user));
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const danger = useAction();

  const save = (event: Event) => {
    event.preventDefault();
    setSaved(false);
    void action.run(async () => {
      await call(
        api.PATCH("/api/v1/users/{user_id}", {
          params: { path: { user_id: user.id } },
          body: {
            name: profile.name.trim(),
            title: profile.title.trim(),
            company: profile.company.trim(),
            verified_domain: profile.verified_domain.trim(),
            language: profile.language,
            picture: profile.picture,
          },
        }),
      );
      setSaved(true);
      onChanged();
    });
  };
  const setActive = (active: boolean) => {
    void danger.run(async () => {
      await call(
        api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: user.id } }, body: { is_active: active } }),
      );
      onChanged();
    });
  };
  const remove = () => {
    void danger.run(async () => {
      await send(api.DELETE("/api/v1/users/{user_id}", { params: { path: { user_id: user.id } } }));
      onClose();
      onChanged();
    });
  };
  const [resetPassword, setResetPassword] = useState<string | null>(null);
  const reset = () => {
    void danger.run(async () => {
      const answer = await call(
        api.POST("/api/v1/users/{user_id}/password-reset", { params: { path: { user_id: user.id } } }),
      );
      setResetPassword(answer.initial_password);
    });
  };

  return (
    <Card
      title={t("admin.users.edit_title", { name: user.name })}
      testid="user-editor"
      actions={
        <button type="button" class="button button-quiet" data-testid="user-editor-close" onClick={onClose}>
          {t("common.close")}
        </button>
      }
    >
      <form onSubmit={save} data-testid="user-edit-form">
        <p class="muted">{user.email}</p>
        <ProfileFields profile={profile} onChange={setProfile} error={action.error} withEmail={false} />
        <ErrorNotice error={action.error} shown={PROFILE_FIELDS} />
        {saved && <Notice kind="success">{t("common.saved")}</Notice>}
        <div class="form-actions">
          <button type="submit" class="button button-primary" disabled={action.busy} data-testid="user-save">
            {t("common.save")}
          </button>
        </div>
      </form>
      <RoleAssignments user={user} directory={directory} onChanged={onChanged} />
      <TeamMembership user={user} teams={directory.teams} onChanged={onChanged} />
      <div class="subsection danger-zone">
        <h3>{t("admin.users.account_state")}</h3>
        <ErrorNotice error={danger.error} />
        {resetPassword && (
          <Notice kind="success" testid="user-password-reset">
            <p>{t("admin.users.password_reset_done", { name: user.name })}</p>
            <div class="secret-row">
              <code class="secret" data-testid="reset-password">
                {resetPassword}
              </code>
              <CopyButton text={resetPassword} testid="reset-password-copy" />
            </div>
            <p class="muted">{t("admin.users.initial_password_once")}</p>
          </Notice>
        )}
        <div class="form-actions">
          {user.is_active ? (
            <button
              type="button"
              class="button button-secondary"
              disabled={danger.busy || user.id === me.id}
              data-testid="user-deactivate"
              onClick={() => setActive(false)}
            >
              {t("admin.users.deactivate")}
            </button>
          ) : (
            <button
              type="button"
              class="button button-secondary"
              disabled={danger.busy}
              data-testid="user-reactivate"
              onClick={() => setActive(true)}
            >
              {t("admin.users.reactivate")}
            </button>
          )}
          <ConfirmButton
            label={t("admin.users.reset_password")}
            question={t("admin.users.reset_password_question", { name: user.name })}
            testid="user-password-reset-button"
            disabled={danger.busy || user.id === me.id}
            onConfirm={reset}
          />
          <ConfirmButton
            label={t("admin.users.delete")}
            question={t("admin.users.delete_question", { name: user.name })}
            testid="user-delete"
            disabled={danger.busy || user.id === me.id}
            onConfirm={remove}
          />
        </div>
      </div>
    </Card>
  );
}

function RoleAssignments({ user, directory, onChanged }: { user: User; directory: Directory; onChanged: () => void }) {
  const { t } = useI18n();
  const [roleId, setRoleId] = useState("");
  const [scope, setScope] = useState<"all" | "groups">("all");
  const [groupIds, setGroupIds] = useState<number[]>([]);
  const action = useAction();

  const assign = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      await call(
        api.POST("/api/v1/users/{user_id}/role-assignments", {
          params: { path: { user_id: user.id } },
          body: { role_id: Number(roleId), scope, device_group_ids: scope === "groups" ? groupIds : [] },
        }),
      );
      setRoleId("");
      setScope("all");
      setGroupIds([]);
      onChanged();
    });
  };
  const unassign = (assignmentId: number) => {
    void action.run(async () => {
      await send(
        api.DELETE("/api/v1/users/{user_id}/role-assignments/{assignment_id}", {
          params: { path: { user_id: user.id, assignment_id: assignmentId } },
        }),
      );
      onChanged();
    });
  };

  return (
    <div class="subsection" data-testid="role-assignments">
      <h3>{t("admin.users.roles")}</h3>
      {user.role_assignments.length === 0 ? (
        <p class="muted">{t("admin.users.no_roles")}</p>
      ) : (
        <ul class="list">
          {user.role_assignments.map((assignment) => (
            <li key={assignment.id} class="list-item" data-testid="role-assignment">
              <span>
                <strong>{assignment.role_name}</strong>{" "}
                <span class="muted">
                  {assignment.scope === "all"
                    ? t("admin.users.scope_all")
                    : t("admin.users.scope_groups_list", {
                        groups: scopeGroupNames(assignment, directory.groups).join(", "),
                      })}
                </span>
              </span>
              <button
                type="button"
                class="button button-danger-quiet"
                disabled={action.busy}
                data-testid="role-unassign"
                onClick={() => unassign(assignment.id)}
              >
                {t("admin.users.unassign")}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="assign-form" onSubmit={assign} data-testid="assign-role-form">
        <Field label={t("admin.users.role")}>
          <select
            required
            value={roleId}
            data-testid="assignment-role"
            onChange={(event) => setRoleId(event.currentTarget.value)}
          >
            <option value="">{t("admin.users.choose_role")}</option>
            {directory.roles.map((role) => (
              <option key={role.id} value={String(role.id)}>
                {role.name}
              </option>
            ))}
          </select>
        </Field>
        <fieldset class="radio-group">
          <legend>{t("admin.users.scope")}</legend>
          <label class="checkbox">
            <input
              type="radio"
              name={`scope-${user.id}`}
              checked={scope === "all"}
              data-testid="assignment-scope-all"
              onChange={() => setScope("all")}
            />
            <span>{t("admin.users.scope_all")}</span>
          </label>
          <label class="checkbox">
            <input
              type="radio"
              name={`scope-${user.id}`}
              checked={scope === "groups"}
              data-testid="assignment-scope-groups"
              onChange={() => setScope("groups")}
            />
            <span>{t("admin.users.scope_groups")}</span>
          </label>
        </fieldset>
        {scope === "groups" &&
          (directory.groups.length === 0 ? (
            <p class="muted">{t("admin.users.no_groups")}</p>
          ) : (
            <div class="checkbox-list">
              {directory.groups.map((group) => (
                <Checkbox
                  key={group.id}
                  label={group.name}
                  checked={groupIds.includes(group.id)}
                  onChange={(on) =>
                    setGroupIds(on ? [...groupIds, group.id] : groupIds.filter((id) => id !== group.id))
                  }
                />
              ))}
            </div>
          ))}
        <ErrorNotice error={action.error} />
        <div class="form-actions">
          <button type="submit" class="button button-secondary" disabled={action.busy || !roleId} data-testid="assign-role">
            {t("admin.users.assign")}
          </button>
        </div>
      </form>
    </div>
  );
}

function TeamMembership({ user, teams, onChanged }: { user: User; teams: Team[]; onChanged: () => void }) {
  const { t } = useI18n();
  const [wanted, setWanted] = useState<Set<number>>(() => new Set(user.team_ids));
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const changes = teamChanges(teams, user.id, wanted);
  const save = () => {
    setSaved(false);
    void action.run(async () => {
      for (const change of changes) {
        await call(
          api.PATCH("/api/v1/teams/{team_id}", {
            params: { path: { team_id: change.id } },
            body: { member_ids: change.member_ids },
          }),
        );
      }
      setSaved(true);
      onChanged();
    });
  };
  return (
    <div class="subsection" data-testid="team-membership">
      <h3>{t("admin.users.teams")}</h3>
      {teams.length === 0 ? (
        <p class="muted">{t("admin.users.no_teams")}</p>
      ) : (
        <>
          <div class="checkbox-list">
            {teams.map((team) => (
              <Checkbox
                key={team.id}
                label={team.name}
                checked={wanted.has(team.id)}
                testid={`user-team-${team.id}`}
                onChange={(on) => {
                  const next = new Set(wanted);
                  if (on) next.add(team.id);
                  else next.delete(team.id);
                  setWanted(next);
                  setSaved(false);
                }}
              />
            ))}
          </div>
          <ErrorNotice error={action.error} />
          {saved && <Notice kind="success">{t("common.saved")}</Notice>}
          <div class="form-actions">
            <button
              type="button"
              class="button button-secondary"
              disabled={action.busy || changes.length === 0}
              data-testid="user-teams-save"
              onClick={save}
            >
              {t("admin.users.save_teams")}
            </button>
          </div>
        </>
      )}
    </div>
  );
}
