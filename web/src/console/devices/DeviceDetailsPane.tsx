/** One device of the list: online since / last seen, agent version, addresses, inventory,
 * sessions history; rename, comments, tags, move to another Jump group, refresh the inventory,
 * delete (which uninstalls an installed agent). The actions bar holds DeviceActions (Jump to,
 * part C's) before the list's own buttons. */

import { useEffect, useRef, useState } from "preact/hooks";
import { api, call, type SupportSession } from "../../api/client";
import { ApiError } from "../../api/errors";
import { useI18n } from "../../i18n";
import { formatDateTime } from "../../shared/format";
import { useAction } from "../../shared/hooks";
import { formatBytes, formatNumber } from "../../shared/text";
import { Badge, Card, ConfirmButton, DetailsList, ErrorNotice, Field, fieldError, Loading, Notice } from "../../shared/ui";
import { DeviceActions } from "./DeviceActions";
import { deviceName, parseTags, type DeviceDetails, type DeviceSummary } from "./deviceList";
import { KIND_LABELS, OnlineDot } from "./DevicesView";

type Group = { id: number; name: string };

export function DeviceDetailsPane({
  deviceId,
  groups,
  stale,
  onChanged,
  onGone,
}: {
  deviceId: number;
  groups: Group[];
  /** Bumped when the server said something changed: the device is read again. */
  stale: number;
  onChanged: (device: DeviceSummary) => void;
  onGone: (id: number) => void;
}) {
  const { t } = useI18n();
  const [device, setDevice] = useState<DeviceDetails | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [sessions, setSessions] = useState<SupportSession[] | null>(null);
  const [openedAt] = useState(stale);
  // The parent's callbacks as they are now, without reading the device again when they change.
  const told = useRef({ onChanged, onGone });
  told.current = { onChanged, onGone };

  useEffect(() => {
    // Opened: a use (frequently used list); read again after a change: not one.
    const params = { path: { device_id: deviceId }, query: { count_use: stale === openedAt } };
    call(api.GET("/api/v1/devices/{device_id}", { params })).then(
      (found) => {
        setDevice(found);
        setError(null);
        told.current.onChanged(found);
      },
      (failure: unknown) => {
        if (failure instanceof ApiError && failure.status === 404) told.current.onGone(deviceId);
        else setError(failure);
      },
    );
  }, [deviceId, stale, openedAt]);

  useEffect(() => {
    call(api.GET("/api/v1/devices/{device_id}/sessions", { params: { path: { device_id: deviceId } } })).then(
      (history) => setSessions(history.sessions),
      () => setSessions([]),
    );
  }, [deviceId]);

  const changed = (next: DeviceDetails) => {
    setDevice(next);
    onChanged(next);
  };

  if (!device) {
    return <Card testid="device-details">{error ? <ErrorNotice error={error} /> : <Loading />}</Card>;
  }
  return (
    <Card testid="device-details">
      <header class="details-header">
        <div>
          <h2 dir="auto" data-testid="device-title">
            {deviceName(device)}
          </h2>
          {device.nickname && <span class="muted">{device.hostname}</span>}
        </div>
        <span class="device-state" data-testid="device-state" data-online={device.online ? "true" : "false"}>
          <OnlineDot online={device.online} />
          {device.online ? t("devices.online") : t("devices.offline")}
        </span>
      </header>
      <div class="device-actions" data-testid="device-actions">
        <DeviceActions device={device} />
      </div>
      <Facts device={device} />
      <Inventory device={device} />
      <EditForm key={device.id} device={device} onChanged={changed} />
      <MoveForm device={device} groups={groups} onChanged={changed} />
      <Sessions sessions={sessions} />
      <DeleteDevice device={device} onGone={onGone} />
    </Card>
  );
}

function Facts({ device }: { device: DeviceDetails }) {
  const { t, language } = useI18n();
  const rows: [string, string, string][] = [
    [t("devices.kind"), t(KIND_LABELS[device.kind]), "device-kind"],
    [t("devices.company"), device.company || "—", "device-company"],
    [t("devices.group"), device.device_group_name ?? t("devices.no_group"), "device-group"],
    [
      device.online ? t("devices.online_since") : t("devices.last_seen"),
      formatDateTime(device.online ? device.online_since : device.last_seen_at, language) || "—",
      device.online ? "device-online-since" : "device-last-seen",
    ],
    [t("devices.agent_version"), device.agent_version || "—", "device-agent-version"],
    [t("devices.os"), osLine(device), "device-os"],
    [t("devices.public_ip"), device.public_ip || "—", "device-public-ip"],
    [t("devices.private_ips"), device.private_ips.join(", ") || "—", "device-private-ips"],
    [t("devices.enrolled"), formatDateTime(device.enrolled_at, language), "device-enrolled"],
  ];
  return <DetailsList rows={rows} columns />;
}

