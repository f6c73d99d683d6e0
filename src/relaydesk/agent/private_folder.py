"""The attended agent's private folder: its key pair and its enrolment (device and session ids),
kept so that an agent restarted on the same computer during its session (after a crash, a kill,
a closed terminal) finds them again and resumes the session instead of being refused because
its key was used.

Where: one folder per server and session key, named by a hash of the two (the name reveals
neither), in a folder of the user's own under the temporary folder (`$TMPDIR`):
`<tmp>/relaydesk-agent-<uid>/<hash>/`. The user's folder is created 0700 and must be a real
folder owned by the user (not a link, not someone else's), or the agent refuses to keep keys
there. Files are 0600.

Who is alive: a running agent holds an exclusive lock (flock) on its folder's `lock` file for its
whole life; the kernel lets go of it when the process ends, however it ends. A second agent for
the same key is refused while the first runs. At start, an agent removes the folders of other
agents that are gone (their lock is free): a crashed agent leaves nothing behind past the next
start. At the end of its session (or when the server refuses it) an agent removes its own."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from relaydesk.protocol import identity

try:
    import fcntl
except ImportError:  # Windows: no flock; folders are reused but never judged abandoned
    fcntl = None  # type: ignore[assignment]

KEY_FILE = "device.key"
ENROLMENT_FILE = "enrolment"
LOCK_FILE = "lock"
# A folder without a lock file was being made when its agent died (or is being made right now).
UNFINISHED_AFTER_SECONDS = 3600.0


class PrivateFolderError(Exception):
    pass


class AlreadyRunning(PrivateFolderError):
    def __init__(self) -> None:
        super().__init__(
            "Another relaydesk-agent with this session key is already running on this computer."
        )


def folder_name(server_url: str, session_key: str) -> str:
    """Keys are typed case- and dash-insensitively; so is the folder found again."""
    key = "".join(session_key.upper().split()).replace("-", "")
    return hashlib.sha256(f"{server_url}\n{key}".encode()).hexdigest()[:32]


def users_folder(base: Path | None = None) -> Path:
    """`<tmp>/relaydesk-agent-<uid>`, made 0700 if missing; refused unless it is a real folder
    of this user's."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    parent = Path(base or tempfile.gettempdir()) / (
        f"relaydesk-agent-{uid}" if uid is not None else "relaydesk-agent"
    )
    with contextlib.suppress(FileExistsError):
        parent.mkdir(mode=0o700)
    found = parent.lstat()
    if not stat.S_ISDIR(found.st_mode) or (uid is not None and found.st_uid != uid):
        raise PrivateFolderError(
            f"{parent} is not a folder of this user's; refusing to keep the agent's keys there."
        )
    if uid is not None and stat.S_IMODE(found.st_mode) != 0o700:
        parent.chmod(0o700)
    return parent


def _lock(path: Path, create: bool) -> int | None:
    """An exclusive lock on `path` (a descriptor to keep open), or None when another process
    holds it. FileNotFoundError when it does not exist and create is False."""
    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | (os.O_CREAT if create else 0)
    fd = os.open(path, flags, 0o600)
    if fcntl is None:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _write_private(path: Path, data: bytes) -> None:
    """Written whole or not at all (a crash mid-write leaves the old file), readable by the
    user only."""
    temporary = path.with_name(f".{path.name}.new")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)


class PrivateFolder:
    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self._lock_fd: int | None = lock_fd

    @classmethod
    def claim(cls, server_url: str, session_key: str, base: Path | None = None) -> PrivateFolder:
        """This key's folder, made or found again and locked for this process; the folders of
        agents that are gone are removed. AlreadyRunning when another agent holds it."""
        parent = users_folder(base)
        path = parent / folder_name(server_url, session_key)
        attempts_left = 3
        while True:
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o700)
            try:
                fd = _lock(path / LOCK_FILE, create=True)
            except FileNotFoundError:
                continue  # removed meanwhile by another agent's clean-up: make it again
            if fd is None:
                if attempts_left == 0:
                    raise AlreadyRunning
                attempts_left -= 1  # perhaps another agent's clean-up looking at it: again
                time.sleep(0.2)
                continue
            try:
                same = os.path.samestat(os.fstat(fd), (path / LOCK_FILE).lstat())
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # locked a lock file that was removed meanwhile: again
        folder = cls(path, fd)
        remove_abandoned(parent, keep=path)
        return folder

    def device_key(self) -> identity.DeviceKey:
        """The key pair this agent enrolled (or will enrol) with."""
        key_file = self.path / KEY_FILE
        try:
            return identity.DeviceKey.from_bytes(key_file.read_bytes())
        except (FileNotFoundError, ValueError):
            key = identity.DeviceKey.generate()
            _write_private(key_file, key.private_bytes())
            return key

    def enrolment(self) -> tuple[int, int] | None:
        """(device id, session id) when this agent was welcomed before."""
        try:
            device_id, session_id = (self.path / ENROLMENT_FILE).read_text().split()
            return int(device_id), int(session_id)
        except (FileNotFoundError, ValueError):
            return None

    def enrol(self, device_id: int, session_id: int) -> None:
        _write_private(self.path / ENROLMENT_FILE, f"{device_id} {session_id}\n".encode())

    def remove(self) -> bool:
        """Removes the folder (and the user's folder when nothing else is left in it)."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        with contextlib.suppress(OSError):
            self.path.parent.rmdir()
        return not self.path.exists()


def remove_abandoned(parent: Path, keep: Path) -> list[Path]:
    """Removes the folders of agents that are gone (lock free), except `keep`."""
    removed: list[Path] = []
    if fcntl is None:
        return removed
    for child in parent.iterdir():
        if child == keep or child.is_symlink() or not child.is_dir():
            continue
        try:
            fd = _lock(child / LOCK_FILE, create=False)
        except FileNotFoundError:
            if time.time() - child.lstat().st_mtime > UNFINISHED_AFTER_SECONDS:
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
            continue
        except OSError:
            continue
        if fd is None:
            continue  # its agent is running
        try:
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
        finally:
            os.close(fd)
    return removed
