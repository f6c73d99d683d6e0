/** Device groups: the sets of devices that role assignments can be limited to. */

import { useState } from "preact/hooks";
import { api, call, send, type DeviceGroup } from "../api/client";
import { useI18n } from "../i18n";
import { useAction, useLoad } from "../shared/hooks";
import { EditDelete, ListTable, NameDescriptionFields, NewButton } from "../shared/crud";
import { Card, ErrorNotice, fieldError, Loading, SaveCancel } from "../shared/ui";

export function DeviceGroupsPanel() {
  const { t } = useI18n();
  const groups = useLoad(() => call(api.GET("/api/v1/device-groups")));
  const [editing, setEditing] = useState<number | "new" | null>(null);
  const removal = useAction();

  if (groups.data === null) return groups.error ? <ErrorNotice error={groups.error} /> : <Loading />;
  const group = typeof editing === "number" ? groups.data.find((item) => item.id === editing) : undefined;
  const remove = (id: number) => {
    void removal.run(async () => {
      await send(api.DELETE("/api/v1/device-groups/{group_id}", { params: { path: { group_id: id } } }));
      if (editing === id) setEditing(null);
      groups.reload();
    });
  };

  return (
    <>
      <p class="muted intro">{t("admin.device_groups.about")}</p>
      {editing === null ? (
        <NewButton label={t("admin.device_groups.new")} testid="group-new" onClick={() => setEditing("new")} />
      ) : (
        <GroupForm
          key={String(editing)}
          group={group ?? null}
          onCancel={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            groups.reload();
          }}
        />
      )}
      <ErrorNotice error={removal.error} />
      <ListTable
        head={[t("common.name"), t("common.description")]}
        testid="groups-table"
        empty={groups.data.length === 0 ? { text: t("admin.device_groups.none"), testid: "groups-empty" } : null}
      >
        {groups.data.map((item) => (
          <tr key={item.id} data-testid="group-row">
            <td class="strong">{item.name}</td>
            <td>{item.description || "—"}</td>
            <td class="cell-actions">
              <EditDelete
                testid="group"
                question={t("admin.device_groups.delete_question", { name: item.name })}
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

function GroupForm({ group, onDone, onCancel }: { group: DeviceGroup | null; onDone: () => void; onCancel: () => void }) {
  const { t } = useI18n();
  const [name, setName] = useState(group?.name ?? "");
  const [description, setDescription] = useState(group?.description ?? "");
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const body = { name: name.trim(), description: description.trim() };
    void action.run(async () => {
      if (group) {
        await call(api.PATCH("/api/v1/device-groups/{group_id}", { params: { path: { group_id: group.id } }, body }));
      } else {
        await call(api.POST("/api/v1/device-groups", { body }));
      }
      onDone();
    });
  };
  return (
    <Card title={group ? t("admin.device_groups.edit_title", { name: group.name }) : t("admin.device_groups.new")}>
      <form onSubmit={submit} data-testid="group-form">
        <NameDescriptionFields
          testid="group"
          name={name}
          description={description}
          nameError={fieldError(t, action.error, "name")}
          onName={setName}
          onDescription={setDescription}
        />
        <ErrorNotice error={action.error} shown={["name"]} />
        <SaveCancel
          label={group ? t("common.save") : t("admin.device_groups.create")}
          testid="group-save"
          busy={action.busy}
          onCancel={onCancel}
        />
      </form>
    </Card>
  );
}