/** "Debian GNU/Linux 12 (bookworm)", without the version a second time when the name has it. */
function osLine(device: DeviceDetails): string {
  if (!device.os_version || device.os.includes(device.os_version)) return device.os || "—";
  return `${device.os} ${device.os_version}`;
}

type Inventory = {
  os?: { name?: string; version?: string; architecture?: string };
  cpu?: { model?: string; physical_cores?: number | null; logical_cores?: number | null };
  memory?: { total_bytes?: number | null };
  disks?: { mountpoint?: string; filesystem?: string; total_bytes?: number | null; free_bytes?: number | null }[];
};

function Inventory({ device }: { device: DeviceDetails }) {
  const { t, language } = useI18n();
  const action = useAction();
  const [asked, setAsked] = useState<string | null>(null);
  const inventory = (device.inventory ?? null) as Inventory | null;
  // Asked and not yet arrived: the page says so until the inventory's time changes.
  const waiting = asked !== null && asked === (device.inventory_at ?? "");
  const refresh = () =>
    void action.run(async () => {
      await call(
        api.POST("/api/v1/devices/{device_id}/inventory", { params: { path: { device_id: device.id } } }),
      );
      setAsked(device.inventory_at ?? "");
    });
  const rows: [string, string, string][] = inventory
    ? [
        [
          t("devices.inventory.os"),
          [inventory.os?.name, inventory.os?.architecture].filter(Boolean).join(", ") || "—",
          "inventory-os",
        ],
        [
          t("devices.inventory.cpu"),
          [
            inventory.cpu?.model,
            inventory.cpu?.logical_cores
              ? t("devices.inventory.cores", { count: formatNumber(inventory.cpu.logical_cores, language, 0) })
              : "",
          ]
            .filter(Boolean)
            .join(", ") || "—",
          "inventory-cpu",
        ],
        [t("devices.inventory.memory"), formatBytes(inventory.memory?.total_bytes ?? null, language), "inventory-memory"],
        [
          t("devices.inventory.disks"),
          (inventory.disks ?? [])
            .map((disk) =>
              t("devices.inventory.disk", {
                mountpoint: disk.mountpoint ?? "",
                free: formatBytes(disk.free_bytes ?? null, language),
                total: formatBytes(disk.total_bytes ?? null, language),
              }),
            )
            .join("; ") || "—",
          "inventory-disks",
        ],
      ]
    : [];
  return (
    <section class="device-section" data-testid="device-inventory" data-taken={device.inventory_at ?? ""}>
      <header class="device-section-header">
        <h3>{t("devices.inventory")}</h3>
        <button
          type="button"
          class="button button-secondary"
          data-testid="device-refresh"
          disabled={action.busy || waiting}
          onClick={refresh}
        >
          {t("devices.inventory.refresh")}
        </button>
      </header>
      {waiting && <Notice testid="inventory-waiting">{t("devices.inventory.waiting")}</Notice>}
      <ErrorNotice error={action.error} testid="inventory-error" />
      {inventory ? (
        <>
          <p class="muted small" data-testid="inventory-taken">
            {t("devices.inventory.taken", { at: formatDateTime(device.inventory_at, language) })}
          </p>
          <DetailsList rows={rows} />
        </>
      ) : (
        <p class="muted small">{t("devices.inventory.none")}</p>
      )}
    </section>
  );
}

