"""Input into the X display through XTest: keys by keysym, pointer, buttons, wheel, drag.

Keysym -> keycode: the current keyboard mapping first (adding Shift for keysyms on the shifted
level when the client does not hold Shift); keysyms that no key produces (international
characters, Unicode keysyms 0x01000000 + code point, AltGr-only symbols) get a spare keycode
(one the map leaves empty) remapped to them, reused afterwards, least recently used first.

`set_input_allowed(False)` (view only, consent revoked) releases whatever is held and ignores
everything after it until input is allowed again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Container

log = logging.getLogger(__name__)

XK_SHIFT_L = 0xFFE1
XK_SHIFT_R = 0xFFE2
XK_CONTROL_L = 0xFFE3
XK_ALT_L = 0xFFE9
XK_DELETE = 0xFFFF
NO_SYMBOL = 0
KEYPAD_FIRST, KEYPAD_LAST = 0xFF80, 0xFFBD  # KP_Space .. KP_9
# Control_L/R, Meta_L/R, Alt_L/R, Super_L/R
SHORTCUT_MODIFIERS = frozenset((0xFFE3, 0xFFE4, 0xFFE7, 0xFFE8, 0xFFE9, 0xFFEA, 0xFFEB, 0xFFEC))

# XT scancode (QEMU extended key events; extended keys as 0x80 | code) -> Linux evdev code.
_XT_EXTENDED = {
    0x1C: 96,  # KP Enter
    0x1D: 97,  # Right Ctrl
    0x35: 98,  # KP Divide
    0x37: 99,  # Print
    0x38: 100,  # Right Alt
    0x46: 119,  # Pause (Ctrl-Break)
    0x47: 102,  # Home
    0x48: 103,  # Up
    0x49: 104,  # Page Up
    0x4B: 105,  # Left
    0x4D: 106,  # Right
    0x4F: 107,  # End
    0x50: 108,  # Down
    0x51: 109,  # Page Down
    0x52: 110,  # Insert
    0x53: 111,  # Delete
    0x5B: 125,  # Left Super
    0x5C: 126,  # Right Super
    0x5D: 127,  # Menu
}


def xt_to_x_keycode(scancode: int) -> int | None:
    """QEMU's XT keycode to an X keycode on an evdev keymap (evdev code + 8), when known."""
    if 0 < scancode <= 0x58:
        return scancode + 8
    if scancode & 0x80 and (scancode & 0x7F) in _XT_EXTENDED:
        return _XT_EXTENDED[scancode & 0x7F] + 8
    if 0xE000 <= scancode <= 0xE0FF and (scancode & 0xFF) in _XT_EXTENDED:
        return _XT_EXTENDED[scancode & 0xFF] + 8
    return None


def _char_keysym_variants(keysym: int) -> list[int]:
    """The other-case keysym for Latin letters (a release may come with the other case)."""
    if 0x41 <= keysym <= 0x5A or 0xC0 <= keysym <= 0xDE:
        return [keysym + 0x20]
    if 0x61 <= keysym <= 0x7A or 0xE0 <= keysym <= 0xFE:
        return [keysym - 0x20]
    return []


class _SharedRemaps:
    """Spare keycodes this process bound, per display, shared by its sessions: a session that
    ends gives them back only when no other session on the display still uses them."""

    def __init__(self) -> None:
        self.users = 0
        self.remapped: OrderedDict[int, int] = OrderedDict()  # keysym -> keycode


_SHARED: dict[str, _SharedRemaps] = {}
_SHARED_LOCK = threading.RLock()


