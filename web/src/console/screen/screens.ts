/**
 * The device's monitors as the agent reports them in an ExtendedDesktopSize rectangle
 * (rfbproto: number-of-screens u8, 3 bytes padding, then per screen id u32, x u16, y u16,
 * width u16, height u16, flags u32; all big-endian).
 *
 * The protocol has no "primary" flag. relaydesk's convention: bit 0 of a screen's flags marks the
 * primary monitor; when no screen has it, the first one listed is the primary.
 */

export type RemoteScreen = {
  id: number;
  x: number;
  y: number;
  width: number;
  height: number;
  flags: number;
  primary: boolean;
};

export const PRIMARY_FLAG = 1;

/** The bytes after the rectangle header: null while they are incomplete or inconsistent. */
export function parseExtendedDesktopSize(bytes: Uint8Array): RemoteScreen[] | null {
  if (bytes.length < 4) return null;
  const count = bytes[0];
  if (bytes.length < 4 + 16 * count) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const screens: RemoteScreen[] = [];
  for (let i = 0; i < count; i += 1) {
    const at = 4 + 16 * i;
    screens.push({
      id: view.getUint32(at),
      x: view.getUint16(at + 4),
      y: view.getUint16(at + 6),
      width: view.getUint16(at + 8),
      height: view.getUint16(at + 10),
      flags: view.getUint32(at + 12),
      primary: false,
    });
  }
  return markPrimary(screens);
}

export function markPrimary(screens: RemoteScreen[]): RemoteScreen[] {
  const flagged = screens.findIndex((screen) => (screen.flags & PRIMARY_FLAG) !== 0);
  const primary = flagged >= 0 ? flagged : 0;
  return screens.map((screen, index) => ({ ...screen, primary: index === primary }));
}

/** Left to right, then top to bottom: the order people expect monitors in a menu. */
export function sortScreens(screens: readonly RemoteScreen[]): RemoteScreen[] {
  return [...screens].sort((a, b) => a.x - b.x || a.y - b.y || a.id - b.id);
}

/** The chosen screen if it still exists (matched by id), else null (the whole desktop). */
export function keepChoice(
  screens: readonly RemoteScreen[],
  chosenId: number | null,
): RemoteScreen | null {
  if (chosenId === null || screens.length < 2) return null;
  return screens.find((screen) => screen.id === chosenId) ?? null;
}

/** A part of the framebuffer: what a monitor choice shows (the whole desktop when null). */
export type Area = { x: number; y: number; width: number; height: number };

export function areaOf(screen: RemoteScreen | null, width: number, height: number): Area {
  if (!screen) return { x: 0, y: 0, width, height };
  const x = Math.min(screen.x, Math.max(0, width - 1));
  const y = Math.min(screen.y, Math.max(0, height - 1));
  return {
    x,
    y,
    width: Math.max(1, Math.min(screen.width, width - x)),
    height: Math.max(1, Math.min(screen.height, height - y)),
  };
}
