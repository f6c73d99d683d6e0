import { describe, expect, it } from "vitest";
import { ApiError } from "../api/errors";
import { CATALOGUES, errorText, initialLanguage, interpolate, LANGUAGES, translator } from ".";
import { en } from "./en";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("catalogues", () => {
  const reference = Object.keys(en).sort();

  for (const language of LANGUAGES) {
    const catalogue = CATALOGUES[language];

    it(`${language} has exactly the English keys`, () => {
      expect(Object.keys(catalogue).sort()).toEqual(reference);
    });

    it(`${language} has no empty or untrimmed text`, () => {
      for (const [key, text] of Object.entries(catalogue)) {
        expect(text.trim(), key).not.toBe("");
        expect(text, key).toBe(text.trim());
      }
    });

    it(`${language} uses the same placeholders as English`, () => {
      for (const [key, text] of Object.entries(catalogue)) {
        expect(placeholders(text), key).toEqual(placeholders(en[key as keyof typeof en]));
      }
    });
  }

  it("French and German are translations, not copies of English", () => {
    for (const language of ["fr", "de"] as const) {
      const same = Object.entries(CATALOGUES[language]).filter(
        ([key, text]) => text === en[key as keyof typeof en] && !key.startsWith("language."),
      );
      // A few words are the same in both languages (Description, Console, Sessions, Version…):
      // at most one entry in twenty.
      expect(same.length, same.map(([key]) => key).join(", ")).toBeLessThan(Object.keys(en).length / 20);
    }
  });

  it("names each language in its own words in every catalogue", () => {
    for (const language of LANGUAGES) {
      expect(CATALOGUES[language]["language.fr"]).toBe("Français");
      expect(CATALOGUES[language]["language.de"]).toBe("Deutsch");
    }
  });
});

describe("interpolate", () => {
  it("replaces named parameters", () => {
    expect(interpolate("{from}–{to} of {total}", { from: 1, to: 50, total: 120 })).toBe("1–50 of 120");
  });

  it("leaves unknown names as written", () => {
    expect(interpolate("Hello {name}", {})).toBe("Hello {name}");
  });

  it("translates through the chosen catalogue", () => {
    expect(translator("de")("console.welcome", { name: "Ada" })).toBe("Angemeldet als Ada.");
  });
});

describe("initialLanguage", () => {
  it("prefers a stored choice", () => {
    expect(initialLanguage("de", ["fr-FR"])).toBe("de");
  });

  it("ignores a stored value that is not a language", () => {
    expect(initialLanguage("xx", ["fr-CA", "en"])).toBe("fr");
  });

  it("falls back to English", () => {
    expect(initialLanguage(null, ["ja-JP", "es"])).toBe("en");
  });
});

describe("errorText", () => {
  const fr = translator("fr");

  it("translates a code the catalogue knows", () => {
    const error = new ApiError(401, "invalid_credentials", "The e-mail address or password is wrong.");
    expect(errorText(fr, error)).toBe("L’adresse e-mail ou le mot de passe est incorrect.");
  });

  it("shows the server's detail for a code it does not know", () => {
    const error = new ApiError(409, "role_in_use", "The role 'X' is assigned to 2 user(s).");
    expect(errorText(fr, error)).toBe("The role 'X' is assigned to 2 user(s).");
  });

  it("has its own words for anything else", () => {
    expect(errorText(fr, new TypeError("boom"))).toBe(fr("error.unexpected"));
  });
});