function EditForm({ device, onChanged }: { device: DeviceDetails; onChanged: (device: DeviceDetails) => void }) {
  const { t } = useI18n();
  const action = useAction();
  const [nickname, setNickname] = useState(device.nickname);
  const [comments, setComments] = useState(device.comments);
  const [tags, setTags] = useState(device.tags.join(", "));
  const [saved, setSaved] = useState(false);
  // Changed on the server (here or in another console): the form shows what is stored now.
  const storedTags = device.tags.join(", ");
  useEffect(() => {
    setNickname(device.nickname);
    setComments(device.comments);
    setTags(storedTags);
  }, [device.nickname, device.comments, storedTags]);
  const save = (event: Event) => {
    event.preventDefault();
    setSaved(false);
    void action.run(async () => {
      const next = await call(
        api.PATCH("/api/v1/devices/{device_id}", {
          params: { path: { device_id: device.id } },
          body: { nickname, comments, tags: parseTags(tags) },
        }),
      );
      onChanged(next);
      setSaved(true);
    });
  };
  return (
    <form class="device-section device-edit" onSubmit={save}>
      <h3>{t("devices.edit")}</h3>
      <Field label={t("devices.nickname")} error={fieldError(t, action.error, "nickname")}>
        <input
          class="input"
          value={nickname}
          data-testid="device-nickname"
          dir="auto"
          onInput={(event) => setNickname(event.currentTarget.value)}
        />
      </Field>
      <Field label={t("devices.comments")} error={fieldError(t, action.error, "comments")}>
        <textarea
          class="input"
          rows={3}
          value={comments}
          data-testid="device-comments"
          dir="auto"
          onInput={(event) => setComments(event.currentTarget.value)}
        />
      </Field>
      <Field label={t("devices.tags")} hint={t("devices.tags_hint")} error={fieldError(t, action.error, "tags")}>
        <input
          class="input"
          value={tags}
          data-testid="device-tags"
          dir="auto"
          onInput={(event) => setTags(event.currentTarget.value)}
        />
      </Field>
      <ErrorNotice error={action.error} testid="device-edit-error" shown={["nickname", "comments", "tags"]} />
      {saved && !action.error && <Notice kind="success" testid="device-saved">{t("common.saved")}</Notice>}
      <div class="form-actions">
        <button type="submit" class="button button-primary" disabled={action.busy} data-testid="device-save">
          {t("common.save")}
        </button>
      </div>
    </form>
  );
}

function MoveForm({
  device,
  groups,
  onChanged,
}: {
  device: DeviceDetails;
  groups: Group[];
  onChanged: (device: DeviceDetails) => void;
}) {
  const { t } = useI18n();
  const action = useAction();
  const [target, setTarget] = useState(device.device_group_id === null ? "" : String(device.device_group_id));
  const move = () =>
    void action.run(async () => {
      const next = await call(
        api.PATCH("/api/v1/devices/{device_id}", {
          params: { path: { device_id: device.id } },
          body: { device_group_id: target ? Number(target) : null },
        }),
      );
      onChanged(next);
    });
  const current = device.device_group_id === null ? "" : String(device.device_group_id);
  return (
    <section class="device-section">
      <h3>{t("devices.move")}</h3>
      <div class="device-move">
        <select
          aria-label={t("devices.move_to")}
          data-testid="device-move-group"
          value={target}
          onChange={(event) => setTarget(event.currentTarget.value)}
        >
          <option value="">{t("devices.no_group")}</option>
          {groups.map((group) => (
            <option key={group.id} value={String(group.id)}>
              {group.name}
            </option>
          ))}
        </select>
        <button
          type="button"
          class="button button-secondary"
          data-testid="device-move"
          disabled={action.busy || target === current}
          onClick={move}
        >
          {t("devices.move_button")}
        </button>
      </div>
      <ErrorNotice error={action.error} testid="device-move-error" />
    </section>
  );
}

function Sessions({ sessions }: { sessions: SupportSession[] | null }) {
  const { t, language } = useI18n();
  return (
    <section class="device-section" data-testid="device-sessions">
      <h3>{t("devices.sessions")}</h3>
      {sessions === null ? (
        <Loading />
      ) : sessions.length === 0 ? (
        <p class="muted small">{t("devices.sessions_none")}</p>
      ) : (
        <ul class="device-sessions">
          {sessions.map((session) => (
            <li key={session.id} data-testid="device-session">
              <span>{formatDateTime(session.created_at, language)}</span>
              <span dir="auto">{session.owner_name || "—"}</span>
              <Badge>{t(`session.status.${session.status}`)}</Badge>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function DeleteDevice({ device, onGone }: { device: DeviceDetails; onGone: (id: number) => void }) {
  const { t } = useI18n();
  const action = useAction();
  if (device.kind !== "unattended") return null;
  return (
    <section class="device-section device-danger">
      <h3>{t("devices.delete")}</h3>
      <p class="muted small">{t("devices.delete_about")}</p>
      <ConfirmButton
        label={t("devices.delete_button")}
        question={t("devices.delete_question", { name: deviceName(device) })}
        testid="device-delete"
        disabled={action.busy}
        onConfirm={() =>
          void action.run(async () => {
            await call(api.DELETE("/api/v1/devices/{device_id}", { params: { path: { device_id: device.id } } }));
            onGone(device.id);
          })
        }
      />
      <ErrorNotice error={action.error} testid="device-delete-error" />
    </section>
  );
}
