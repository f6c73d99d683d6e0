/** Paths on the device (POSIX or Windows, as the agent reports them), the listing's order and
 * what a row shows. Pure. */

import type { Entry, Root } from "./protocol";

const DRIVE = /^[A-Za-z]:[\\/]?$/;

export function separatorOf(path: string): "/" | "\\" {
  if (/^[A-Za-z]:\\/.test(path) || (path.includes("\\") && !path.includes("/"))) return "\\";
  return "/";
}

function trimEnd(path: string, sep: string): string {
  if (path === sep || DRIVE.test(path)) return path;
  let end = path.length;
  while (end > 1 && path[end - 1] === sep) end -= 1;
  return path.slice(0, end);
}

export function joinPath(folder: string, name: string): string {
  const sep = separatorOf(folder);
  const base = trimEnd(folder, sep);
  return base.endsWith(sep) ? `${base}${name}` : `${base}${sep}${name}`;
}

/** The folder holding a path; null at the top ("/" or "C:\"). */
export function parentOf(path: string): string | null {
  const sep = separatorOf(path);
  const clean = trimEnd(path, sep);
  if (clean === sep || DRIVE.test(clean)) return null;
  const cut = clean.lastIndexOf(sep);
  if (cut < 0) return null;
  const parent = clean.slice(0, cut);
  if (parent === "") return sep;
  return /^[A-Za-z]:$/.test(parent) ? `${parent}${sep}` : parent;
}

export function baseName(path: string): string {
  const sep = separatorOf(path);
  const clean = trimEnd(path, sep);
  if (clean === sep || DRIVE.test(clean)) return clean;
  return clean.slice(clean.lastIndexOf(sep) + 1);
}

/** Whether `path` is `root` or inside it. */
export function isUnder(path: string, root: string): boolean {
  const sep = separatorOf(root);
  const windows = sep === "\\";
  const norm = (p: string) => (windows ? trimEnd(p, sep).toLowerCase() : trimEnd(p, sep));
  const [p, r] = [norm(path), norm(root)];
  if (p === r) return true;
  return p.startsWith(r.endsWith(sep) ? r : r + sep);
}

/** The root (of those offered) that holds the path: the longest one. */
export function rootOf(path: string, roots: Root[]): Root | null {
  let best: Root | null = null;
  for (const root of roots) {
    if (isUnder(path, root.path) && (!best || root.path.length > best.path.length)) best = root;
  }
  return best;
}

export type Crumb = { name: string; path: string };

/** Breadcrumbs from the root that holds the path down to the path itself. */
export function crumbsOf(path: string, root: string | null): Crumb[] {
  const crumbs: Crumb[] = [];
  let at: string | null = path;
  while (at !== null) {
    crumbs.unshift({ name: baseName(at) || at, path: at });
    if (root !== null && trimEnd(at, separatorOf(at)) === trimEnd(root, separatorOf(root))) break;
    at = parentOf(at);
  }
  return crumbs;
}

export type SortKey = "name" | "size" | "mtime" | "mode";
export type Sort = { key: SortKey; descending: boolean };

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** Folders first, then by the chosen column (ties by name); hidden entries only when asked. */
export function arrange(entries: Entry[], sort: Sort, showHidden: boolean): Entry[] {
  const shown = showHidden ? entries : entries.filter((entry) => !entry.hidden);
  const sign = sort.descending ? -1 : 1;
  const byKey = (a: Entry, b: Entry): number => {
    switch (sort.key) {
      case "name":
        return collator.compare(a.name, b.name);
      case "size":
        return a.size - b.size;
      case "mtime":
        return a.mtime - b.mtime;
      case "mode":
        return a.mode - b.mode;
    }
  };
  return [...shown].sort((a, b) => {
    const folders = Number(b.type === "directory") - Number(a.type === "directory");
    if (folders) return folders;
    return sign * byKey(a, b) || collator.compare(a.name, b.name);
  });
}

/** Clicking a column header: the same column flips the order, another one sorts ascending. */
export function nextSort(sort: Sort, key: SortKey): Sort {
  return sort.key === key ? { key, descending: !sort.descending } : { key, descending: false };
}

/** "drwxr-xr-x" from the type and the permission bits. */
export function modeText(mode: number, type: Entry["type"]): string {
  const kind = type === "directory" ? "d" : type === "file" ? "-" : type === "link" ? "l" : "?";
  const bits = "rwxrwxrwx";
  let text = "";
  for (let i = 0; i < 9; i++) text += mode & (1 << (8 - i)) ? bits[i] : "-";
  return kind + text;
}

/** Why a new name cannot be used on the device, or null when it can. */
export function nameProblem(name: string): "empty" | "separator" | "dots" | null {
  if (!name.trim()) return "empty";
  if (name.includes("/") || name.includes("\\") || name.includes("\0")) return "separator";
  if (name === "." || name === "..") return "dots";
  return null;
}
