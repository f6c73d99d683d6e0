"""The shell tunnel's frames (one WebSocket message = one frame), sans-I/O.

    0x00 data…            terminal bytes, either way
    0x01 cols:u16 rows:u16  the console's terminal size changed
    0x02 code:i32         the shell exited (agent → console)

Anything else is a ShellFrameError; parsing never raises anything else."""

from __future__ import annotations

import struct
from dataclasses import dataclass

DATA, RESIZE, EXIT = 0, 1, 2
MAX_COLUMNS, MAX_ROWS = 1000, 1000


class ShellFrameError(Exception):
    pass


@dataclass(frozen=True)
class Data:
    payload: bytes


@dataclass(frozen=True)
class Resize:
    columns: int
    rows: int


@dataclass(frozen=True)
class Exit:
    code: int


Frame = Data | Resize | Exit


def parse(message: bytes) -> Frame:
    if not message:
        raise ShellFrameError("empty frame")
    kind, body = message[0], message[1:]
    if kind == DATA:
        return Data(body)
    if kind == RESIZE:
        if len(body) != 4:
            raise ShellFrameError(f"resize frame of {len(body)} bytes, expected 4")
        columns, rows = struct.unpack(">HH", body)
        if not (1 <= columns <= MAX_COLUMNS and 1 <= rows <= MAX_ROWS):
            raise ShellFrameError(f"terminal size {columns}x{rows} out of range")
        return Resize(columns, rows)
    if kind == EXIT:
        if len(body) != 4:
            raise ShellFrameError(f"exit frame of {len(body)} bytes, expected 4")
        return Exit(struct.unpack(">i", body)[0])
    raise ShellFrameError(f"unknown frame type {kind}")


def data(payload: bytes) -> bytes:
    return bytes([DATA]) + payload


def resize(columns: int, rows: int) -> bytes:
    return bytes([RESIZE]) + struct.pack(">HH", columns, rows)


def exited(code: int) -> bytes:
    return bytes([EXIT]) + struct.pack(">i", code)
