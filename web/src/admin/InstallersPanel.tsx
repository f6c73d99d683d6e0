/** Installers (UNA-2, UNA-4): tokens that install Jump clients for a company into a Jump group,
 * up to a cap; the token and its commands are shown once, at creation. */

import { useState } from "preact/hooks";
import { api, call, type Installer, type InstallerIssued } from "../api/client";
import { useI18n } from "../i18n";
import { useAction, useLoad } from "../shared/hooks";
import { ListTable, NewButton } from "../shared/crud";
import { formatDateTime } from "../shared/format";
import { Badge, Card, ConfirmButton, CopyButton, ErrorNotice, Field, fieldError, Loading, Notice, SaveCancel } from "../shared/ui";

export function InstallersPanel() {
  const { t, language } = useI18n();
  const installers = useLoad(() => call(api.GET("/api/v1/installers")));
  const groups = useLoad(() => call(api.GET("/api/v1/device-groups")));
  const [creating, setCreating] = useState(false);
  const [issued, setIssued] = useState<InstallerIssued | null>(null);
  const revocation = useAction();

  if (installers.data === null) return installers.error ? <ErrorNotice error={installers.error} /> : <Loading />;
  const groupName = (id: number | null) => (id === null ? "—" : (groups.data?.find((g) => g.id === id)?.name ?? `#${id}`));
  const revoke = (id: number) => {
    void revocation.run(async () => {
      await call(api.POST("/api/v1/installers/{installer_id}/revoke", { params: { path: { installer_id: id } } }));
      installers.reload();
    });
  };

  return (
    <>
      <p class="muted intro">{t("admin.installers.about")}</p>
      {issued && <IssuedCard issued={issued} onClose={() => setIssued(null)} />}
      {creating ? (
        <InstallerForm
          groups={groups.data ?? []}
          onCancel={() => setCreating(false)}
          onDone={(made) => {
            setCreating(false);
            setIssued(made);
            installers.reload();
          }}
        />
      ) : (
        <NewButton label={t("admin.installers.new")} testid="installer-new" onClick={() => setCreating(true)} />
      )}
      <ErrorNotice error={revocation.error} />
      <ListTable
        head={[
          t("admin.installers.company"),
          t("admin.installers.group"),
          t("admin.installers.used"),
          t("admin.installers.expires"),
          t("admin.installers.state"),
          t("admin.installers.created_by"),
        ]}
        testid="installers-table"
        empty={installers.data.length === 0 ? { text: t("admin.installers.none"), testid: "installers-empty" } : null}
      >
        {installers.data.map((item) => (
          <tr key={item.id} data-testid="installer-row">
            <td class="strong">{item.company || "—"}</td>
            <td>{groupName(item.device_group_id)}</td>
            <td data-testid="installer-used">
              {t("admin.installers.used_of", { used: item.used, max: item.max_installations })}
            </td>
            <td class="nowrap">{item.expires_at ? formatDateTime(item.expires_at, language) : t("admin.installers.never")}</td>
            <td data-testid="installer-state">
              <InstallerState installer={item} />
            </td>
            <td>{item.created_by_name || "—"}</td>
            <td class="cell-actions">
              {item.revoked_at === null && (
                <ConfirmButton
                  label={t("admin.installers.revoke")}
                  question={t("admin.installers.revoke_question")}
                  testid="installer-revoke"
                  onConfirm={() => revoke(item.id)}
                />
              )}
            </td>
          </tr>
        ))}
      </ListTable>
    </>
  );
}

function InstallerState({ installer }: { installer: Installer }) {
  const { t } = useI18n();
  if (installer.revoked_at) return <Badge tone="bad">{t("admin.installers.revoked")}</Badge>;
  if (installer.expires_at && new Date(installer.expires_at).getTime() <= Date.now()) {
    return <Badge tone="bad">{t("admin.installers.expired")}</Badge>;
  }
  if (installer.used >= installer.max_installations) return <Badge>{t("admin.installers.full")}</Badge>;
  return <Badge tone="good">{t("admin.installers.active")}</Badge>;
}

function IssuedCard({ issued, onClose }: { issued: InstallerIssued; onClose: () => void }) {
  const { t } = useI18n();
  const rows: [string, string, string][] = [
    [t("admin.installers.install_command"), issued.install_command, "installer-command"],
    [t("admin.installers.silent_command"), issued.silent_command, "installer-silent-command"],
    [t("admin.installers.download"), issued.download_url, "installer-download"],
    [t("admin.installers.token"), issued.token, "installer-token"],
  ];
  return (
    <Card
      title={t("admin.installers.issued_title", { company: issued.installer.company || "—" })}
      testid="installer-issued"
      actions={
        <button type="button" class="button button-quiet" data-testid="installer-issued-close" onClick={onClose}>
          {t("common.close")}
        </button>
      }
    >
      <Notice kind="warning">{t("admin.installers.shown_once")}</Notice>
      {rows.map(([label, text, testid]) => (
        <div class="field" key={testid}>
          <span class="field-label">{label}</span>
          <div class="command-box">
            <code class="command" data-testid={testid}>
              {text}
            </code>
            <CopyButton text={text} testid={`${testid}-copy`} />
          </div>
        </div>
      ))}
      <p class="muted">{t("admin.installers.download_hint")}</p>
    </Card>
  );
}

function InstallerForm({
  groups,
  onDone,
  onCancel,
}: {
  groups: { id: number; name: string }[];
  onDone: (issued: InstallerIssued) => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const [company, setCompany] = useState("");
  const [group, setGroup] = useState("");
  const [max, setMax] = useState("500");
  const [expiry, setExpiry] = useState("");
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const made = await call(
        api.POST("/api/v1/installers", {
          body: {
            company: company.trim(),
            device_group_id: group ? Number(group) : null,
            max_installations: Number(max),
            // The browser's local time, sent with its offset.
            expires_at: expiry ? new Date(expiry).toISOString() : null,
          },
        }),
      );
      onDone(made);
    });
  };
  return (
    <Card title={t("admin.installers.new")}>
      <form onSubmit={submit} data-testid="installer-form">
        <Field label={t("admin.installers.company")} error={fieldError(t, action.error, "company")}>
          <input value={company} maxLength={200} data-testid="installer-company" onInput={(e) => setCompany(e.currentTarget.value)} />
        </Field>
        <Field label={t("admin.installers.group")} hint={t("admin.installers.group_hint")}>
          <select value={group} data-testid="installer-group" onChange={(e) => setGroup(e.currentTarget.value)}>
            <option value="">{t("admin.installers.no_group")}</option>
            {groups.map((g) => (
              <option key={g.id} value={String(g.id)}>
                {g.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("admin.installers.max")} error={fieldError(t, action.error, "max_installations")}>
          <input type="number" value={max} data-testid="installer-max" onInput={(e) => setMax(e.currentTarget.value)} />
        </Field>
        <Field label={t("admin.installers.expiry")} hint={t("admin.installers.expiry_hint")} error={fieldError(t, action.error, "expires_at")}>
          <input type="datetime-local" value={expiry} data-testid="installer-expiry" onInput={(e) => setExpiry(e.currentTarget.value)} />
        </Field>
        <ErrorNotice error={action.error} shown={["company", "max_installations", "expires_at"]} />
        <SaveCancel label={t("admin.installers.create")} testid="installer-save" busy={action.busy} onCancel={onCancel} />
      </form>
    </Card>
  );
}
