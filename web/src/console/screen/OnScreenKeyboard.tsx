/** A keyboard on the page: for keys the technician's own keyboard cannot send to the device
 * (Windows/Super, F-keys under a browser that keeps them, AltGr) and for typing a text. */

import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import {
  keyboardRows,
  keysymsOfText,
  strokesFor,
  type Key,
  type KeyStroke,
  type Modifier,
} from "./keys";

export function OnScreenKeyboard({
  onStrokes,
  onClose,
}: {
  onStrokes: (strokes: readonly KeyStroke[]) => void;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const [latched, setLatched] = useState<Modifier[]>([]);
  const [text, setText] = useState("");
  const rows = keyboardRows({
    shift: t("screen.key.shift"),
    ctrl: t("screen.key.ctrl"),
    super: t("screen.key.super"),
    enter: t("screen.key.enter"),
    caps: t("screen.key.caps"),
    space: t("screen.key.space"),
    esc: t("screen.key.esc"),
    print: t("screen.key.print"),
    insert: t("screen.key.insert"),
    delete: t("screen.key.delete"),
    home: t("screen.key.home"),
    end: t("screen.key.end"),
    pageUp: t("screen.key.page_up"),
    pageDown: t("screen.key.page_down"),
  });
  const shifted = latched.includes("shift");

  const press = (key: Key) => {
    if (key.kind === "modifier") {
      setLatched((now) =>
        now.includes(key.modifier) ? now.filter((m) => m !== key.modifier) : [...now, key.modifier],
      );
      return;
    }
    onStrokes(strokesFor(key, latched));
    setLatched([]);
  };

  const typeText = (event: Event) => {
    event.preventDefault();
    const strokes = keysymsOfText(text).flatMap((keysym) => [
      { keysym, down: true },
      { keysym, down: false },
    ]);
    onStrokes(strokes);
    setText("");
  };

  return (
    <div class="screen-keyboard" data-testid="screen-keyboard" role="group" aria-label={t("screen.keyboard")}>
      {rows.map((row, r) => (
        <div class="screen-keyboard-row" key={r}>
          {row.map((key, k) => {
            const label =
              key.kind === "char" ? (shifted ? key.shifted : key.base) : key.label;
            const active = key.kind === "modifier" && latched.includes(key.modifier);
            return (
              <button
                type="button"
                key={k}
                class={active ? "screen-key screen-key-latched" : "screen-key"}
                style={{ flexGrow: key.width ?? 1 }}
                aria-pressed={key.kind === "modifier" ? active : undefined}
                data-key={key.kind === "char" ? key.base : key.label}
                onMouseDown={(event) => event.preventDefault()}
                onClick={() => press(key)}
              >
                {label}
              </button>
            );
          })}
        </div>
      ))}
      <form class="screen-keyboard-text" onSubmit={typeText}>
        <input
          type="text"
          value={text}
          placeholder={t("screen.type_text")}
          aria-label={t("screen.type_text")}
          data-testid="screen-type-text"
          onInput={(event) => setText(event.currentTarget.value)}
        />
        <button type="submit" class="button button-secondary button-small" disabled={!text}>
          {t("screen.type_text_send")}
        </button>
        <button type="button" class="button button-quiet button-small" onClick={onClose}>
          {t("common.close")}
        </button>
      </form>
    </div>
  );
}
