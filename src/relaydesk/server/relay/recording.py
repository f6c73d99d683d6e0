"""Recording what a shell tunnel shows, as asciicast v2 (the relay's recorder hook) and as a
plain-text transcript. Only the device's output is recorded: what the technician types reaches
the recording through the terminal's echo, and a password typed at a prompt without echo never
does."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from relaydesk.protocol import shell
from relaydesk.server.domain.tunnels import Side, Tunnel

ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]")


def transcript_of(output: bytes) -> str:
    """Terminal output → readable text: escape sequences out, carriage returns resolved."""
    text = ANSI.sub(b"", output).decode("utf-8", errors="replace")
    lines = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        lines.append(raw.rsplit("\r", 1)[-1])
    return "\n".join(lines)


@dataclass
class ShellRecording:
    tunnel: Tunnel
    folder: Path
    started_wall: float = field(default_factory=time.time)
    started: float = field(default_factory=time.monotonic)
    output: bytearray = field(default_factory=bytearray)
    columns: int = 80
    rows: int = 24
    _events: list[str] = field(default_factory=list)
    _sized: bool = False

    def on_message(self, side: Side, message: bytes | str) -> None:
        if not isinstance(message, bytes):
            return
        try:
            frame = shell.parse(message)
        except shell.ShellFrameError:
            return
        at = round(time.monotonic() - self.started, 6)
        if side == "agent" and isinstance(frame, shell.Data):
            self.output += frame.payload
            text = frame.payload.decode("utf-8", errors="replace")
            self._events.append(json.dumps([at, "o", text], ensure_ascii=False))
        elif side == "console" and isinstance(frame, shell.Resize):
            if not self._sized:
                # The console's terminal sends its size as soon as it connects; the shell's
                # first prompt may still arrive before it. The header takes that first size.
                self.columns, self.rows, self._sized = frame.columns, frame.rows, True
            self._events.append(json.dumps([at, "r", f"{frame.columns}x{frame.rows}"]))

    @property
    def cast_path(self) -> Path:
        return self.folder / f"{self.tunnel.id}.cast"

    @property
    def transcript_path(self) -> Path:
        return self.folder / f"{self.tunnel.id}.txt"

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        header = {
            "version": 2,
            "width": self.columns,
            "height": self.rows,
            "timestamp": int(self.started_wall),
            "title": f"session {self.tunnel.session_id} shell",
        }
        body = "\n".join([json.dumps(header), *self._events]) + "\n"
        self.cast_path.write_text(body, encoding="utf-8")
        self.transcript_path.write_text(transcript_of(bytes(self.output)), encoding="utf-8")
