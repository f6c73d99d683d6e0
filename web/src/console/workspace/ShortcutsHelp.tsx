/** The console's "Keyboard shortcuts" help: a button that opens the list (shortcuts.ts). */

import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { TOOL_LETTERS, TOOLS } from "./shortcuts";
import { TOOL_LABELS } from "./tools";

export function ShortcutsHelp() {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  return (
    <div class="shortcuts">
      <button
        type="button"
        class="button button-quiet button-small"
        aria-expanded={open}
        data-testid="shortcuts-help"
        onClick={() => setOpen(!open)}
      >
        {t("shortcuts.title")}
      </button>
      {open && (
        <div class="shortcuts-popover" role="dialog" aria-label={t("shortcuts.title")} data-testid="shortcuts-list">
          <dl>
            <dt>
              <kbd>Alt</kbd>+<kbd>1</kbd>…<kbd>9</kbd>
            </dt>
            <dd>{t("shortcuts.sessions")}</dd>
            {TOOLS.map((tool) => (
              <Fragment key={tool}>
                <dt>
                  <kbd>Alt</kbd>+<kbd>{TOOL_LETTERS[tool]}</kbd>
                </dt>
                <dd>{t(TOOL_LABELS[tool])}</dd>
              </Fragment>
            ))}
          </dl>
          <p class="muted small">{t("shortcuts.about")}</p>
          <button type="button" class="button button-secondary button-small" onClick={() => setOpen(false)}>
            {t("common.close")}
          </button>
        </div>
      )}
    </div>
  );
}
