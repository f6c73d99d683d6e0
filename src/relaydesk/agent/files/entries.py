"""What the console is shown of the disk: entries, listings, roots. A symbolic link is shown as
itself (type "link", its own time and mode) and nothing of its target: not where it points, not
the target's size or type."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat

from relaydesk.agent.files.confinement import (
    WALK_FLAGS,
    Confinement,
    Refusal,
    Spot,
    lstat_in,
)
from relaydesk.protocol import files as fp


def kind_of(mode: int) -> fp.EntryType:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "directory"
    return "file" if stat.S_ISREG(mode) else "other"


def entry_of(info: os.stat_result, name: str, path: str) -> fp.Entry:
    kind = kind_of(info.st_mode)
    return fp.Entry(
        name=name,
        path=path,
        type=kind,
        size=info.st_size if kind == "file" else 0,
        mtime=info.st_mtime,
        mode=stat.S_IMODE(info.st_mode),
        hidden=name.startswith("."),
    )


def entry_at(spot: Spot) -> fp.Entry:
    info = lstat_in(spot)
    if info is None:
        raise Refusal("not_found", f"'{spot.path}' does not exist.")
    return entry_of(info, spot.name, spot.path)


def stat_entry(confinement: Confinement, path: str) -> fp.Entry:
    """An entry itself (a root included); a link is looked at, never followed."""
    located = confinement.locate(path)
    if not located.below:
        fd, shown = confinement.open(path, WALK_FLAGS)
        try:
            return entry_of(os.fstat(fd), located.names[-1] if located.names else "/", shown)
        finally:
            os.close(fd)
    with confinement.spot(path, "looked at") as spot:
        return entry_at(spot)


def listing(confinement: Confinement, path: str) -> tuple[str, list[fp.Entry], bool]:
    """The folder's entries (at most MAX_LISTING_ENTRIES), read from its open descriptor."""
    fd, shown = confinement.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO never blocks
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise Refusal("not_directory", f"'{path}' is not a folder.")
        entries: list[fp.Entry] = []
        with os.scandir(fd) as found:
            for item in found:
                if len(entries) >= fp.MAX_LISTING_ENTRIES:
                    return shown, entries, True
                with contextlib.suppress(OSError):
                    info = item.stat(follow_symlinks=False)
                    entries.append(entry_of(info, item.name, f"{shown.rstrip('/')}/{item.name}"))
        return shown, entries, False
    finally:
        os.close(fd)


def roots_of(confinement: Confinement) -> list[fp.Root]:
    if confinement.unrestricted:
        places = ["/", os.path.realpath(os.path.expanduser("~"))]
        with contextlib.suppress(Exception):
            import psutil

            places += [p.mountpoint for p in psutil.disk_partitions(all=False)]
    else:
        places = confinement.roots
    roots: list[fp.Root] = []
    for place in dict.fromkeys(places):
        if not os.path.isdir(place):
            continue
        total: int | None = None
        free: int | None = None
        with contextlib.suppress(OSError):
            usage = shutil.disk_usage(place)
            total, free = usage.total, usage.free
        name = os.path.basename(place.rstrip("/")) or "/"
        roots.append(fp.Root(path=place, name=name, total=total, free=free))
    return roots
