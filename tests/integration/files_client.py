"""A console's side of the files tunnel in Python (what the web app does in TypeScript), over a
real relay WebSocket: requests, uploads and downloads with resume, SHA-256 checked."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import relaydesk.protocol.files as fp

CHUNK = fp.CHUNK_BYTES


class FilesError(Exception):
    def __init__(self, error: fp.Error) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.code = error.code
        self.message = error.message


class FilesClient:
    def __init__(self, websocket: Any) -> None:
        self.ws = websocket
        self.end = fp.ConsoleEnd()

    async def _reply(self, request_id: int) -> Any:
        """The next frame for this request (others, e.g. late progress frames, are skipped)."""
        while True:
            reply = self.end.receive(await self.ws.recv())
            if isinstance(reply, fp.Violation):
                raise AssertionError(f"bad frame from the agent: {reply}")
            about = (
                reply.request_id if isinstance(reply, fp.DownloadChunk) else getattr(reply, "id", 0)
            )
            if about != request_id:
                continue
            if isinstance(reply, fp.Error):
                raise FilesError(reply)
            return reply

    async def ask(self, t: str, **fields: Any) -> Any:
        request_id = self.end.new_id()
        header = fp.REQUESTS.validate_python({"t": t, "id": request_id, **fields})
        await self.ws.send(fp.encode(header))
        return await self._reply(request_id)

    async def roots(self) -> list[fp.Root]:
        return list((await self.ask("roots")).roots)

    async def list(self, path: str) -> fp.Listing:
        reply = await self.ask("list", path=path)
        assert isinstance(reply, fp.Listing)
        return reply

    async def upload(
        self,
        source: Path,
        target: str,
        *,
        offset: int = 0,
        overwrite: bool = False,
        stop_after: int | None = None,
        on_chunk: Callable[[int], None] | None = None,
    ) -> fp.UploadDone | int:
        """Uploads `source` (resuming from up to `offset`); with `stop_after`, returns the bytes
        sent once that many went out, without ending the upload (to cut the connection)."""
        size = os.stat(source).st_size
        request_id = self.end.new_id()
        header = fp.Upload(
            t="upload", id=request_id, path=target, size=size, offset=offset, overwrite=overwrite
        )
        await self.ws.send(fp.encode(header))
        ready = await self._reply(request_id)
        assert isinstance(ready, fp.UploadReady)

        # The agent reports progress while we send: read it meanwhile, or both sides would
        # wait on each other once the WebSocket's buffers are full.
        async def replies() -> fp.UploadDone:
            while not isinstance(reply := await self._reply(request_id), fp.UploadDone):
                pass
            return reply

        reader = asyncio.create_task(replies())
        digest = hashlib.sha256()
        sent = ready.offset
        try:
            with source.open("rb") as f:
                while prefix := f.read(min(CHUNK, ready.offset - f.tell())):
                    digest.update(prefix)
                while chunk := f.read(CHUNK):
                    if reader.done():
                        await reader  # an error from the agent
                    digest.update(chunk)
                    await self.ws.send(fp.data_frame(request_id, chunk))
                    sent += len(chunk)
                    if on_chunk is not None:
                        on_chunk(sent)
                    if stop_after is not None and sent >= stop_after:
                        return sent
            end = fp.UploadEnd(t="upload_end", id=request_id, sha256=digest.hexdigest())
            await self.ws.send(fp.encode(end))
            return await reader
        finally:
            reader.cancel()

    async def download(
        self,
        path: str,
        target: Path,
        *,
        offset: int = 0,
        window: int = 0,
        stop_after: int | None = None,
    ) -> tuple[fp.DownloadStart, fp.DownloadEnd | None]:
        """Downloads into `target` (appending from `offset`); the end frame's SHA-256 is checked
        against the bytes in `target`."""
        request_id = self.end.new_id()
        header = fp.Download(t="download", id=request_id, path=path, offset=offset, window=window)
        await self.ws.send(fp.encode(header))
        start = await self._reply(request_id)
        assert isinstance(start, fp.DownloadStart)
        position = offset
        acked = offset
        digest = hashlib.sha256()
        with target.open("r+b" if offset else "wb+") as f:
            f.truncate(offset)
            while prefix := f.read(min(CHUNK, offset - f.tell())):
                digest.update(prefix)
            while True:
                reply = await self._reply(request_id)
                if isinstance(reply, fp.DownloadChunk):
                    f.write(reply.payload)
                    digest.update(reply.payload)
                    position += len(reply.payload)
                    if window and position - acked >= window // 2:
                        acked = position
                        ack = fp.Ack(t="ack", id=request_id, bytes=position)
                        await self.ws.send(fp.encode(ack))
                    if stop_after is not None and position >= stop_after:
                        return start, None
                    continue
                assert isinstance(reply, fp.DownloadEnd), reply
                break
        assert reply.size == position == os.stat(target).st_size
        assert reply.sha256 == digest.hexdigest()
        return start, reply


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def random_file(path: Path, size: int) -> Path:
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, 1024 * 1024)
            f.write(os.urandom(n))
            left -= n
    return path
