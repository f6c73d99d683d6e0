/** A dialog over the page: Escape or the close button ends it; focus moves into it. */

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { useI18n } from "../i18n";

export function Modal({
  title,
  onClose,
  children,
  testid,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  testid?: string;
  wide?: boolean;
}) {
  const { t } = useI18n();
  const panel = useRef<HTMLDivElement>(null);
  const closer = useRef(onClose);
  closer.current = onClose;

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = panel.current?.querySelector<HTMLElement>("select, input, textarea, button:not(.modal-close)");
    first?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") closer.current();
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      before?.focus?.();
    };
  }, []);

  return (
    <div class="modal-backdrop" onMouseDown={(event) => event.target === event.currentTarget && onClose()}>
      <div
        class={wide ? "modal modal-wide" : "modal"}
        role="dialog"
        aria-modal="true"
        aria-labelledby="modal-title"
        data-testid={testid}
        ref={panel}
      >
        <header class="modal-header">
          <h2 id="modal-title">{title}</h2>
          <button type="button" class="modal-close" aria-label={t("common.close")} title={t("common.close")} onClick={onClose}>
            ×
          </button>
        </header>
        <div class="modal-body">{children}</div>
      </div>
    </div>
  );
}
