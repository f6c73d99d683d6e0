/** The element's height follows the window: from where it starts down to the window's bottom,
 * less the page's bottom padding, so that the page itself never scrolls (the screen view scales
 * into what is left). Measured again when the window changes size or `active` turns on. */

import { useLayoutEffect } from "preact/hooks";

const MIN_HEIGHT = 320;

export function useFillViewport(element: { current: HTMLElement | null }, active: boolean): void {
  useLayoutEffect(() => {
    const box = element.current;
    if (!box || !active) return;
    const fit = () => {
      const page = box.closest<HTMLElement>(".page");
      const below = page ? parseFloat(getComputedStyle(page).paddingBottom) || 0 : 0;
      const top = box.getBoundingClientRect().top + window.scrollY;
      box.style.height = `${Math.max(MIN_HEIGHT, Math.floor(window.innerHeight - top - below))}px`;
    };
    fit();
    window.addEventListener("resize", fit);
    return () => window.removeEventListener("resize", fit);
  }, [element, active]);
}

