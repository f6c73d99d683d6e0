/** Translation: every string a person reads comes from one of the catalogues. */

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { ApiError } from "../api/errors";
import { de } from "./de";
import { en, type Catalogue, type MessageKey } from "./en";
import { fr } from "./fr";

export type { MessageKey } from "./en";

export const LANGUAGES = ["en", "fr", "de"] as const;
export type Language = (typeof LANGUAGES)[number];

export const CATALOGUES: Record<Language, Catalogue> = { en, fr, de };

export type Params = Record<string, string | number>;
export type Translate = (key: MessageKey, params?: Params) => string;

function isLanguage(value: unknown): value is Language {
  return typeof value === "string" && (LANGUAGES as readonly string[]).includes(value);
}

export function isMessageKey(key: string): key is MessageKey {
  return Object.prototype.hasOwnProperty.call(en, key);
}

/** Replaces each `{name}` with its parameter; unknown names stay as written. */
export function interpolate(text: string, params?: Params): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

export function translator(language: Language): Translate {
  const catalogue = CATALOGUES[language];
  return (key, params) => interpolate(catalogue[key], params);
}

/** The language to show before anyone signs in: the stored choice, else the browser's. */
export function initialLanguage(stored: string | null, preferred: readonly string[]): Language {
  if (isLanguage(stored)) return stored;
  for (const tag of preferred) {
    const base = tag.toLowerCase().split("-")[0];
    if (isLanguage(base)) return base;
  }
  return "en";
}

/** What to tell a person about a failure: our own words for the server's code, else its detail. */
export function errorText(t: Translate, error: unknown): string {
  if (error instanceof ApiError) {
    const key = `error.${error.code}`;
    if (isMessageKey(key)) return t(key);
    if (error.detail) return error.detail;
  }
  return t("error.unexpected");
}

export type I18n = {
  language: Language;
  t: Translate;
  setLanguage: (language: Language) => Promise<void>;
};

export const I18nContext = createContext<I18n>({
  language: "en",
  t: translator("en"),
  setLanguage: async () => undefined,
});

export function useI18n(): I18n {
  return useContext(I18nContext);
}
