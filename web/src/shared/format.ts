import type { Language } from "../i18n";

const LOCALES: Record<Language, string> = { en: "en-GB", fr: "fr-FR", de: "de-DE" };

export function formatDateTime(iso: string | null | undefined, language: Language): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(LOCALES[language], {
    dateStyle: "medium",
    timeStyle: "short",
  }).format(date);
}

/** One item per non-empty line, trimmed. */
export function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG document as a data: URL, so that it is shown as an image and never run as markup.
 * Inline SVG (as the server sends it) may lack the namespace that a standalone image needs. */
export function svgDataUrl(svg: string): string {
  const standalone = /^\s*<svg\b[^>]*\bxmlns\s*=/.test(svg)
    ? svg
    : svg.replace(/^\s*<svg\b/, `<svg xmlns="${SVG_NS}"`);
  const bytes = new TextEncoder().encode(standalone);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}
