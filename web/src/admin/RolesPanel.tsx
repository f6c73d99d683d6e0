/** Roles: the built-in ones and custom roles made of permissions (and allowed paths on devices). */

import { useState } from "preact/hooks";
import { api, call, send, type Permission, type Role } from "../api/client";
import { isMessageKey, useI18n, type Translate } from "../i18n";
import { lines } from "../shared/format";
import { useAction, useLoad } from "../shared/hooks";
import { EditDelete, ListTable, NameDescriptionFields, NewButton } from "../shared/crud";
import { Badge, Card, Checkbox, ErrorNotice, Field, fieldError, Loading, SaveCancel } from "../shared/ui";
import { roleDescription, roleName } from "../shared/roles";

async function load(): Promise<{ roles: Role[]; permissions: Permission[] }> {
  const [roles, permissions] = await Promise.all([
    call(api.GET("/api/v1/roles")),
    call(api.GET("/api/v1/permissions")),
  ]);
  return { roles, permissions };
}

/** Our translation of a permission, or the server's label for one we do not know. */
function permissionLabel(t: Translate, permission: Permission): string {
  const key = `permission.${permission.key}`;
  return isMessageKey(key) ? t(key) : permission.label;
}

export function RolesPanel() {
  const { t } = useI18n();
  const data = useLoad(load);
  const [editing, setEditing] = useState<number | "new" | null>(null);
  const removal = useAction();

  if (data.data === null) return data.error ? <ErrorNotice error={data.error} /> : <Loading />;
  const { roles, permissions } = data.data;
  const role = typeof editing === "number" ? roles.find((item) => item.id === editing) : undefined;
  const byKey = new Map(permissions.map((permission) => [permission.key, permission]));
  const label = (key: string) => {
    const permission = byKey.get(key);
    return permission ? permissionLabel(t, permission) : key;
  };
  const remove = (id: number) => {
    void removal.run(async () => {
      await send(api.DELETE("/api/v1/roles/{role_id}", { params: { path: { role_id: id } } }));
      if (editing === id) setEditing(null);
      data.reload();
    });
  };

  return (
    <>
      {editing === null ? (
        <NewButton label={t("admin.roles.new")} testid="role-new" onClick={() => setEditing("new")} />
      ) : (
        <RoleForm
          key={String(editing)}
          role={role ?? null}
          permissions={permissions}
          onCancel={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            data.reload();
          }}
        />
      )}
      <ErrorNotice error={removal.error} testid="role-error" />
      <ListTable head={[t("common.name"), t("admin.roles.permissions"), t("admin.roles.assignments")]} testid="roles-table">
        {roles.map((item) => (
          <tr key={item.id} data-testid="role-row">
            <td>
              <div class="strong">
                {roleName(item.name, t)} {item.builtin && <Badge tone="accent">{t("admin.roles.builtin")}</Badge>}
              </div>
              <div class="muted small">{roleDescription(item.description, t)}</div>
            </td>
            <td>
              <span class="tags">
                {item.permissions.map((key) => (
                  <span key={key} class="tag">
                    {label(key)}
                  </span>
                ))}
              </span>
              {item.allowed_paths.length > 0 && (
                <div class="muted small">{t("admin.roles.paths_list", { paths: item.allowed_paths.join(", ") })}</div>
              )}
            </td>
            <td>{item.assignment_count}</td>
            <td class="cell-actions">
              {!item.builtin && (
                <EditDelete
                  testid="role"
                  question={t("admin.roles.delete_question", { name: item.name })}
                  onEdit={() => setEditing(item.id)}
                  onDelete={() => remove(item.id)}
                />
              )}
            </td>
          </tr>
        ))}
      </ListTable>
    </>
  );
}

function RoleForm({
  role,
  permissions,
  onDone,
  onCancel,
}: {
  role: Role | null;
  permissions: Permission[];
  onDone: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const [name, setName] = useState(role?.name ?? "");
  const [description, setDescription] = useState(role?.description ?? "");
  const [chosen, setChosen] = useState<string[]>(role?.permissions ?? []);
  const [paths, setPaths] = useState((role?.allowed_paths ?? []).join("\n"));
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const body = {
      name: name.trim(),
      description: description.trim(),
      permissions: chosen,
      allowed_paths: lines(paths),
    };
    void action.run(async () => {
      if (role) {
        await call(api.PATCH("/api/v1/roles/{role_id}", { params: { path: { role_id: role.id } }, body }));
      } else {
        await call(api.POST("/api/v1/roles", { body }));
      }
      onDone();
    });
  };
  return (
    <Card title={role ? t("admin.roles.edit_title", { name: role.name }) : t("admin.roles.new")}>
      <form onSubmit={submit} data-testid="role-form">
        <NameDescriptionFields
          testid="role"
          name={name}
          description={description}
          nameError={fieldError(t, action.error, "name")}
          onName={setName}
          onDescription={setDescription}
        />
        <fieldset class="checkbox-fieldset">
          <legend>{t("admin.roles.permissions")}</legend>
          <div class="checkbox-list checkbox-columns">
            {permissions.map((permission) => (
              <Checkbox
                key={permission.key}
                label={permissionLabel(t, permission)}
                checked={chosen.includes(permission.key)}
                testid={`permission-${permission.key}`}
                onChange={(on) =>
                  setChosen(on ? [...chosen, permission.key] : chosen.filter((key) => key !== permission.key))
                }
              />
            ))}
          </div>
        </fieldset>
        <Field
          label={t("admin.roles.allowed_paths")}
          hint={t("admin.roles.allowed_paths_hint")}
          error={fieldError(t, action.error, "allowed_paths")}
        >
          <textarea rows={3} value={paths} data-testid="role-paths" onInput={(event) => setPaths(event.currentTarget.value)} />
        </Field>
        <ErrorNotice error={action.error} shown={["name", "allowed_paths"]} />
        <SaveCancel
          label={role ? t("common.save") : t("admin.roles.create")}
          testid="role-save"
          busy={action.busy}
          onCancel={onCancel}
        />
      </form>
    </Card>
  );
}
