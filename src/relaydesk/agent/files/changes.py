"""The changes a technician makes on the device: new folder, rename, delete (recursive too), each
acting on the folder descriptor the confinement's walk opened, by the entry's own name."""

from __future__ import annotations

import errno
import os
import stat

from relaydesk.agent.files.confinement import (
    READ_FOLDER_FLAGS,
    Confinement,
    Refusal,
    lstat_in,
    refusal_of,
)
from relaydesk.agent.files.entries import entry_at
from relaydesk.protocol import files as fp


def make_folder(confinement: Confinement, path: str) -> fp.Entry:
    with confinement.spot(path, "created") as spot:
        os.mkdir(spot.name, dir_fd=spot.folder)
        return entry_at(spot)


def rename(confinement: Confinement, path: str, to: str) -> fp.Entry:
    """Moves an entry (a link as itself) to a new full path, both inside the roots."""
    with confinement.spot(path, "renamed") as source, confinement.spot(to, "replaced") as target:
        if lstat_in(source) is None:
            raise Refusal("not_found", f"'{path}' does not exist.")
        if lstat_in(target) is not None:
            raise Refusal("exists", f"'{to}' already exists.")
        os.rename(source.name, target.name, src_dir_fd=source.folder, dst_dir_fd=target.folder)
        return entry_at(target)


def delete(confinement: Confinement, path: str, recursive: bool) -> None:
    """Deletes an entry; a link is removed as itself, a folder only when empty unless
    `recursive`."""
    with confinement.spot(path, "deleted") as spot:
        info = lstat_in(spot)
        if info is None:
            raise Refusal("not_found", f"'{path}' does not exist.")
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(spot.name, dir_fd=spot.folder)
        elif recursive:
            remove_tree(spot.folder, spot.name, spot.path)
        else:
            os.rmdir(spot.name, dir_fd=spot.folder)


def _open_folder(parent: int, name: str, shown: str) -> int | None:
    """The folder `name` in `parent` opened for reading; None when it is no folder (any more,
    e.g. swapped for a link): then it is removed as an entry of its own."""
    try:
        return os.open(name, READ_FOLDER_FLAGS, dir_fd=parent)
    except OSError as error:
        if error.errno in (errno.ENOTDIR, errno.ELOOP):
            return None
        raise refusal_of(error, shown) from None


def remove_tree(parent: int, name: str, shown: str) -> None:
    """Empties and removes the folder `name` of the open folder `parent`, descriptor by
    descriptor (never by path, never through a link), depth first without recursion."""
    top = _open_folder(parent, name, shown)
    if top is None:
        os.unlink(name, dir_fd=parent)
        return
    # Each level: (its descriptor, its parent's descriptor, its name in the parent).
    levels: list[tuple[int, int, str]] = [(top, parent, name)]
    try:
        while levels:
            fd = levels[-1][0]
            child: tuple[int, int, str] | None = None
            with os.scandir(fd) as found:
                for item in found:
                    if item.is_dir(follow_symlinks=False):
                        opened = _open_folder(fd, item.name, shown)
                        if opened is not None:
                            child = (opened, fd, item.name)
                            break
                    os.unlink(item.name, dir_fd=fd)
            if child is not None:
                levels.append(child)
                continue
            fd, outer, own = levels.pop()
            os.close(fd)
            os.rmdir(own, dir_fd=outer)
    finally:
        for fd, _, _ in levels:
            os.close(fd)
