"""The sign that the screen is shared: a thin coloured frame along the screen's edges and a
small badge at the top ("Viewed by …" / "Controlled by …"), always on top, never taking the
focus (override-redirect windows, which window managers leave alone). It stays in what the
technician receives: the capture does not skip it (masking windows out of an X capture needs
XComposite); seeing the frame tells him too that the customer sees it."""

from __future__ import annotations

import tkinter as tk

FRAME_PIXELS = 4
VIEW_COLOUR = "#f59e0b"  # amber: seen
CONTROL_COLOUR = "#dc2626"  # red: controlled
TITLE = "relaydesk sharing indicator"


class SharingIndicator:
    def __init__(self, root: tk.Tk) -> None:
        self.root = root
        self.windows: list[tk.Toplevel] = []
        self.badge: tk.Label | None = None
        self.text: str | None = None

    def _edge(self, geometry: str, colour: str) -> tk.Toplevel:
        edge = tk.Toplevel(self.root, background=colour, name=f"edge{len(self.windows)}")
        edge.wm_title(TITLE)
        edge.overrideredirect(True)
        edge.geometry(geometry)
        edge.attributes("-topmost", True)
        self.windows.append(edge)
        return edge

    def show(self, text: str | None, control: bool) -> None:
        if text == self.text:
            return
        self.hide()
        if text is None:
            return
        self.text = text
        colour = CONTROL_COLOUR if control else VIEW_COLOUR
        width, height = self.root.winfo_screenwidth(), self.root.winfo_screenheight()
        edge = FRAME_PIXELS
        self._edge(f"{width}x{edge}+0+0", colour)
        self._edge(f"{width}x{edge}+0+{height - edge}", colour)
        self._edge(f"{edge}x{height}+0+0", colour)
        self._edge(f"{edge}x{height}+{width - edge}+0", colour)
        badge = self._edge("+0+0", colour)
        label = tk.Label(
            badge, text=f"● {text}", background=colour, foreground="white", padx=10, pady=2
        )
        label.pack()
        badge.update_idletasks()
        badge.geometry(f"+{(width - label.winfo_reqwidth()) // 2}+{edge}")
        self.badge = label

    def hide(self) -> None:
        for window in self.windows:
            window.destroy()
        self.windows.clear()
        self.badge = None
        self.text = None
