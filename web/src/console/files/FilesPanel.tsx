/**
 * The session's file manager (TOOL-4): browse the device's roots and folders, sort, show hidden
 * files, create folders, upload (file chooser or drag and drop, several at once), download files
 * and folders (as a .tar archive), rename and delete; each transfer with its progress, rate, time
 * left and a cancel button, resumed after a network loss. What the technician may do comes from
 * his permissions (and the allowed paths the device enforces).
 */

import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { isMessageKey, useI18n, type Translate } from "../../i18n";
import { formatDateTime } from "../../shared/format";
import { Modal } from "../../shared/Modal";
import { useMe } from "../../shared/session";
import { formatBytes, formatDuration, saveBlob } from "../../shared/text";
import { ErrorNotice, SaveCancel } from "../../shared/ui";
import { NEW_BROWSER, reduceBrowser } from "./browserState";
import { FilesConnection, FilesError } from "./connection";
import { arrange, crumbsOf, joinPath, modeText, nameProblem, nextSort, parentOf, rootOf, type Sort, type SortKey } from "./paths";
import type { Entry } from "./protocol";
import { DownloadTransfer, UploadTransfer, type Transfer, type TransferView } from "./transfer";
import "./files.css";

type Dialog = { kind: "mkdir" } | { kind: "rename"; entry: Entry } | { kind: "delete"; entry: Entry } | null;
type Pending = { file: File; folder: string };

declare global {
  interface Window {
    __relaydeskFiles?: { drop: () => void };
  }
}

/** A refusal in the reader's words: ours for the device's codes, else the device's message. */
export function filesErrorText(t: Translate, error: unknown): string | null {
  if (!error) return null;
  if (error instanceof FilesError) {
    const key = `files.error.${error.code}`;
    return isMessageKey(key) ? t(key) : error.message;
  }
  return null;
}

function FilesError_({ error, testid = "files-error" }: { error: unknown; testid?: string }) {
  const { t } = useI18n();
  if (!error) return null;
  const text = filesErrorText(t, error);
  if (text === null) return <ErrorNotice error={error} testid={testid} />;
  return (
    <p class="notice notice-error" role="alert" data-testid={testid} data-code={(error as FilesError).code}>
      {text}
    </p>
  );
}

/** Small line icons (no emoji: not every system has a font for them). */
function EntryIcon({ kind }: { kind: "folder" | "file" | "link" }) {
  const paths = {
    folder: "M1.5 3.5h4l1.5 1.5h7.5v8h-13z",
    file: "M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3",
    link: "M3.5 1.5h6l3 3v10h-9z M6 11l4-4 M7 7h3v3",
  }[kind];
  return (
    <svg class={`files-icon files-icon-${kind}`} viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
      <path d={paths} fill="none" stroke="currentColor" stroke-width="1.2" stroke-linejoin="round" />
    </svg>
  );
}

export function FilesPanel({ sessionId, live }: { sessionId: number; live: boolean }) {
  const { t } = useI18n();
  const me = useMe();
  const [open, setOpen] = useState(false);
  const mayUpload = me.permissions.includes("file_upload");
  const mayDownload = me.permissions.includes("file_download");
  if (!mayUpload && !mayDownload) return null;
  return (
    <section class="card files-panel" data-testid="files-panel">
      {open ? (
        <FileManager sessionId={sessionId} onClose={() => setOpen(false)} />
      ) : (
        <header class="card-header files-header">
          <h2>{t("files.title")}</h2>
          <p class="muted files-about">{t("files.about")}</p>
          <button type="button" class="button button-primary" data-testid="files-open" disabled={!live} onClick={() => setOpen(true)}>
            {t("files.open")}
          </button>
        </header>
      )}
    </section>
  );
}

