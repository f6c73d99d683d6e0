"""Uploads and downloads on the disk, each bound to descriptors the confinement opened.

Uploads are written to ".<name>.relaydesk-part" in the target's folder, held open by its
descriptor for the whole upload, and renamed over the target (renameat within that folder) only
once the SHA-256 of the whole file matches the console's; a broken connection leaves the partial
file, and the next upload of the same target resumes from its length (its prefix is hashed again
from disk). A broken connection is often noticed by the technician before the agent: when the
same technician sends the same file again while his cut upload still holds it, the new upload
takes it over (the old one writes nothing more and is told so, should its tunnel still live)
and resumes; anyone else's upload of that file is refused as busy. Downloads resume from an
offset; folders stream as a tar archive generated on the fly from folder descriptors (symbolic
links and unreadable files are left out). Memory stays bounded: one chunk at a time, never a
whole file."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import stat
import tarfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from relaydesk.agent.files.confinement import (
    O_CLOEXEC,
    O_NOFOLLOW,
    READ_FOLDER_FLAGS,
    Confinement,
    Refusal,
    Spot,
    check_name,
    lstat_in,
    refusal_of,
)
from relaydesk.protocol import files as fp

READ_BYTES = fp.CHUNK_BYTES
READ_FILE_FLAGS = os.O_RDONLY | os.O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC  # a FIFO never blocks

T = TypeVar("T")
Key = tuple[int, int, str]  # the target's folder (device, inode) and the target's name

# Partial files being written by any tunnel of this agent, and by which upload (None while it
# is being opened). Uploads begin in worker threads, hence the lock.
_writing: dict[Key, UploadInProgress | None] = {}
_writing_lock = threading.Lock()


class Held(Refusal):
    """The target is being uploaded by another transfer: `holder`, unless it is still opening."""

    def __init__(self, path: str, holder: UploadInProgress | None) -> None:
        super().__init__("busy", f"'{path}' is being uploaded by another transfer.")
        self.holder = holder


# --- reading --------------------------------------------------------------------------------
def hash_prefix(fd: int, length: int, digest: hashlib._Hash) -> None:
    """Feeds the first `length` bytes of an open file into `digest`, a chunk at a time."""
    os.lseek(fd, 0, os.SEEK_SET)
    left = length
    while left:
        chunk = os.read(fd, min(READ_BYTES, left))
        if not chunk:
            raise Refusal("size_mismatch", "The file became shorter while it was read.")
        digest.update(chunk)
        left -= len(chunk)


def file_chunks(fd: int, offset: int, digest: hashlib._Hash) -> Iterator[bytes]:
    hash_prefix(fd, offset, digest)
    while chunk := os.read(fd, READ_BYTES):
        digest.update(chunk)
        yield chunk


def tar_chunks(folder: int, base: str, digest: hashlib._Hash, offset: int) -> Iterator[bytes]:
    """A tar archive of the open `folder` (named `base` in it) generated entry by entry (sorted,
    so the same folder gives the same bytes and a download can resume), hashed whole, the first
    `offset` bytes not yielded. Every entry is opened relative to its folder's descriptor with
    O_NOFOLLOW; symbolic links, special files and what cannot be read are left out."""
    position = 0
    pending = bytearray()

    def emit(data: bytes) -> Iterator[bytes]:
        nonlocal position
        digest.update(data)
        start = max(0, offset - position)
        position += len(data)
        if start < len(data):
            pending.extend(data[start:] if start else data)
        while len(pending) >= READ_BYTES:
            yield bytes(pending[:READ_BYTES])
            del pending[:READ_BYTES]

    def header(name: str, info: os.stat_result, kind: bytes, size: int = 0) -> bytes:
        entry = tarfile.TarInfo(name)
        entry.type, entry.size = kind, size
        entry.mtime, entry.mode = int(info.st_mtime), stat.S_IMODE(info.st_mode)
        return entry.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")

    def file(fd: int, name: str, member: str) -> Iterator[bytes]:
        try:
            opened = os.open(name, READ_FILE_FLAGS, dir_fd=fd)
        except OSError:
            return
        try:
            info = os.fstat(opened)
            if not stat.S_ISREG(info.st_mode):
                return
            size = info.st_size
            yield from emit(header(member, info, tarfile.REGTYPE, size))
            left = size
            while left:
                chunk = os.read(opened, min(READ_BYTES, left)) or bytes(min(READ_BYTES, left))
                left -= len(chunk)
                yield from emit(chunk)
            if size % tarfile.BLOCKSIZE:
                yield from emit(bytes(tarfile.BLOCKSIZE - size % tarfile.BLOCKSIZE))
        finally:
            os.close(opened)

    def tree(fd: int, prefix: str) -> Iterator[bytes]:
        yield from emit(header(prefix + "/", os.fstat(fd), tarfile.DIRTYPE))
        folders: list[str] = []
        for name in sorted(os.listdir(fd)):
            try:
                mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                folders.append(name)
            elif stat.S_ISREG(mode):
                yield from file(fd, name, f"{prefix}/{name}")
        for name in folders:
            try:
                inner = os.open(name, READ_FOLDER_FLAGS, dir_fd=fd)
            except OSError:
                continue
            try:
                yield from tree(inner, f"{prefix}/{name}")
            finally:
                os.close(inner)

    yield from tree(folder, base)
    yield from emit(bytes(2 * tarfile.BLOCKSIZE))
    if position % tarfile.RECORDSIZE:
        yield from emit(bytes(tarfile.RECORDSIZE - position % tarfile.RECORDSIZE))
    if pending:
        yield bytes(pending)


@dataclass
class Outgoing:
    """A download ready to stream: its kind, name, size (None for an archive), chunks."""

    kind: Literal["file", "archive"]
    name: str
    path: str
    size: int | None
    chunks: Iterator[bytes]
    fd: int
    closed: bool = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.fd)


def open_download(
    confinement: Confinement, request: fp.Download, digest: hashlib._Hash
) -> Outgoing:
    fd, shown = confinement.open(request.path, READ_FILE_FLAGS)
    try:
        info = os.fstat(fd)
        own = os.path.basename(shown) or "root"
        if stat.S_ISDIR(info.st_mode):
            chunks = tar_chunks(fd, own, digest, request.offset)
            return Outgoing("archive", own + ".tar", shown, None, chunks, fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refusal("is_directory", f"'{request.path}' is not a regular file.")
        if request.offset > info.st_size:
            raise Refusal("size_mismatch", f"Offset {request.offset} is beyond the end.")
        chunks = file_chunks(fd, request.offset, digest)
        return Outgoing("file", own, shown, info.st_size, chunks, fd)
    except BaseException:
        os.close(fd)
        raise


# --- writing --------------------------------------------------------------------------------
def partial_name(name: str) -> str:
    return f".{name}{fp.PARTIAL_SUFFIX}"


@dataclass
class UploadInProgress:
    request_id: int
    folder: int  # the target's folder, held open for the whole upload
    name: str
    path: str  # canonical, as reported
    size: int
    overwrite: bool
    fd: int
    digest: hashlib._Hash
    written: int
    key: Key
    technician: str  # who sends it (the tunnel's grant)
    reported: int = 0
    # The work on the partial file in a worker thread (a chunk, the end), if any.
    writing: asyncio.Future[Any] | None = None
    taken_over: bool = False
    closed: bool = False

    @property
    def partial(self) -> str:
        return partial_name(self.name)

    def append(self, data: bytes | memoryview) -> None:
        self.digest.update(data)
        write_all(self.fd, data)

    async def in_thread(self, work: Callable[[], T]) -> T:
        """Runs `work` on the partial file in a worker thread. Shielded: should the tunnel end
        meanwhile, the thread still finishes, and `close` and `give_up` wait for it."""
        if self.taken_over or self.closed:
            raise Refusal(
                "busy",
                f"'{self.path}' is now being uploaded by your newer transfer of the same file.",
            )
        writing = asyncio.ensure_future(asyncio.to_thread(work))
        self.writing = writing
        return await asyncio.shield(writing)

    async def write(self, data: bytes | memoryview) -> None:
        """Hashes and writes a chunk in a worker thread."""
        await self.in_thread(lambda: self.append(data))

    async def give_up(self) -> None:
        """A newer upload of the same file by the same technician takes over: nothing more is
        written (this upload fails at its next step), and once the thread at work (if any) is
        done the partial file is closed and free, as it is, for the newer one."""
        self.taken_over = True
        if self.writing is not None:
            await asyncio.wait({self.writing})
        self._close_now()

    def discard(self) -> None:
        """Removes the partial file (cancel, hash mismatch), then closes."""
        with contextlib.suppress(OSError):
            os.unlink(self.partial, dir_fd=self.folder)
        self.close()

    def close(self) -> None:
        """Closes the partial file and its folder, once the thread writing (if any) is done."""
        if self.writing is not None and not self.writing.done():
            self.writing.add_done_callback(lambda _: self._close_now())
        else:
            self._close_now()

    def _close_now(self) -> None:
        if self.closed:
            return
        self.closed = True
        for fd in (self.fd, self.folder):
            with contextlib.suppress(OSError):
                os.close(fd)
        with _writing_lock:
            if _writing.get(self.key) is self:
                del _writing[self.key]


def begin_upload(confinement: Confinement, request: fp.Upload, technician: str) -> UploadInProgress:
    """Opens the partial file and resumes from its length; `Held` (busy) while another upload
    of the same target holds it."""
    with confinement.spot(request.path, "replaced") as spot:
        check_name(partial_name(spot.name))
        existing = lstat_in(spot)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise Refusal("is_directory", f"'{request.path}' is a folder.")
        if existing is not None and not request.overwrite:
            raise Refusal("exists", f"'{request.path}' already exists.")
        here = os.fstat(spot.folder)
        key = (here.st_dev, here.st_ino, spot.name)
        with _writing_lock:
            if key in _writing:
                raise Held(request.path, _writing[key])
            _writing[key] = None
        try:
            upload = _open_partial(spot, request, key, technician)
        except BaseException:
            with _writing_lock:
                del _writing[key]
            raise
        with _writing_lock:
            _writing[key] = upload
    return upload


def _open_partial(spot: Spot, request: fp.Upload, key: Key, technician: str) -> UploadInProgress:
    flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC
    try:
        fd = os.open(partial_name(spot.name), flags, 0o666, dir_fd=spot.folder)
    except OSError as error:
        raise refusal_of(error, request.path) from None
    digest = hashlib.sha256()
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
            raise Refusal("busy", f"The partial file of '{request.path}' is not ours.")
        resume_at = min(request.offset, info.st_size, request.size)
        os.ftruncate(fd, resume_at)
        hash_prefix(fd, resume_at, digest)
        os.lseek(fd, resume_at, os.SEEK_SET)
        folder = os.dup(spot.folder)  # the spot's own descriptor closes with it
    except BaseException:
        os.close(fd)
        raise
    return UploadInProgress(
        request.id,
        folder,
        spot.name,
        spot.path,
        request.size,
        request.overwrite,
        fd,
        digest,
        resume_at,
        key,
        technician,
    )


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def finish_upload(upload: UploadInProgress, sha256: str) -> None:
    """The partial file becomes the target, in the folder it was written in, if its SHA-256
    is the console's; a mismatch removes it. Run by `upload.in_thread`; the caller closes."""
    if upload.digest.hexdigest() != sha256:
        with contextlib.suppress(OSError):
            os.unlink(upload.partial, dir_fd=upload.folder)
        raise Refusal(
            "hash_mismatch",
            "The file's SHA-256 does not match what was sent; the partial file was removed.",
        )
    os.fsync(upload.fd)
    target = Spot(upload.folder, upload.name, upload.path)
    if not upload.overwrite and lstat_in(target) is not None:
        raise Refusal("exists", f"'{upload.path}' appeared during the upload.")
    os.replace(upload.partial, upload.name, src_dir_fd=upload.folder, dst_dir_fd=upload.folder)
