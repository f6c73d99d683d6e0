"""Where the files tool may act, decided with no gap between the check and the act (TOOL-4).

A path from the console is only text. It is split into names and matched with an allowed root
by those names alone (no file system call). Then it is walked from "/" one name at a time, each
folder opened relative to the one before with O_NOFOLLOW | O_DIRECTORY, and the operation acts
relative to the last opened folder (openat, mkdirat, renameat, unlinkat, fstatat): the path
string is never resolved again. Swapping a folder for a symbolic link after the walk changes
nothing, because the descriptor still names the folder that was checked.

Rules (the same for every request):
- A symbolic link in the middle of a path is never followed, even one that points back inside:
  `is_link`. A link as the last name is the entry itself: it can be looked at (its own lstat,
  never its target), renamed and deleted, never listed, read or written through.
- `..` anywhere is `out_of_bounds`; `.` and names longer than 255 bytes are `invalid_name`.
- An allowed root itself is never deleted, renamed, replaced or created: `is_root`.
- No roots (every path allowed): the root is "/" and the same walk applies.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# Folders on the way are opened only to be walked through (no read permission needed).
WALK_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
# A folder whose entries are read (a listing, an archive, a recursive delete).
READ_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
MAX_NAME_BYTES = 255

_ERRNO_CODES = {
    errno.ENOENT: "not_found",
    errno.EEXIST: "exists",
    errno.EACCES: "permission_denied",
    errno.EPERM: "permission_denied",
    errno.EROFS: "read_only",
    errno.EISDIR: "is_directory",
    errno.ENOTDIR: "not_directory",
    errno.ENOTEMPTY: "not_empty",
    errno.ENOSPC: "no_space",
    errno.EDQUOT: "no_space",
    errno.EBUSY: "busy",
    errno.ETXTBSY: "busy",
    errno.ENAMETOOLONG: "invalid_name",
    errno.EINVAL: "invalid_name",
    errno.ELOOP: "is_link",
}


class Refusal(Exception):
    """A request the files tool answers with an error frame (code and message for people)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def refusal_of(error: OSError, path: str) -> Refusal:
    code = _ERRNO_CODES.get(error.errno or 0, "io_error")
    reason = error.strerror or type(error).__name__
    if code == "is_link":
        reason = "a symbolic link is in the way; links are not followed"
    return Refusal(code, f"{path}: {reason}.")


def names_of(path: str) -> tuple[str, ...]:
    """An absolute path as its names; refuses what could name anything but one entry."""
    if "\x00" in path:
        raise Refusal("invalid_name", "A path cannot contain a NUL character.")
    if not path.startswith("/"):
        raise Refusal("invalid_name", f"'{path}' is not an absolute path.")
    names = tuple(name for name in path.split("/") if name)
    if ".." in names:
        raise Refusal("out_of_bounds", f"'{path}': '..' is not allowed in paths.")
    if "." in names:
        raise Refusal("invalid_name", f"'{path}': '.' names no entry of its own.")
    for name in names:
        if len(name.encode(errors="surrogateescape")) > MAX_NAME_BYTES:
            raise Refusal("invalid_name", f"'{name[:40]}…' is longer than 255 bytes.")
    return names


def check_name(name: str) -> None:
    """A name the files tool may create, delete or rename (one entry, never . or ..)."""
    if not name or name in (".", "..") or "/" in name or "\x00" in name:
        raise Refusal("invalid_name", f"'{name}' is not a valid file name.")
    if len(name.encode(errors="surrogateescape")) > MAX_NAME_BYTES:
        raise Refusal("invalid_name", "The name is longer than 255 bytes.")


def path_of(names: tuple[str, ...]) -> str:
    return "/" + "/".join(names)


@dataclass(frozen=True)
class Located:
    """A path matched with its root: the root's canonical names and the names below it."""

    root: tuple[str, ...]
    below: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return self.root + self.below

    @property
    def path(self) -> str:
        """The canonical path, as the console is told it."""
        return path_of(self.names)


@dataclass(frozen=True)
class Spot:
    """An entry as the tool acts on it: its folder's open descriptor and its own name."""

    folder: int
    name: str
    path: str


def is_link(folder: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def open_in(folder: int, name: str, flags: int, shown: str) -> int:
    """Opens `name` in the open `folder`, never through a symbolic link."""
    try:
        return os.open(name, flags | O_NOFOLLOW | O_CLOEXEC, dir_fd=folder)
    except OSError as error:
        if is_link(folder, name):
            raise Refusal(
                "is_link", f"'{shown}': '{name}' is a symbolic link; links are not followed."
            ) from None
        raise refusal_of(error, shown) from None


def walk(names: tuple[str, ...], shown: str) -> int:
    """The folder named by `names`, opened from "/" one name at a time (the caller closes it)."""
    fd = os.open("/", WALK_FLAGS)
    try:
        for name in names:
            inner = open_in(fd, name, WALK_FLAGS, shown)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


class Confinement:
    """The allowed roots of one tunnel and the only way the files tool reaches the disk."""

    def __init__(self, roots: list[str]) -> None:
        # Roots are made canonical once, when the tunnel opens (an administrator chose them);
        # a request may name a root as configured or canonical, nothing else is resolved.
        self.roots = sorted({os.path.realpath(root) for root in roots})
        self._spellings: dict[tuple[str, ...], tuple[str, ...]] = {}
        for root in roots:
            real = names_of(os.path.realpath(root))
            self._spellings[names_of(os.path.normpath(os.path.abspath(root)))] = real
            self._spellings[real] = real
        if not roots:
            self._spellings[()] = ()

    @property
    def unrestricted(self) -> bool:
        return not self.roots

    def locate(self, path: str) -> Located:
        names = names_of(path)
        for length in range(len(names), -1, -1):
            root = self._spellings.get(names[:length])
            if root is not None:
                return Located(root, names[length:])
        raise Refusal("out_of_bounds", f"'{path}' is outside the allowed paths.")

    def open(self, path: str, flags: int) -> tuple[int, str]:
        """Opens what `path` names (a root included) with `flags` | O_NOFOLLOW: a symbolic
        link as the last name is refused as `is_link`. Answers the descriptor and the canonical
        path; the caller closes the descriptor."""
        located = self.locate(path)
        names, shown = located.names, located.path
        if not names:
            return os.open("/", flags | O_CLOEXEC), shown
        folder = walk(names[:-1], shown)
        try:
            return open_in(folder, names[-1], flags, shown), shown
        finally:
            os.close(folder)

    @contextlib.contextmanager
    def spot(self, path: str, doing: str) -> Iterator[Spot]:
        """An entry strictly below a root, to be `doing` ("deleted", "renamed"...): its folder
        opened by the walk, its own name checked. The root itself is refused as `is_root`."""
        located = self.locate(path)
        if not located.below:
            raise Refusal("is_root", f"'{path}' is an allowed folder itself; it cannot be {doing}.")
        check_name(located.below[-1])
        folder = walk(located.names[:-1], located.path)
        try:
            yield Spot(folder, located.below[-1], located.path)
        finally:
            os.close(folder)


def lstat_in(spot: Spot) -> os.stat_result | None:
    """The entry's own status (a link's, never its target's), or None when there is none."""
    try:
        return os.stat(spot.name, dir_fd=spot.folder, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise refusal_of(error, spot.path) from None