function FileManager({ sessionId, onClose }: { sessionId: number; onClose: () => void }) {
  const { t, language } = useI18n();
  const [connection, setConnection] = useState<FilesConnection | null>(null);
  const [browser, show] = useReducer(reduceBrowser, NEW_BROWSER);
  const { link, startError, roots, listing, error, busy, address } = browser;
  const [showHidden, setShowHidden] = useState(false);
  const [sort, setSort] = useState<Sort>({ key: "name", descending: false });
  const [dialog, setDialog] = useState<Dialog>(null);
  const [dragging, setDragging] = useState(false);
  const [transfers, setTransfers] = useState<TransferView[]>([]);
  const live = useRef(new Map<number, Transfer>());
  const pending = useRef(new Map<number, Pending>());
  const chooser = useRef<HTMLInputElement>(null);
  const depth = useRef(0);
  const here = useRef<string | null>(null);

  const grant = connection?.grant ?? null;
  const mayUpload = grant?.upload ?? false;
  const mayDownload = grant?.download ?? false;

  // Only the latest listing asked for is shown: an earlier one answering late (the first folder
  // while the technician already went elsewhere) must not replace it.
  const latestListing = useRef(0);

  const browse = useCallback(
    async (path: string, conn: FilesConnection | null = connection) => {
      if (!conn) return;
      const ticket = ++latestListing.current;
      show({ type: "working" });
      try {
        const reply = await conn.request({ t: "list", path });
        if (ticket !== latestListing.current) return;
        if (reply.t !== "listing") {
          show({ type: "idle" });
          return;
        }
        here.current = reply.path;
        show({ type: "listed", listing: { path: reply.path, entries: reply.entries, truncated: reply.truncated } });
      } catch (failure) {
        if (ticket !== latestListing.current) return;
        show({ type: "failed", failure, address: here.current ?? path });
      }
    },
    [connection],
  );
  // The connection's own effect runs once per session; it reaches the latest browse through this.
  const browseLatest = useRef(browse);
  browseLatest.current = browse;

  useEffect(() => {
    let firstOpen = true;
    const conn = new FilesConnection(sessionId, (changed) => {
      show({ type: "link", link: changed.link, failure: changed.failure });
      if (changed.link === "open" && !firstOpen && here.current) void browseLatest.current(here.current, changed);
    });
    window.__relaydeskFiles = { drop: () => conn.dropForTest() };
    conn
      .start()
      .then(async () => {
        setConnection(conn);
        const reply = await conn.request({ t: "roots" });
        if (reply.t !== "roots_list") return;
        show({ type: "started", roots: reply.roots });
        const start = reply.roots.find((root) => root.path !== "/") ?? reply.roots[0];
        firstOpen = false;
        if (start) await browseLatest.current(start.path, conn);
      })
      .catch((failure: unknown) => {
        show({ type: "start_failed", failure });
      });
    const transfersNow = live.current;
    return () => {
      for (const transfer of transfersNow.values()) if (!transfer.finished) transfer.cancel();
      conn.close();
      if (window.__relaydeskFiles) delete window.__relaydeskFiles;
    };
  }, [sessionId]);

  const track = useCallback(
    (transfer: Transfer) => {
      live.current.set(transfer.key, transfer);
      setTransfers((list) => [transfer.view(), ...list]);
    },
    [],
  );
  const onTransfer = useCallback(
    (transfer: Transfer) => {
      const view = transfer.view();
      setTransfers((list) => list.map((item) => (item.key === view.key ? view : item)));
      if (view.state === "done" && here.current && view.direction === "upload" && parentOf(view.path) === here.current) {
        void browse(here.current);
      }
    },
    [browse],
  );

  const upload = (files: File[], overwrite = false, folder = listing?.path) => {
    if (!connection || !folder || !mayUpload) return;
    for (const file of files) {
      const transfer = new UploadTransfer(connection, file, file.name, joinPath(folder, file.name), overwrite, onTransfer);
      pending.current.set(transfer.key, { file, folder });
      track(transfer);
      transfer.start();
    }
  };
  const download = (entry: Entry) => {
    if (!connection || !mayDownload) return;
    const archive = entry.type === "directory";
    const name = archive ? `${entry.name}.tar` : entry.name;
    const transfer = new DownloadTransfer(connection, name, entry.path, archive ? null : entry.size, archive, saveBlob, onTransfer);
    track(transfer);
    transfer.start();
  };
  const replace = (view: TransferView) => {
    const source = pending.current.get(view.key);
    if (!source) return;
    dismiss(view.key);
    upload([source.file], true, source.folder);
  };
  const dismiss = (key: number) => {
    live.current.delete(key);
    pending.current.delete(key);
    setTransfers((list) => list.filter((item) => item.key !== key));
  };

  const act = async (work: () => Promise<unknown>): Promise<boolean> => {
    show({ type: "working" });
    try {
      await work();
      show({ type: "done" });
      return true;
    } catch (failure) {
      show({ type: "failed", failure });
      return false;
    }
  };

  const currentRoot = listing ? rootOf(listing.path, roots) : null;
  const crumbs = listing ? crumbsOf(listing.path, currentRoot?.path ?? null) : [];
  const shown = useMemo(() => (listing ? arrange(listing.entries, sort, showHidden) : []), [listing, sort, showHidden]);
  const up = listing ? parentOf(listing.path) : null;
  const canGoUp = up !== null && (!currentRoot || listing?.path !== currentRoot.path);

  const sortHeader = (key: SortKey, label: string, className = "") => {
    const active = sort.key === key;
    return (
      <th class={className} aria-sort={active ? (sort.descending ? "descending" : "ascending") : "none"}>
        <button type="button" class="files-sort" data-testid={`files-sort-${key}`} onClick={() => setSort(nextSort(sort, key))}>
          {label}
          <span class="files-sort-mark" aria-hidden="true">
            {active ? (sort.descending ? "▼" : "▲") : ""}
          </span>
        </button>
      </th>
    );
  };

  return (
    <div
      class={dragging ? "files-manager files-dragging" : "files-manager"}
      data-testid="files-manager"
      data-link={link}
      onDragEnter={() => {
        depth.current += 1;
      }}
      onDragOver={(event) => {
        if (!mayUpload || !event.dataTransfer?.types.includes("Files")) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "copy";
        setDragging(true);
      }}
      onDragLeave={() => {
        // Leaving a child fires too: the overlay goes when the pointer left the whole manager.
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setDragging(false);
      }}
      onDrop={(event) => {
        depth.current = 0;
        if (!mayUpload) return;
        event.preventDefault();
        setDragging(false);
        const files = Array.from(event.dataTransfer?.files ?? []);
        if (files.length) upload(files);
      }}
    >
      <header class="card-header files-header">
        <h2>{t("files.title")}</h2>
        <span class={`files-link files-link-${link}`} data-testid="files-link">
          {t(`files.link.${link}`)}
        </span>
        <button type="button" class="button button-quiet files-close" data-testid="files-close" onClick={onClose}>
          {t("files.close")}
        </button>
      </header>
      {startError ? (
        <FilesError_ error={startError} />
      ) : (
        <>
          <div class="files-toolbar">
            <label class="files-root">
              <span class="files-sr">{t("files.roots")}</span>
              <select
                data-testid="files-roots"
                value={currentRoot?.path ?? ""}
                disabled={!roots.length}
                onChange={(event) => void browse((event.target as HTMLSelectElement).value)}
              >
                {!currentRoot && <option value="">—</option>}
                {roots.map((root) => (
                  <option key={root.path} value={root.path} title={root.path}>
                    {root.name === root.path ? root.path : `${root.name} (${root.path})`}
                    {root.free !== null && root.total !== null
                      ? ` · ${t("files.free", { free: formatBytes(root.free, language), total: formatBytes(root.total, language) })}`
                      : ""}
                  </option>
                ))}
              </select>
            </label>
            <button
              type="button"
              class="button button-secondary"
              data-testid="files-up"
              disabled={!canGoUp || busy}
              title={t("files.up")}
              onClick={() => up && void browse(up)}
            >
              ↑ {t("files.up")}
            </button>
            <button
              type="button"
              class="button button-secondary"
              data-testid="files-refresh"
              disabled={!listing || busy}
              onClick={() => listing && void browse(listing.path)}
            >
              {t("files.refresh")}
            </button>
            <form
              class="files-address"
              onSubmit={(event) => {
                event.preventDefault();
                if (address.trim()) void browse(address.trim());
              }}
            >
              <input
                type="text"
                class="mono"
                aria-label={t("files.address")}
                data-testid="files-address"
                value={address}
                spellcheck={false}
                onInput={(event) => show({ type: "typed", address: (event.target as HTMLInputElement).value })}
              />
              <button type="submit" class="button button-secondary" data-testid="files-go" disabled={busy || !connection}>
                {t("files.go")}
              </button>
            </form>
          </div>
          <nav class="files-crumbs" aria-label={t("files.breadcrumbs")} data-testid="files-breadcrumbs">
            {crumbs.map((crumb, index) => (
              <span key={crumb.path} class="files-crumb">
                {index > 0 && <span class="files-crumb-sep" aria-hidden="true">›</span>}
                {index === crumbs.length - 1 ? (
                  <span class="strong" aria-current="location" data-testid="files-crumb-current">
                    {crumb.name}
                  </span>
                ) : (
                  <button type="button" class="files-crumb-link" data-testid="files-crumb" onClick={() => void browse(crumb.path)}>
                    {crumb.name}
                  </button>
                )}
              </span>
            ))}
          </nav>
          <div class="files-actions">
            <label class="files-hidden-toggle">
              <input
                type="checkbox"
                data-testid="files-show-hidden"
                checked={showHidden}
                onChange={(event) => setShowHidden((event.target as HTMLInputElement).checked)}
              />
              {t("files.show_hidden")}
            </label>
            <span class="files-spacer" />
            {mayUpload && (
              <>
                <button
                  type="button"
                  class="button button-secondary"
                  data-testid="files-mkdir"
                  disabled={!listing || busy}
                  onClick={() => setDialog({ kind: "mkdir" })}
                >
                  {t("files.mkdir")}
                </button>
                <button
                  type="button"
                  class="button button-primary"
                  data-testid="files-upload"
                  disabled={!listing || link !== "open"}
                  title={t("files.upload_about")}
                  onClick={() => chooser.current?.click()}
                >
                  {t("files.upload")}
                </button>
                <input
                  ref={chooser}
                  type="file"
                  multiple
                  hidden
                  data-testid="files-upload-input"
                  onChange={(event) => {
                    const input = event.target as HTMLInputElement;
                    upload(Array.from(input.files ?? []));
                    input.value = "";
                  }}
                />
              </>
            )}
          </div>
          <FilesError_ error={error} />
          {link === "reconnecting" && (
            <p class="notice notice-info" role="status" data-testid="files-reconnecting">
              {t("files.reconnecting")}
            </p>
          )}
          <div class="files-table-wrap">
            {mayUpload && dragging && <div class="files-drop">{t("files.drop")}</div>}
            <table class="table files-table" data-testid="files-table" data-path={listing?.path ?? ""} aria-busy={busy}>
              <thead>
                <tr>
                  {sortHeader("name", t("files.name"))}
                  {sortHeader("size", t("files.size"), "num")}
                  {sortHeader("mtime", t("files.modified"))}
                  {sortHeader("mode", t("files.permissions"))}
                  <th>
                    <span class="files-sr">{t("files.actions")}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {shown.map((entry) => (
                  <tr key={entry.path} data-testid="files-row" data-name={entry.name} data-type={entry.type}>
                    <td class="files-name">
                      {entry.type === "directory" ? (
                        <button type="button" class="files-folder" data-testid="files-enter" onClick={() => void browse(entry.path)}>
                          <EntryIcon kind="folder" />
                          {entry.name}
                        </button>
                      ) : (
                        <span class={entry.hidden ? "files-file muted" : "files-file"}>
                          <EntryIcon kind={entry.type === "link" ? "link" : "file"} />
                          {entry.name}
                        </span>
                      )}
                    </td>
                    <td class="num nowrap" data-testid="files-size">
                      {entry.type === "directory" ? "—" : formatBytes(entry.size, language)}
                    </td>
                    <td class="nowrap">{formatDateTime(new Date(entry.mtime * 1000).toISOString(), language)}</td>
                    <td class="mono small nowrap" data-testid="files-mode">
                      {modeText(entry.mode, entry.type)}
                    </td>
                    <td class="files-row-actions nowrap">
                      {mayDownload && (entry.type === "file" || entry.type === "directory") && (
                        <button
                          type="button"
                          class="button button-quiet"
                          data-testid="files-download"
                          disabled={link !== "open"}
                          onClick={() => download(entry)}
                        >
                          {entry.type === "directory" ? t("files.download_archive") : t("files.download")}
                        </button>
                      )}
                      {mayUpload && (
                        <>
                          <button type="button" class="button button-quiet" data-testid="files-rename" onClick={() => setDialog({ kind: "rename", entry })}>
                            {t("files.rename")}
                          </button>
                          <button
                            type="button"
                            class="button button-danger-quiet"
                            data-testid="files-delete"
                            onClick={() => setDialog({ kind: "delete", entry })}
                          >
                            {t("common.delete")}
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {listing && shown.length === 0 && (
              <p class="muted files-empty" data-testid="files-empty">
                {listing.entries.length ? t("files.only_hidden") : t("files.empty")}
              </p>
            )}
            {listing?.truncated && <p class="muted small">{t("files.truncated")}</p>}
          </div>
          <Transfers transfers={transfers} live={live.current} onDismiss={dismiss} onReplace={replace} />
        </>
      )}
      {dialog && listing && connection && (
        <EntryDialog
          dialog={dialog}
          folder={listing.path}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            void browse(listing.path);
          }}
          act={act}
          connection={connection}
        />
      )}
    </div>
  );
}

function EntryDialog({
  dialog,
  folder,
  connection,
  onClose,
  onDone,
  act,
}: {
  dialog: NonNullable<Dialog>;
  folder: string;
  connection: FilesConnection;
  onClose: () => void;
  onDone: () => void;
  act: (work: () => Promise<unknown>) => Promise<boolean>;
}) {
  const { t } = useI18n();
  const [name, setName] = useState(dialog.kind === "rename" ? dialog.entry.name : "");
  const [problem, setProblem] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [working, setWorking] = useState(false);

  const run = async (work: () => Promise<unknown>) => {
    setWorking(true);
    let failed: unknown = null;
    const ok = await act(async () => {
      try {
        await work();
      } catch (error) {
        failed = error;
        throw error;
      }
    });
    setWorking(false);
    if (ok) onDone();
    else setFailure(failed);
  };

  if (dialog.kind === "delete") {
    const { entry } = dialog;
    const folderEntry = entry.type === "directory";
    return (
      <Modal title={t("files.delete_title", { name: entry.name })} onClose={onClose} testid="files-delete-dialog">
        <p class="notice notice-error" role="alert" data-testid="files-delete-warning">
          {folderEntry ? t("files.delete_warning_folder") : t("files.delete_warning")}
        </p>
        <p class="mono small files-dialog-path">{entry.path}</p>
        <FilesError_ error={failure} testid="files-dialog-error" />
        <div class="form-actions">
          <button
            type="button"
            class="button button-danger"
            data-testid="files-delete-confirm"
            disabled={working}
            onClick={() => void run(() => connection.request({ t: "delete", path: entry.path, recursive: folderEntry }))}
          >
            {t("files.delete_confirm")}
          </button>
          <button type="button" class="button button-quiet" onClick={onClose}>
            {t("common.cancel")}
          </button>
        </div>
      </Modal>
    );
  }

  const submit = (event: Event) => {
    event.preventDefault();
    const why = nameProblem(name);
    if (why) {
      setProblem(t(`files.name_${why}`));
      return;
    }
    setProblem(null);
    if (dialog.kind === "mkdir") void run(() => connection.request({ t: "mkdir", path: joinPath(folder, name.trim()) }));
    else {
      const parent = parentOf(dialog.entry.path) ?? folder;
      void run(() => connection.request({ t: "rename", path: dialog.entry.path, to: joinPath(parent, name.trim()) }));
    }
  };
  return (
    <Modal
      title={dialog.kind === "mkdir" ? t("files.mkdir_title") : t("files.rename_title", { name: dialog.entry.name })}
      onClose={onClose}
      testid={dialog.kind === "mkdir" ? "files-mkdir-dialog" : "files-rename-dialog"}
    >
      <form onSubmit={submit}>
        <label class={problem ? "field field-invalid" : "field"}>
          <span class="field-label">{t("files.new_name")}</span>
          <input
            type="text"
            data-testid="files-name-input"
            value={name}
            spellcheck={false}
            onInput={(event) => setName((event.target as HTMLInputElement).value)}
          />
          {problem && <span class="field-error">{problem}</span>}
        </label>
        <FilesError_ error={failure} testid="files-dialog-error" />
        <SaveCancel
          label={dialog.kind === "mkdir" ? t("files.mkdir_submit") : t("files.rename_submit")}
          testid="files-name-submit"
          busy={working}
          onCancel={onClose}
        />
      </form>
    </Modal>
  );
}

function Transfers({
  transfers,
  live,
  onDismiss,
  onReplace,
}: {
  transfers: TransferView[];
  live: Map<number, Transfer>;
  onDismiss: (key: number) => void;
  onReplace: (view: TransferView) => void;
}) {
  const { t, language } = useI18n();
  if (!transfers.length) return null;
  return (
    <section class="files-transfers" aria-label={t("files.transfers")}>
      <h3>{t("files.transfers")}</h3>
      <ul class="files-transfer-list">
        {transfers.map((view) => {
          const percent = view.size ? Math.min(100, Math.floor((view.bytes / view.size) * 100)) : null;
          const finished = view.state === "done" || view.state === "failed" || view.state === "cancelled";
          return (
            <li
              key={view.key}
              class={`files-transfer files-transfer-${view.state}`}
              data-testid="files-transfer"
              data-state={view.state}
              data-direction={view.direction}
              data-name={view.name}
              data-resumed={view.resumed}
            >
              <div class="files-transfer-head">
                <span class="files-transfer-dir" aria-hidden="true">
                  {view.direction === "upload" ? "↑" : "↓"}
                </span>
                <span class="strong files-transfer-name">{view.name}</span>
                <span class="muted small">{t(`files.state.${view.state}`)}</span>
                {view.resumed > 0 && !finished && <span class="muted small">{t("files.resumed")}</span>}
                <span class="files-spacer" />
                {!finished && (
                  <button type="button" class="button button-quiet" data-testid="files-transfer-cancel" onClick={() => live.get(view.key)?.cancel()}>
                    {t("common.cancel")}
                  </button>
                )}
                {view.state === "failed" && view.error?.code === "exists" && view.direction === "upload" && (
                  <button type="button" class="button button-secondary" data-testid="files-transfer-replace" onClick={() => onReplace(view)}>
                    {t("files.replace")}
                  </button>
                )}
                {finished && (
                  <button
                    type="button"
                    class="button button-quiet"
                    aria-label={t("files.dismiss")}
                    title={t("files.dismiss")}
                    onClick={() => onDismiss(view.key)}
                  >
                    ×
                  </button>
                )}
              </div>
              <progress
                class="files-progress"
                max={100}
                value={view.state === "done" ? 100 : (percent ?? undefined)}
                aria-label={view.name}
              />
              <div class="muted small files-transfer-figures" data-testid="files-transfer-figures">
                {view.size !== null
                  ? t("files.progress_of", { done: formatBytes(view.bytes, language), total: formatBytes(view.size, language) })
                  : formatBytes(view.bytes, language)}
                {view.rate !== null && ` · ${t("files.rate", { rate: formatBytes(view.rate, language) })}`}
                {view.secondsLeft !== null && ` · ${t("files.left", { time: formatDuration(view.secondsLeft) })}`}
              </div>
              {view.error && (
                <p class="notice notice-error small" role="alert" data-testid="files-transfer-error" data-code={view.error.code}>
                  {filesErrorText(t, new FilesError(view.error.code, view.error.message))}
                </p>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
