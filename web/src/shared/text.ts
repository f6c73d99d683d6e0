/** Text helpers: writing direction, sizes, durations, files to save. */

import type { Language } from "../i18n";

// Strong right-to-left letters: Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic,
// Arabic supplements and presentation forms.
const RTL = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]|\uD802[\uDC00-\uDFFF]|\uD83A[\uDC00-\uDFFF]/;
// Any letter that is not right-to-left: it decides left-to-right.
const LETTER = /\p{L}/u;

/** The direction of a paragraph by its first strong letter (as `dir="auto"` decides), so that
 * Arabic or Hebrew messages read right to left and the rest left to right. */
export function textDirection(text: string): "ltr" | "rtl" {
  for (const char of text) {
    if (RTL.test(char)) return "rtl";
    if (LETTER.test(char)) return "ltr";
  }
  return "ltr";
}

const LOCALES: Record<Language, string> = { en: "en-GB", fr: "fr-FR", de: "de-DE" };

/** 22.46 → "22.5" (English), "22,5" (French, German): a number in the reader's format. */
export function formatNumber(value: number, language: Language = "en", fractionDigits = 1): string {
  return new Intl.NumberFormat(LOCALES[language], { maximumFractionDigits: fractionDigits }).format(value);
}

/** 22.46 → "22.5 %" (English), "22,5 %" (French, German); null → "—". */
export function formatPercent(value: number | null | undefined, language: Language = "en"): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "—" : `${formatNumber(value, language)} %`;
}

/** 1536 → "1.5 KiB"; in the reader's number format. */
export function formatBytes(bytes: number | null | undefined, language: Language = "en"): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  const number = new Intl.NumberFormat(LOCALES[language], {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
  return `${number} ${units[unit]}`;
}

/** Seconds as "2 d 3 h", "1 h 05 min", "4 min 12 s", "9 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return "—";
  }
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${String(minutes).padStart(2, "0")} min`;
  if (minutes > 0) return `${minutes} min ${String(rest).padStart(2, "0")} s`;
  return `${rest} s`;
}

/** Whole seconds from one instant to another (ISO strings); null when either is missing. */
export function secondsBetween(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  const a = Date.parse(from);
  const b = Date.parse(to);
  if (Number.isNaN(a) || Number.isNaN(b)) return null;
  return Math.max(0, Math.floor((b - a) / 1000));
}

/** The time of day of an instant, e.g. "14:05". */
export function formatTime(iso: string, language: Language): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(LOCALES[language], { timeStyle: "short" }).format(date);
}

/** A name that is safe as a file name on every system. */
export function fileSafe(name: string): string {
  const cleaned = name
    .normalize("NFKD")
    .replace(/[^\w.-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  return cleaned || "file";
}

/** Makes the browser save `content` as a file. */
export function saveFile(name: string, content: string, type: string): void {
  saveBlob(new Blob([content], { type }), name);
}

/** Makes the browser save `blob` as the file `name`. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.style.display = "none";
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