class XTestInput:
    """Injects RFB key and pointer events into an X display."""

    def __init__(self, display: str, *, allowed: bool = True, offset: tuple[int, int] = (0, 0)):
        from Xlib import display as xdisplay

        self._xd = xdisplay.Display(display)
        self._display_name = display
        if not self._xd.has_extension("XTEST"):
            raise RuntimeError(f"the X display {display} has no XTEST extension")
        self._lock = threading.RLock()
        self._allowed = allowed
        self.offset = offset
        self._buttons = 0
        self._pressed: dict[int, int] = {}  # client keysym -> keycode held
        self._pressed_scancodes: dict[int, int] = {}  # QEMU scancode -> keycode held
        self._root = self._xd.screen().root
        with _SHARED_LOCK:
            self._shared = _SHARED.setdefault(display, _SharedRemaps())
            self._shared.users += 1
        self._remapped = self._shared.remapped  # keysym -> spare keycode
        self._load_mapping()

    # -- switches --------------------------------------------------------------------------

    @property
    def input_allowed(self) -> bool:
        return self._allowed

    def set_input_allowed(self, allowed: bool) -> None:
        with self._lock:
            if not allowed and self._allowed:
                self.release_all()
            self._allowed = allowed

    def close(self, restore_delay: float = 1.0) -> None:
        """Release everything held; give the spare keycodes back a little later.

        Clients read keymap changes (XKB map notifications) as soon as they arrive, possibly
        before they handle key events queued earlier: restoring at once could turn the last
        typed characters into nothing."""
        with self._lock:
            with contextlib.suppress(Exception):
                self.release_all()
                # A round trip: the X server has taken every event before the connection
                # closes (else it may drop the last ones, such as the release ending a drag).
                self._xd.sync()
            self._allowed = False

        with _SHARED_LOCK:
            self._shared.users -= 1

        def later() -> None:
            time.sleep(restore_delay)
            with _SHARED_LOCK, self._lock:
                if self._shared.users == 0:
                    with contextlib.suppress(Exception):
                        self._restore_mapping()
                with contextlib.suppress(Exception):
                    self._xd.close()

        if self._remapped:
            threading.Thread(target=later, name="xtest-restore", daemon=True).start()
        else:
            with contextlib.suppress(Exception):
                self._xd.close()

    def _restore_mapping(self) -> None:
        """Give the spare keycodes back (empty), as they were before this session."""
        for keycode in self._remapped.values():
            width = len(self._mapping[keycode - self._min_kc])
            self._xd.change_keyboard_mapping(keycode, [[NO_SYMBOL] * width])
        self._remapped.clear()
        self._xd.sync()

    # -- keyboard --------------------------------------------------------------------------

    def _load_mapping(self) -> None:
        xd = self._xd
        self._min_kc = xd.display.info.min_keycode
        self._max_kc = xd.display.info.max_keycode
        count = self._max_kc - self._min_kc + 1
        self._mapping = [list(row) for row in xd.get_keyboard_mapping(self._min_kc, count)]
        # Spare keycodes, used from the highest down (pop); never 8, which XKB keymaps leave
        # without a key: a press there is not released properly.
        self._spare = [
            self._min_kc + i
            for i, row in enumerate(self._mapping)
            if all(sym == NO_SYMBOL for sym in row) and self._min_kc + i > 8
        ]
        self._shift_keycode = xd.keysym_to_keycode(XK_SHIFT_L) or None

    def _follow_keymap_changes(self) -> None:
        """Reload the map when the X server says it changed (the customer switched layouts,
        or this process bound a spare keycode): keysyms must land on the keys they are on now.
        Spare keycodes the new map no longer binds to their keysym are forgotten."""
        from Xlib import X

        changed = False
        while self._xd.pending_events():
            event = self._xd.next_event()
            if event.type == X.MappingNotify and event.request == X.MappingKeyboard:
                changed = True
        if not changed:
            return
        with _SHARED_LOCK:
            self._load_mapping()
            for keysym, keycode in list(self._remapped.items()):
                if self._mapping[keycode - self._min_kc][:2] != _levels_for(keysym):
                    del self._remapped[keysym]

    def _lookup(self, keysym: int) -> tuple[int, int] | None:
        """(keycode, level) where the current map has `keysym` on level 0 or 1."""
        best: tuple[int, int] | None = None
        for i, row in enumerate(self._mapping):
            if self._min_kc + i <= 8:
                continue
            for level in (0, 1):
                if level < len(row) and row[level] == keysym:
                    if best is None or level < best[1]:
                        best = (self._min_kc + i, level)
                    if level == 0:
                        return best
        return best

    def _remap(self, keysym: int) -> int | None:
        """Bind a spare keycode to `keysym` (both levels) and return it."""
        with _SHARED_LOCK:
            return self._remap_locked(keysym)

    def _remap_locked(self, keysym: int) -> int | None:
        if keysym in self._remapped:
            self._remapped.move_to_end(keysym)
            return self._remapped[keysym]
        held = set(self._pressed.values()) | set(self._pressed_scancodes.values())
        in_use = set(self._remapped.values())  # also bound by sibling sessions
        while self._spare and self._spare[-1] in in_use:
            self._spare.pop()
        if self._spare:
            keycode = self._spare.pop()
        else:
            victim = next((k for k, kc in self._remapped.items() if kc not in held), None)
            if victim is None:
                return None
            keycode = self._remapped.pop(victim)
        width = max(2, len(self._mapping[keycode - self._min_kc]))
        syms = _levels_for(keysym) + [NO_SYMBOL] * (width - 2)
        self._xd.change_keyboard_mapping(keycode, [syms])
        self._mapping[keycode - self._min_kc] = syms
        self._remapped[keysym] = keycode
        self._xd.sync()
        time.sleep(0.02)  # let clients handle MappingNotify before the key arrives
        return keycode

    def _held_keys(self, keysyms: Container[int]) -> list[int]:
        """The keys held down now (by keysym or by QEMU scancode) whose first keysym is one of
        `keysyms`."""
        held = {*self._pressed.values(), *self._pressed_scancodes.values()}
        return [kc for kc in held if self._mapping[kc - self._min_kc][0] in keysyms]

    def _held_shift_keys(self) -> list[int]:
        return self._held_keys((XK_SHIFT_L, XK_SHIFT_R))

    def _shortcut_held(self) -> bool:
        """Control, Alt or Super held: a shortcut, where the key counts, not its letter's case."""
        return bool(self._held_keys(SHORTCUT_MODIFIERS))

    def _caps_lock_on(self) -> bool:
        from Xlib import X

        return bool(self._root.query_pointer().mask & X.LockMask)

    def _lock_shifts(self, keycode: int) -> bool:
        """Whether Caps Lock turns this key's first keysym into its second: a letter key
        (lower case, then the same letter in upper case)."""
        row = self._mapping[keycode - self._min_kc]
        if len(row) < 2:
            return False
        lower, upper = _keysym_char(row[0]), _keysym_char(row[1])
        return bool(lower and upper and lower != upper and lower.upper() == upper)

    def _fake(self, event_type: int, detail: int, x: int = 0, y: int = 0) -> None:
        from Xlib.ext import xtest

        xtest.fake_input(self._xd, event_type, detail, x=x, y=y)

    def _resolve(self, keysym: int) -> tuple[int, bool | None] | None:
        """(keycode, shift) for pressing `keysym`: True when Shift must be down for it, False
        when it must be up (a capital under Caps Lock), None when the viewer's Shift stays as it
        is (Shift-Right selects, a spare key gives its keysym either way)."""
        found = self._lookup(keysym)
        # Keypad digits sit on the second level of keys whose level follows Num Lock (and, by
        # keymap, Shift or not): a spare key of their own gives them in any lock state.
        keypad = found is not None and found[1] == 1 and KEYPAD_FIRST <= keysym <= KEYPAD_LAST
        if (found is None or keypad) and self._remap(keysym) is not None:
            found = self._lookup(keysym)
        if found is None:
            return None
        keycode, level = found
        if self._mapping[keycode - self._min_kc][:2] == [keysym, keysym]:
            return keycode, None
        if self._lock_shifts(keycode) and not self._shortcut_held() and self._caps_lock_on():
            return keycode, level == 0  # Caps Lock gives the capital; Shift the small letter
        return keycode, True if level == 1 else None

    def key(self, down: bool, keysym: int, scancode: int | None = None) -> None:
        """An RFB key event (QEMU extended events pass the scancode too)."""
        from Xlib import X

        with self._lock:
            if not self._allowed:
                return
            if down:
                if scancode is not None and scancode in self._pressed_scancodes:
                    return  # auto-repeat of a held key: X repeats by itself
                self._follow_keymap_changes()
                resolved = self._resolve(keysym) if keysym else None
                if resolved is None and scancode is not None:
                    xkc = xt_to_x_keycode(scancode)
                    resolved = (xkc, False) if xkc else None
                if resolved is None:
                    log.debug("no keycode for keysym %#x", keysym)
                    return
                keycode, shift = resolved
                # Shift as the keysym needs it, whatever the viewer holds: added for the press,
                # or the viewer's Shift lifted for it (an upper-case letter under Caps Lock).
                held = self._held_shift_keys()
                added = [self._shift_keycode] if shift and not held and self._shift_keycode else []
                lifted = held if shift is False else []
                for shift_key in added:
                    self._fake(X.KeyPress, shift_key)
                for shift_key in lifted:
                    self._fake(X.KeyRelease, shift_key)
                self._fake(X.KeyPress, keycode)
                for shift_key in added:
                    self._fake(X.KeyRelease, shift_key)
                for shift_key in lifted:
                    self._fake(X.KeyPress, shift_key)
                if scancode is not None:
                    self._pressed_scancodes[scancode] = keycode
                else:
                    self._pressed[keysym] = keycode
            else:
                keycode_held: int | None = None
                if scancode is not None:
                    keycode_held = self._pressed_scancodes.pop(scancode, None)
                if keycode_held is None:
                    for sym in [keysym, *_char_keysym_variants(keysym)]:
                        if sym in self._pressed:
                            keycode_held = self._pressed.pop(sym)
                            break
                if keycode_held is None:
                    return  # never pressed through us: releasing it could confuse X
                self._fake(X.KeyRelease, keycode_held)
            self._xd.flush()

    def ctrl_alt_del(self) -> None:
        """Ctrl-Alt-Del as one action."""
        with self._lock:
            if not self._allowed:
                return
            for sym in (XK_CONTROL_L, XK_ALT_L, XK_DELETE):
                self.key(True, sym)
            for sym in (XK_DELETE, XK_ALT_L, XK_CONTROL_L):
                self.key(False, sym)

    def type_text(self, text: str) -> None:
        """Type a string (each character as its keysym), e.g. for credential injection."""
        for char in text:
            keysym = keysym_for_char(char)
            self.key(True, keysym)
            self.key(False, keysym)

    # -- pointer ---------------------------------------------------------------------------

    def pointer(self, buttons: int, x: int, y: int) -> None:
        """An RFB pointer event: move, then press/release what changed in the mask (buttons
        1-3, wheel 4-7 as press/release pairs, 8 = back); a held button while moving drags."""
        from Xlib import X

        with self._lock:
            if not self._allowed:
                return
            ox, oy = self.offset
            self._fake(X.MotionNotify, 0, x=x + ox, y=y + oy)
            changed = buttons ^ self._buttons
            for bit in range(8):
                if changed & (1 << bit):
                    pressed = bool(buttons & (1 << bit))
                    self._fake(X.ButtonPress if pressed else X.ButtonRelease, bit + 1)
            self._buttons = buttons
            self._xd.flush()

    def release_all(self) -> None:
        from Xlib import X

        with self._lock:
            for bit in range(8):
                if self._buttons & (1 << bit):
                    self._fake(X.ButtonRelease, bit + 1)
            self._buttons = 0
            for keycode in {*self._pressed.values(), *self._pressed_scancodes.values()}:
                self._fake(X.KeyRelease, keycode)
            self._pressed.clear()
            self._pressed_scancodes.clear()
            self._xd.flush()


def _levels_for(keysym: int) -> list[int]:
    """What a spare keycode gets for `keysym`: a letter in both cases (small, then capital),
    so that Caps Lock works on it as on any letter key; anything else on both levels."""
    char = _keysym_char(keysym)
    if char and len(char.lower()) == len(char.upper()) == 1 and char.lower() != char.upper():
        return [keysym_for_char(char.lower()), keysym_for_char(char.upper())]
    return [keysym, keysym]


def _keysym_char(keysym: int) -> str | None:
    """The character of a Latin-1 or Unicode keysym (others: None)."""
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if keysym & 0xFF000000 == 0x01000000:
        return chr(keysym & 0x00FFFFFF)
    return None


def keysym_for_char(char: str) -> int:
    """X keysym for a character: Latin-1 directly, control characters as keys, else Unicode."""
    code = ord(char)
    specials = {"\n": 0xFF0D, "\r": 0xFF0D, "\t": 0xFF09, "\b": 0xFF08, "\x1b": 0xFF1B}
    if char in specials:
        return specials[char]
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    return 0x01000000 | code
