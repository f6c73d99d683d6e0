"""The file manager as a tunnel tool (TOOL-4), serving relaydesk.protocol.files: messages in,
the protocol machine's events to the confinement (confinement.py), the entries (entries.py),
the changes (changes.py) and the transfers (transfers.py), replies out.

Rights: "upload" covers every change (upload, new folder, rename, delete), "download" covers
downloads; listing needs either (the server opens no tunnel without one)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from relaydesk.agent.files import changes, entries, transfers
from relaydesk.agent.files.confinement import Confinement, Refusal, refusal_of
from relaydesk.agent.files.transfers import Outgoing, UploadInProgress
from relaydesk.agent.tunnels import MessageStream
from relaydesk.protocol import files as fp
from relaydesk.protocol.messages import FileChanged, FileGrant, FileReport, FileTransferred

PROGRESS_EVERY = 4 * 1024 * 1024
Report = Callable[[FileReport], None]
FileHandler = Callable[[MessageStream, FileGrant, str, Report], Awaitable[None]]


@dataclass
class FileTool:
    stream: MessageStream
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

    def _report_change(self, event: object) -> None:
        """New folders, renames and deletions go to the session report like transfers."""
        if isinstance(event, fp.MakeDir):
            change = FileChanged(
                type="file_change",
                tunnel_id=self.tunnel_id,
                action="folder_created",
                path=event.path,
            )
        elif isinstance(event, fp.Rename):
            change = FileChanged(
                type="file_change",
                tunnel_id=self.tunnel_id,
                action="renamed",
                path=event.path,
                to=event.to,
            )
        elif isinstance(event, fp.Delete):
            change = FileChanged(
                type="file_change", tunnel_id=self.tunnel_id, action="deleted", path=event.path
            )
        else:
            return
        self.report(change)

    async def run(self) -> None:
        try:
            # An empty message is a (bad) frame like any other; only None ends the tunnel.
            while (message := await self.stream.receive()) is not None:
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
            reply = await asyncio.to_thread(self.operate, event)
            self._report_change(event)  # reached only when the change was made
            return reply
        if isinstance(event, fp.Upload):
            self.require("upload")
            upload = await self.begin_upload(event)
            self.uploads[event.id] = upload
            return self.protocol.upload_ready(event.id, upload.written)
        if isinstance(event, fp.UploadChunk):
            return await self.on_chunk(event)
        if isinstance(event, fp.UploadEnd):
            upload = self.uploads.pop(event.id)
            try:
                await upload.in_thread(lambda: transfers.finish_upload(upload, event.sha256))
            finally:
                upload.close()
            sha256 = upload.digest.hexdigest()
            self._report("upload", "file", upload.path, upload.size, sha256)
            return self.protocol.upload_done(event.id, upload.path, upload.size, sha256)
        if isinstance(event, fp.Download):
            self.require("download")
            digest = hashlib.sha256()
            outgoing = await asyncio.to_thread(
                transfers.open_download, self.confinement, event, digest
            )
            task = asyncio.create_task(self.download(event, outgoing, digest))
            self.downloads[event.id] = task
            self.acks[event.id] = asyncio.Event()
            # Closed when the task is over, even one cancelled before it started.
            task.add_done_callback(lambda _: self._download_over(event.id, outgoing))
            return None
        if isinstance(event, fp.Ack):
            if (woken := self.acks.get(event.id)) is not None:
                woken.set()
            return None
        if isinstance(event, fp.Cancel):
            return await self.cancel(event.id)
        return None  # violations were answered by the protocol machine

    async def begin_upload(self, request: fp.Upload) -> UploadInProgress:
        """A technician whose connection dropped sends the file again at once, often before
        this agent hears that the old tunnel is gone: his new upload takes over his own upload
        of that file, wherever it is, and resumes from what it wrote. Anyone else's is busy."""
        begin = transfers.begin_upload
        technician = self.grant.technician
        try:
            return await asyncio.to_thread(begin, self.confinement, request, technician)
        except transfers.Held as held:
            if held.holder is None or held.holder.technician != technician:
                raise
            await held.holder.give_up()
        return await asyncio.to_thread(begin, self.confinement, request, technician)

    def operate(self, event: object) -> bytes:
        """The quick requests, run in a worker thread (they touch the disk)."""
        c = self.confinement
        if isinstance(event, fp.Roots):
            roots = entries.roots_of(c)
            return fp.encode(fp.RootsList(t="roots_list", id=event.id, roots=roots))
        if isinstance(event, fp.ListDir):
            path, found, truncated = entries.listing(c, event.path)
            return fp.encode(
                fp.Listing(t="listing", id=event.id, path=path, entries=found, truncated=truncated)
            )
        if isinstance(event, fp.Stat):
            entry = entries.stat_entry(c, event.path)
            return fp.encode(fp.EntryReply(t="entry", id=event.id, entry=entry))
        if isinstance(event, fp.MakeDir):
            self.require("upload")
            entry = changes.make_folder(c, event.path)
            return fp.encode(fp.EntryReply(t="entry", id=event.id, entry=entry))
        if isinstance(event, fp.Rename):
            self.require("upload")
            entry = changes.rename(c, event.path, event.to)
            return fp.encode(fp.EntryReply(t="entry", id=event.id, entry=entry))
        if isinstance(event, fp.Delete):
            self.require("upload")
            changes.delete(c, event.path, event.recursive)
            return fp.encode(fp.Ok(t="ok", id=event.id))
        raise Refusal("bad_request", "Unknown request.")

    def _download_over(self, request_id: int, outgoing: Outgoing) -> None:
        outgoing.close()
        self.downloads.pop(request_id, None)
        self.acks.pop(request_id, None)

    async def on_chunk(self, chunk: fp.UploadChunk) -> bytes | None:
        upload = self.uploads.get(chunk.request_id)
        if upload is None:
            return None
        try:
            await upload.write(chunk.payload)
        except OSError as error:
            raise refusal_of(error, upload.path) from None
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
            upload.discard()
        task = self.downloads.pop(request_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        return fp.encode(fp.Cancelled(t="cancelled", id=request_id))

    async def download(
        self, request: fp.Download, outgoing: Outgoing, digest: hashlib._Hash
    ) -> None:
        try:
            await self._download(request, outgoing, digest)
        except Refusal as refusal:
            await self._fail(request.id, refusal.code, refusal.message)
        except OSError as error:
            named = refusal_of(error, request.path)
            await self._fail(request.id, named.code, named.message)

    async def _download(
        self, request: fp.Download, outgoing: Outgoing, digest: hashlib._Hash
    ) -> None:
        chunks = outgoing.chunks
        reading: asyncio.Future[bytes] | None = None
        try:
            await self.send(
                fp.encode(
                    fp.DownloadStart(
                        t="download_start",
                        id=request.id,
                        kind=outgoing.kind,
                        name=outgoing.name,
                        size=outgoing.size,
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
        sha256 = digest.hexdigest()
        await self.send(self.protocol.download_end(request.id, sent, sha256))
        self._report("download", outgoing.kind, outgoing.path, sent, sha256)


async def serve_files(
    stream: MessageStream, grant: FileGrant, tunnel_id: str, report: Report
) -> None:
    await FileTool(stream, grant, tunnel_id, report).run()
