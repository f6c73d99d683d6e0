/** The pieces of the admin lists that create, edit and delete things (teams, issue types, device
 * groups, roles, users): one way to show the "new" button, the list and a row's actions (the form's buttons:
 * `SaveCancel` in ui.tsx), and the name and description every such item has. */

import type { ComponentChildren } from "preact";
import { useI18n } from "../i18n";
import { Card, ConfirmButton, Field } from "./ui";

/** The toolbar with the button that opens the form for a new item. */
export function NewButton({ label, testid, onClick }: { label: string; testid: string; onClick: () => void }) {
  return (
    <div class="toolbar">
      <button type="button" class="button button-primary" data-testid={testid} onClick={onClick}>
        {label}
      </button>
    </div>
  );
}

/** A card with the list's table, or the sentence that says there is nothing yet. `head`: the
 * column titles (the actions column is added); `children`: the rows. */
export function ListTable({
  head,
  testid,
  empty,
  children,
}: {
  head: string[];
  testid: string;
  empty?: { text: string; testid: string } | null;
  children: ComponentChildren;
}) {
  return (
    <Card>
      {empty ? (
        <p class="muted" data-testid={empty.testid}>
          {empty.text}
        </p>
      ) : (
        <table class="table" data-testid={testid}>
          <thead>
            <tr>
              {head.map((title) => (
                <th key={title}>{title}</th>
              ))}
              <th />
            </tr>
          </thead>
          <tbody>{children}</tbody>
        </table>
      )}
    </Card>
  );
}

/** A row's Edit button and its Delete button that asks once more. `testid`: the buttons are
 * `${testid}-edit` and `${testid}-delete`. */
export function EditDelete({
  testid,
  question,
  onEdit,
  onDelete,
}: {
  testid: string;
  question: string;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const { t } = useI18n();
  return (
    <>
      <button type="button" class="button button-secondary" data-testid={`${testid}-edit`} onClick={onEdit}>
        {t("common.edit")}
      </button>
      <ConfirmButton label={t("common.delete")} question={question} testid={`${testid}-delete`} onConfirm={onDelete} />
    </>
  );
}

/** The name and description inputs of a form (`${testid}-name`, `${testid}-description`), in the
 * form's grid. `nameError`: the server's message about the name, if any. */
export function NameDescriptionFields({
  testid,
  name,
  description,
  nameError,
  onName,
  onDescription,
}: {
  testid: string;
  name: string;
  description: string;
  nameError: string | null;
  onName: (value: string) => void;
  onDescription: (value: string) => void;
}) {
  const { t } = useI18n();
  return (
    <div class="form-grid">
      <Field label={t("common.name")} error={nameError}>
        <input required maxLength={200} value={name} data-testid={`${testid}-name`} onInput={(event) => onName(event.currentTarget.value)} />
      </Field>
      <Field label={t("common.description")}>
        <input
          maxLength={2000}
          value={description}
          data-testid={`${testid}-description`}
          onInput={(event) => onDescription(event.currentTarget.value)}
        />
      </Field>
    </div>
  );
}
