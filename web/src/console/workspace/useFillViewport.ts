/** The element's height follows the window: from where it starts down to the window's bottom,
 * less the page's bottom padding, so that the page itself never scrolls (the screen view scales
 * into what is left). Measured after every render of its owner (a notice above it may come or
 * go) and whenever the window changes size, while `active`. */

import { useLayoutEffect } from "preact/hooks";

const MIN_HEIGHT = 320;

function fit(box: HTMLElement): void {
  const page = box.closest<HTMLElement>(".page");
  const below = page ? parseFloat(getComputedStyle(page).paddingBottom) || 0 : 0;
  const top = box.getBoundingClientRect().top + window.scrollY;
  box.style.height = `${Math.max(MIN_HEIGHT, Math.floor(window.innerHeight - top - below))}px`;
}

export function useFillViewport(element: { current: HTMLElement | null }, active: boolean): void {
  useLayoutEffect(() => {
    if (active && element.current) fit(element.current);
  });
  useLayoutEffect(() => {
    const box = element.current;
    if (!box || !active) return;
    const onResize = () => fit(box);
    window.addEventListener("resize", onResize);
    return () => window.removeEventListener("resize", onResize);
  }, [element, active]);
}
