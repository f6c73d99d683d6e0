"""The file manager as a tunnel tool (TOOL-4), serving relaydesk.protocol.files.

Confinement: every path is absolute, has no "..", and is made canonical (symlinks resolved)
before it is compared with the allowed roots the server sent with the tunnel (no roots: the whole
device). Operations on an entry itself (delete, rename) resolve its folder and keep its own name,
so a symlink is removed, never its target. Files are opened with O_NOFOLLOW and, where /proc
exists, the opened descriptor's real path is checked against the roots again, which closes the
gap between the check and the open.

Rights: "upload" covers every change (upload, new folder, rename, delete), "download" covers
downloads; listing needs either (the server opens no tunnel without one).

Uploads are written to ".<name>.relaydesk-part" beside the target and renamed over it only once
the SHA-256 of the whole file matches the console's; a broken connection leaves the partial
file, and the next upload of the same target resumes from its length (its prefix is hashed
again from disk). Downloads resume from an offset; folders stream as a tar archive generated on
the fly. Memory stays bounded: one chunk at a time, never a whole file."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import shutil
import stat
import tarfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from relaydesk.agent.tunnels import ByteStream
from relaydesk.protocol import files as fp
from relaydesk.protocol.messages import FileGrant, FileTransferred

PROGRESS_EVERY = 4 * 1024 * 1024
READ_BYTES = fp.CHUNK_BYTES
Report = Callable[[FileTransferred], None]
FileHandler = Callable[[ByteStream, FileGrant, str, Report], Awaitable[None]]

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
    errno.ELOOP: "out_of_bounds",
}

# Partial files being written by any tunnel of this agent: a second writer is refused as busy.
_writing: set[str] = set()


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def refusal_of(error: OSError, path: str) -> Refusal:
    code = _ERRNO_CODES.get(error.errno or 0, "io_error")
    reason = error.strerror or type(error).__name__
    if code == "out_of_bounds":
        reason = "a symbolic link appeared in the way"
    return Refusal(code, f"{path}: {reason}.")


# --- confinement ----------------------------------------------------------------------------
class Confinement:
    def __init__(self, roots: list[str]) -> None:
        self.roots = sorted({os.path.realpath(root) for root in roots})

    @property
    def unrestricted(self) -> bool:
        return not self.roots

    def contains(self, real: str) -> bool:
        if self.unrestricted:
            return True
        return any(real == root or real.startswith(root.rstrip("/") + "/") for root in self.roots)

    def is_root(self, real: str) -> bool:
        return real in self.roots or real == "/"

    @staticmethod
    def _checked(path: str) -> str:
        if "\x00" in path:
            raise Refusal("invalid_name", "A path cannot contain a NUL character.")
        if not os.path.isabs(path):
            raise Refusal("invalid_name", f"'{path}' is not an absolute path.")
        if ".." in path.replace("\\", "/").split("/"):
            raise Refusal("out_of_bounds", f"'{path}': '..' is not allowed in paths.")
        return path

    def _inside(self, real: str, asked: str) -> str:
        if not self.contains(real):
            raise Refusal("out_of_bounds", f"'{asked}' is outside the allowed paths.")
        return real

    def resolve(self, path: str) -> str:
        """The canonical path (symlinks followed), inside the roots."""
        return self._inside(os.path.realpath(self._checked(path)), path)

    def resolve_entry(self, path: str) -> str:
        """The entry itself: its folder canonical and inside the roots, its own name kept."""
        self._checked(path)
        trimmed = path.rstrip("/") or "/"
        if trimmed == "/":
            return self._inside("/", path)
        folder, name = os.path.split(trimmed)
        real = os.path.join(os.path.realpath(folder), name)
        self._inside(os.path.realpath(folder), path)
        return self._inside(real, path)

    def check_open(self, fd: int, asked: str) -> None:
        """After open: where the descriptor really points must still be inside (races)."""
        link = f"/proc/self/fd/{fd}"
        if self.unrestricted or not os.path.exists(link):
            return
        if not self.contains(os.readlink(link)):
            raise Refusal("out_of_bounds", f"'{asked}' is outside the allowed paths.")


def check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\x00" in name:
        raise Refusal("invalid_name", f"'{name}' is not a valid file name.")
    if len(name.encode(errors="surrogateescape")) > 255:
        raise Refusal("invalid_name", "The name is longer than 255 bytes.")


# --- entries --------------------------------------------------------------------------------
def entry_of(path: str) -> fp.Entry:
    info = os.lstat(path)
    link: str | None = None
    kind: fp.EntryType
    if stat.S_ISLNK(info.st_mode):
        link = os.readlink(path)
        try:
            info = os.stat(path)
        except OSError:
            kind = "missing"
        else:
            kind = _kind(info.st_mode)
    else:
        kind = _kind(info.st_mode)
    name = os.path.basename(path.rstrip("/")) or "/"
    return fp.Entry(
        name=name,
        path=path,
        type=kind,
        size=info.st_size if kind == "file" else 0,
        mtime=info.st_mtime,
        mode=stat.S_IMODE(info.st_mode),
        hidden=name.startswith("."),
        link=link,
    )


def _kind(mode: int) -> fp.EntryType:
    if stat.S_ISDIR(mode):
        return "directory"
    return "file" if stat.S_ISREG(mode) else "other"


def listing(real: str) -> tuple[list[fp.Entry], bool]:
    entries: list[fp.Entry] = []
    with os.scandir(real) as found:
        for item in found:
            if len(entries) >= fp.MAX_LISTING_ENTRIES:
                return entries, True
            with contextlib.suppress(OSError):
                entries.append(entry_of(os.path.join(real, item.name)))
    return entries, False


def roots_of(confinement: Confinement) -> list[fp.Root]:
    if confinement.unrestricted:
        places = ["/", os.path.expanduser("~")]
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


# --- reading --------------------------------------------------------------------------------
def open_for_reading(confinement: Confinement, real: str, asked: str) -> int:
    fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        confinement.check_open(fd, asked)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refusal("is_directory", f"'{asked}' is not a regular file.")
    except BaseException:
        os.close(fd)
        raise
    return fd


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


def tar_chunks(folder: str, digest: hashlib._Hash, offset: int) -> Iterator[bytes]:
    """A tar archive of `folder` generated entry by entry (sorted, so the same folder gives the
    same bytes and a download can resume), hashed whole, the first `offset` bytes not yielded.
    Symbolic links are stored as links, never followed; unreadable files are left out."""
    base = os.path.basename(folder.rstrip("/")) or "root"
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

    def header(
        name: str, info: os.stat_result, kind: bytes, size: int = 0, link: str = ""
    ) -> bytes:
        entry = tarfile.TarInfo(name)
        entry.type, entry.size, entry.linkname = kind, size, link
        entry.mtime, entry.mode = int(info.st_mtime), stat.S_IMODE(info.st_mode)
        return entry.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")

    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        relative = os.path.relpath(dirpath, folder)
        prefix = base if relative == "." else f"{base}/{relative}"
        with contextlib.suppress(OSError):
            yield from emit(header(prefix + "/", os.lstat(dirpath), tarfile.DIRTYPE))
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in sorted(filenames + links):
            path = os.path.join(dirpath, name)
            try:
                info = os.lstat(path)
                if stat.S_ISLNK(info.st_mode):
                    target = os.readlink(path)
                    yield from emit(header(f"{prefix}/{name}", info, tarfile.SYMTYPE, link=target))
                    continue
                if not stat.S_ISREG(info.st_mode):
                    continue
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            except OSError:
                continue
            try:
                size = os.fstat(fd).st_size
                yield from emit(header(f"{prefix}/{name}", info, tarfile.REGTYPE, size))
                left = size
                while left:
                    chunk = os.read(fd, min(READ_BYTES, left)) or bytes(min(READ_BYTES, left))
                    left -= len(chunk)
                    yield from emit(chunk)
                if size % tarfile.BLOCKSIZE:
                    yield from emit(bytes(tarfile.BLOCKSIZE - size % tarfile.BLOCKSIZE))
            finally:
                os.close(fd)
        dirnames[:] = [d for d in dirnames if d not in links]
    yield from emit(bytes(2 * tarfile.BLOCKSIZE))
    if position % tarfile.RECORDSIZE:
        yield from emit(bytes(tarfile.RECORDSIZE - position % tarfile.RECORDSIZE))
    if pending:
        yield bytes(pending)


# --- writing --------------------------------------------------------------------------------
def partial_path(target: str) -> str:
    folder, name = os.path.split(target)
    return os.path.join(folder, f".{name}{fp.PARTIAL_SUFFIX}")


@dataclass
class UploadInProgress:
    request_id: int
    target: str
    partial: str
    size: int
    overwrite: bool
    fd: int
    digest: hashlib._Hash
    written: int
    reported: int = 0
    # The chunk being hashed and written in a worker thread, if any.
    writing: asyncio.Future[None] | None = None

    def append(self, data: bytes | memoryview) -> None:
        self.digest.update(data)
        write_all(self.fd, data)

    async def write(self, data: bytes | memoryview) -> None:
        """Hashes and writes a chunk in a worker thread. Shielded: should the tunnel end
        meanwhile, the thread still finishes its write, and `close` waits for it."""
        self.writing = asyncio.ensure_future(asyncio.to_thread(self.append, data))
        await asyncio.shield(self.writing)

    def close(self) -> None:
        """Closes the partial file, once the thread writing into it (if any) is done."""
        if self.writing is not None and not self.writing.done():
            self.writing.add_done_callback(lambda _: self._close_now())
        else:
            self._close_now()

    def _close_now(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        _writing.discard(self.partial)


def begin_upload(confinement: Confinement, request: fp.Upload) -> UploadInProgress:
    target = confinement.resolve(request.path)
    check_name(os.path.basename(target))
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise Refusal(
            "not_found" if not os.path.exists(folder) else "not_directory",
            f"The folder of '{request.path}' does not exist.",
        )
    if os.path.isdir(target):
        raise Refusal("is_directory", f"'{request.path}' is a folder.")
    if os.path.lexists(target) and not request.overwrite:
        raise Refusal("exists", f"'{request.path}' already exists.")
    partial = partial_path(target)
    if partial in _writing:
        raise Refusal("busy", f"'{request.path}' is being uploaded by another transfer.")
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(partial, flags, 0o666)
    except OSError as error:
        raise refusal_of(error, request.path) from None
    digest = hashlib.sha256()
    try:
        confinement.check_open(fd, request.path)
        on_disk = os.fstat(fd).st_size
        resume_at = min(request.offset, on_disk, request.size)
        os.ftruncate(fd, resume_at)
        hash_prefix(fd, resume_at, digest)
        os.lseek(fd, resume_at, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    _writing.add(partial)
    return UploadInProgress(
        request.id, target, partial, request.size, request.overwrite, fd, digest, resume_at
    )


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def finish_upload(upload: UploadInProgress, sha256: str) -> None:
    if upload.digest.hexdigest() != sha256:
        upload.close()
        with contextlib.suppress(OSError):
            os.unlink(upload.partial)
        raise Refusal(
            "hash_mismatch",
            "The file's SHA-256 does not match what was sent; the partial file was removed.",
        )
    os.fsync(upload.fd)
    upload.close()
    if not upload.overwrite and os.path.lexists(upload.target):
        raise Refusal("exists", f"'{upload.target}' appeared during the upload.")
    os.replace(upload.partial, upload.target)


# --- the tool -------------------------------------------------------------------------------
@dataclass
class FileTool:
    stream: ByteStream
    grant: FileGrant
    tunnel_id: str
    report: Report
    protocol: fp.AgentEnd = field(default_factory=fp.AgentEnd)
    uploads: dict[int, UploadInProgress] = field(default_factory=dict)
    downloads: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    acks: dict[int, asyncio.Event] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.confinement = Confinement(list(self.grant.roots))

    async def send(self, frame: bytes) -> None:
        await self.stream.write(frame)

    async def flush(self) -> None:
        for frame in self.protocol.data_to_send():
            await self.send(frame)

    def require(self, right: Literal["upload", "download"]) -> None:
        if not getattr(self.grant, right):
            what = "upload or change files" if right == "upload" else "download files"
            raise Refusal("not_permitted", f"Your role does not allow you to {what}.")

    def _report(
        self, direction: Literal["upload", "download"], kind: str, path: str, size: int, sha256: str
    ) -> None:
        self.report(
            FileTransferred(
                type="file_transfer",
                tunnel_id=self.tunnel_id,
                direction=direction,
                kind="archive" if kind == "archive" else "file",
                path=path,
                size=size,
                sha256=sha256,
            )
        )

    async def run(self) -> None:
        try:
            while message := await self.stream.read():
                for event in self.protocol.receive(message):
                    await self.handle(event)
                await self.flush()
        finally:
            for task in self.downloads.values():
                task.cancel()
            for upload in self.uploads.values():
                upload.close()  # the partial file stays for a resume

    async def handle(self, event: object) -> None:
        if isinstance(event, fp.UploadChunk):
            request_id = event.request_id
        else:
            request_id = getattr(event, "id", 0)
        try:
            reply = await self.answer(event)
        except Refusal as refusal:
            await self._fail(request_id, refusal.code, refusal.message)
        except OSError as error:
            named = refusal_of(error, getattr(event, "path", ""))
            await self._fail(request_id, named.code, named.message)
        else:
            if reply is not None:
                await self.send(reply)

    async def _fail(self, request_id: int, code: str, message: str) -> None:
        upload = self.uploads.pop(request_id, None)
        if upload is not None:
            upload.close()
        await self.send(self.protocol.error(request_id, code, message))

    async def answer(self, event: object) -> bytes | None:
        if isinstance(event, fp.Roots | fp.ListDir | fp.Stat | fp.MakeDir | fp.Rename | fp.Delete):
            return await asyncio.to_thread(self.operate, event)
        c = self.confinement
        if isinstance(event, fp.Upload):
            self.require("upload")
            upload = await asyncio.to_thread(begin_upload, c, event)
            self.uploads[event.id] = upload
            return self.protocol.upload_ready(event.id, upload.written)
        if isinstance(event, fp.UploadChunk):
            return await self.on_chunk(event)
        if isinstance(event, fp.UploadEnd):
            upload = self.uploads.pop(event.id)
            try:
                await asyncio.to_thread(finish_upload, upload, event.sha256)
            finally:
                upload.close()
            sha256 = upload.digest.hexdigest()
            self._report("upload", "file", upload.target, upload.size, sha256)
            return self.protocol.upload_done(event.id, upload.target, upload.size, sha256)
        if isinstance(event, fp.Download):
            self.require("download")
            real = c.resolve(event.path)
            task = asyncio.create_task(self.download(event, real))
            self.downloads[event.id] = task
            self.acks[event.id] = asyncio.Event()
            task.add_done_callback(lambda _: self._download_over(event.id))
            return None
        if isinstance(event, fp.Ack):
            if (woken := self.acks.get(event.id)) is not None:
                woken.set()
            return None
        if isinstance(event, fp.Cancel):
            return await self.cancel(event.id)
        return None  # violations were answered by the protocol machine

    def operate(self, event: object) -> bytes:
        """The quick requests, run in a worker thread (they touch the disk)."""
        c = self.confinement
        if isinstance(event, fp.Roots):
            roots = roots_of(c)
            return fp.encode(fp.RootsList(t="roots_list", id=event.id, roots=roots))
        if isinstance(event, fp.ListDir):
            real = c.resolve(event.path)
            if not os.path.isdir(real):
                code = "not_directory" if os.path.exists(real) else "not_found"
                raise Refusal(code, f"'{event.path}' is not a folder.")
            entries, truncated = listing(real)
            return fp.encode(
                fp.Listing(
                    t="listing", id=event.id, path=real, entries=entries, truncated=truncated
                )
            )
        if isinstance(event, fp.Stat):
            entry = entry_of(c.resolve_entry(event.path))
            return fp.encode(fp.EntryReply(t="entry", id=event.id, entry=entry))
        if isinstance(event, fp.MakeDir):
            self.require("upload")
            real = c.resolve_entry(event.path)
            check_name(os.path.basename(real))
            if not c.contains(os.path.realpath(os.path.dirname(real))):
                raise Refusal("out_of_bounds", f"'{event.path}' is outside the allowed paths.")
            os.mkdir(real)
            return fp.encode(fp.EntryReply(t="entry", id=event.id, entry=entry_of(real)))
        if isinstance(event, fp.Rename):
            self.require("upload")
            source = c.resolve_entry(event.path)
            target = c.resolve_entry(event.to)
            check_name(os.path.basename(target))
            if c.is_root(source):
                raise Refusal("out_of_bounds", "An allowed root itself cannot be renamed.")
            if not os.path.lexists(source):
                raise Refusal("not_found", f"'{event.path}' does not exist.")
            if os.path.lexists(target):
                raise Refusal("exists", f"'{event.to}' already exists.")
            os.rename(source, target)
            return fp.encode(fp.EntryReply(t="entry", id=event.id, entry=entry_of(target)))
        if isinstance(event, fp.Delete):
            self.require("upload")
            real = c.resolve_entry(event.path)
            if c.is_root(real):
                raise Refusal("out_of_bounds", "An allowed root itself cannot be deleted.")
            info = os.lstat(real)
            if stat.S_ISDIR(info.st_mode):
                if event.recursive:
                    shutil.rmtree(real)
                else:
                    os.rmdir(real)
            else:
                os.unlink(real)
            return fp.encode(fp.Ok(t="ok", id=event.id))
        raise Refusal("bad_request", "Unknown request.")

    def _download_over(self, request_id: int) -> None:
        self.downloads.pop(request_id, None)
        self.acks.pop(request_id, None)

    async def on_chunk(self, chunk: fp.UploadChunk) -> bytes | None:
        upload = self.uploads.get(chunk.request_id)
        if upload is None:
            return None
        try:
            await upload.write(chunk.payload)
        except OSError as error:
            raise refusal_of(error, upload.target) from None
        upload.written = chunk.received
        if upload.written - upload.reported >= PROGRESS_EVERY:
            upload.reported = upload.written
            return fp.encode(
                fp.UploadProgress(t="upload_progress", id=upload.request_id, bytes=upload.written)
            )
        return None

    async def cancel(self, request_id: int) -> bytes:
        upload = self.uploads.pop(request_id, None)
        if upload is not None:
            upload.close()
            with contextlib.suppress(OSError):
                os.unlink(upload.partial)
        task = self.downloads.pop(request_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        return fp.encode(fp.Cancelled(t="cancelled", id=request_id))

    async def download(self, request: fp.Download, real: str) -> None:
        try:
            await self._download(request, real)
        except Refusal as refusal:
            await self._fail(request.id, refusal.code, refusal.message)
        except OSError as error:
            named = refusal_of(error, request.path)
            await self._fail(request.id, named.code, named.message)

    def _prepare(
        self, request: fp.Download, real: str, digest: hashlib._Hash
    ) -> tuple[Literal["file", "archive"], str, int | None, Iterator[bytes], int | None]:
        if os.path.isdir(real):
            name = (os.path.basename(real.rstrip("/")) or "root") + ".tar"
            return "archive", name, None, tar_chunks(real, digest, request.offset), None
        fd = open_for_reading(self.confinement, real, request.path)
        size = os.fstat(fd).st_size
        if request.offset > size:
            os.close(fd)
            raise Refusal("size_mismatch", f"Offset {request.offset} is beyond the end.")
        return "file", os.path.basename(real), size, file_chunks(fd, request.offset, digest), fd

    async def _download(self, request: fp.Download, real: str) -> None:
        digest = hashlib.sha256()
        kind, name, size, chunks, fd = await asyncio.to_thread(self._prepare, request, real, digest)
        reading: asyncio.Future[bytes] | None = None
        try:
            await self.send(
                fp.encode(
                    fp.DownloadStart(
                        t="download_start",
                        id=request.id,
                        kind=kind,
                        name=name,
                        size=size,
                        offset=request.offset,
                    )
                )
            )
            sent = request.offset
            # The next chunk is read (and hashed) in a thread while this one is being sent.
            reading = asyncio.ensure_future(asyncio.to_thread(next, chunks, b""))
            while chunk := await reading:
                reading = asyncio.ensure_future(asyncio.to_thread(next, chunks, b""))
                while not self.protocol.may_send(request.id, sent):
                    woken = self.acks[request.id]
                    woken.clear()
                    await woken.wait()
                await self.send(fp.data_frame(request.id, chunk))
                sent += len(chunk)
        finally:
            if reading is not None and not reading.done():
                await asyncio.wait({reading})  # the reader thread must be done with the file
            if fd is not None:
                os.close(fd)
        sha256 = digest.hexdigest()
        await self.send(self.protocol.download_end(request.id, sent, sha256))
        self._report("download", kind, real, sent, sha256)


async def serve_files(stream: ByteStream, grant: FileGrant, tunnel_id: str, report: Report) -> None:
    await FileTool(stream, grant, tunnel_id, report).run()
