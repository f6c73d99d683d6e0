"""The file manager's tunnel protocol (kind "files", TOOL-4), sans-I/O.

Transport: the relay WebSocket of a files tunnel. Every binary WebSocket message is one frame:

    +----------------+---------------------------+-------------------------------+
    | u32 big-endian |  header: UTF-8 JSON object |  payload: raw bytes (the rest) |
    | header length  |  {"t": type, "id": n, ...} |  only on "data" frames        |
    +----------------+---------------------------+-------------------------------+

`id` is a request id chosen by the console (integer 1 … 2^31-1); every reply and every frame of
a transfer carries the id of the request it belongs to. Frame-level errors that belong to no
request come back as an "error" with id 0. Text WebSocket messages are not part of the protocol.
Limits: header ≤ 4 MiB, payload ≤ 512 KiB (both ends send 512 KiB chunks: every process on the
way holds a few messages at once, so the chunk sets its memory), at most 16 transfers open at once
per tunnel.

Console → agent (requests)
    roots       {}                                        → roots_list
    list        {path}                                    → listing
    stat        {path}                                    → entry
    mkdir       {path}                                    → entry (the new directory)
    rename      {path, to}           `to` is a full path  → entry (at its new place)
    delete      {path, recursive}    folders need recursive=true unless empty → ok
    upload      {path, size, offset, overwrite}          → upload_ready {offset}
                  `offset` is where the console would like to resume (0 = start afresh); the agent
                  answers with the offset it really resumes from (≤ the bytes already on disk in
                  the partial file ".<name>.relaydesk-part" next to the target).
    data        {} + payload         upload bytes, in order, from the acknowledged offset
    upload_end  {sha256}             all `size` bytes sent; SHA-256 (hex) of the whole file
                                                          → upload_done {path, size, sha256}
    download    {path, offset, window}                   → download_start, data…, download_end
                  a folder comes as a tar archive generated on the fly (resumable too: the same
                  archive is generated again and the first `offset` bytes skipped). `window` > 0
                  asks the agent to keep at most that many bytes unacknowledged (send "ack").
    ack         {bytes}              position (from the start of the file or archive) up to
                                     which download bytes arrived (flow control, optional)
    cancel      {}                   ends the transfer `id`; an upload's partial file is removed
                                                          → cancelled

Agent → console (replies)
    roots_list     {roots: [{path, name, total, free}]}
    listing        {path, entries: [Entry], truncated}
    entry          {entry: Entry}
    ok             {}
    upload_ready   {offset}
    upload_progress {bytes}          bytes on disk so far (every few MiB)
    upload_done    {path, size, sha256}
    download_start {kind: "file"|"archive", name, size (null for an archive), offset}
    data           {} + payload
    download_end   {size, sha256}    size and SHA-256 of the whole file or archive
    cancelled      {}
    error          {code, message}   codes: ERROR_CODES below

Entry: {name, path, type: "file"|"directory"|"link"|"other", size, mtime (Unix seconds),
mode (permission bits, e.g. 420 = 0o644), hidden}. A symbolic link is shown as itself ("link",
its own time and mode, size 0) and never followed: nothing of its target (where it points, what
it is, its size) is shown, and a path through it is refused ("is_link").

Parsing never raises anything but FileProtocolError; the two ends' state machines turn that into
a Violation event and an "error" frame, and keep going (an empty message too: it is a frame
shorter than its length prefix, not the end of the tunnel)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_PAYLOAD_BYTES = 512 * 1024
MAX_MESSAGE_BYTES = 4 + MAX_HEADER_BYTES + MAX_PAYLOAD_BYTES
CHUNK_BYTES = MAX_PAYLOAD_BYTES
MAX_OPEN_TRANSFERS = 16
MAX_LISTING_ENTRIES = 20_000
PARTIAL_SUFFIX = ".relaydesk-part"

ERROR_CODES = (
    "out_of_bounds",  # outside the allowed paths (also through "..")
    "is_link",  # a symbolic link in the way: links are never followed
    "is_root",  # an allowed folder itself cannot be deleted, renamed or replaced
    "not_found",
    "exists",
    "busy",  # in use (another transfer writes it, or the device says so)
    "read_only",
    "permission_denied",  # the device's own permissions
    "not_permitted",  # the technician's role does not allow this (upload/download)
    "is_directory",
    "not_directory",
    "not_empty",
    "hash_mismatch",
    "size_mismatch",
    "invalid_name",
    "no_space",
    "io_error",
    "bad_frame",  # malformed or oversized frame
    "bad_request",  # well-formed frame that makes no sense now (unknown id, duplicate id…)
)

RequestId = Annotated[int, Field(ge=1, le=2**31 - 1)]
ReplyId = Annotated[int, Field(ge=0, le=2**31 - 1)]
PathText = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Size = Annotated[int, Field(ge=0, le=2**53)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class FileProtocolError(Exception):
    def __init__(self, code: str, message: str, request_id: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


class Header(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- console → agent ------------------------------------------------------------------------
class Roots(Header):
    t: Literal["roots"]
    id: RequestId


class ListDir(Header):
    t: Literal["list"]
    id: RequestId
    path: PathText


class Stat(Header):
    t: Literal["stat"]
    id: RequestId
    path: PathText


class MakeDir(Header):
    t: Literal["mkdir"]
    id: RequestId
    path: PathText


class Rename(Header):
    t: Literal["rename"]
    id: RequestId
    path: PathText
    to: PathText


class Delete(Header):
    t: Literal["delete"]
    id: RequestId
    path: PathText
    recursive: bool = False


class Upload(Header):
    t: Literal["upload"]
    id: RequestId
    path: PathText
    size: Size
    offset: Size = 0
    overwrite: bool = False


class Data(Header):
    t: Literal["data"]
    id: RequestId


class UploadEnd(Header):
    t: Literal["upload_end"]
    id: RequestId
    sha256: Sha256


class Download(Header):
    t: Literal["download"]
    id: RequestId
    path: PathText
    offset: Size = 0
    window: Size = 0


class Ack(Header):
    t: Literal["ack"]
    id: RequestId
    bytes: Size


class Cancel(Header):
    t: Literal["cancel"]
    id: RequestId


Request = Annotated[
    Roots
    | ListDir
    | Stat
    | MakeDir
    | Rename
    | Delete
    | Upload
    | Data
    | UploadEnd
    | Download
    | Ack
    | Cancel,
    Field(discriminator="t"),
]


# --- agent → console ------------------------------------------------------------------------
class Root(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str
    name: str
    total: int | None = None
    free: int | None = None


EntryType = Literal["file", "directory", "link", "other"]


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    path: str
    type: EntryType
    size: int
    mtime: float
    mode: int
    hidden: bool


class RootsList(Header):
    t: Literal["roots_list"]
    id: ReplyId
    roots: list[Root]


class Listing(Header):
    t: Literal["listing"]
    id: ReplyId
    path: str
    entries: list[Entry]
    truncated: bool = False


class EntryReply(Header):
    t: Literal["entry"]
    id: ReplyId
    entry: Entry


class Ok(Header):
    t: Literal["ok"]
    id: ReplyId


class UploadReady(Header):
    t: Literal["upload_ready"]
    id: ReplyId
    offset: Size


class UploadProgress(Header):
    t: Literal["upload_progress"]
    id: ReplyId
    bytes: Size


class UploadDone(Header):
    t: Literal["upload_done"]
    id: ReplyId
    path: str
    size: Size
    sha256: Sha256


class DownloadStart(Header):
    t: Literal["download_start"]
    id: ReplyId
    kind: Literal["file", "archive"]
    name: str
    size: Size | None
    offset: Size


class DownloadEnd(Header):
    t: Literal["download_end"]
    id: ReplyId
    size: Size
    sha256: Sha256


class Cancelled(Header):
    t: Literal["cancelled"]
    id: ReplyId


class Error(Header):
    t: Literal["error"]
    id: ReplyId
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    message: Annotated[str, StringConstraints(max_length=2000)]


Reply = Annotated[
    RootsList
    | Listing
    | EntryReply
    | Ok
    | UploadReady
    | UploadProgress
    | UploadDone
    | DownloadStart
    | Data
    | DownloadEnd
    | Cancelled
    | Error,
    Field(discriminator="t"),
]

REQUESTS: TypeAdapter[Request] = TypeAdapter(Request)
REPLIES: TypeAdapter[Reply] = TypeAdapter(Reply)
T = TypeVar("T")


# --- frames ---------------------------------------------------------------------------------
def encode(header: Header, payload: bytes | memoryview = b"") -> bytes:
    head = header.model_dump_json(exclude_none=False).encode()
    return b"".join((struct.pack(">I", len(head)), head, payload))


def data_frame(request_id: int, payload: bytes | memoryview) -> bytes:
    """A data frame, built without pydantic (it is the hot path)."""
    head = b'{"t":"data","id":%d}' % request_id
    return b"".join((struct.pack(">I", len(head)), head, payload))


def _guess_id(data: Any) -> int:
    candidate = data.get("id") if isinstance(data, dict) else None
    if isinstance(candidate, int) and not isinstance(candidate, bool) and 0 < candidate < 2**31:
        return candidate
    return 0


def decode(
    message: bytes | bytearray | memoryview, adapter: TypeAdapter[T]
) -> tuple[T, memoryview]:
    """One WebSocket message → (header, payload). Raises only FileProtocolError. The payload of
    a `bytes` message is a view into it, not a copy."""
    size = len(message)
    if size > MAX_MESSAGE_BYTES:
        raise FileProtocolError("bad_frame", f"Frame of {size} bytes is too large.")
    if size < 4:
        raise FileProtocolError("bad_frame", "Frame shorter than its length prefix.")
    view = memoryview(message)
    (header_length,) = struct.unpack(">I", view[:4])
    if header_length > MAX_HEADER_BYTES:
        raise FileProtocolError("bad_frame", f"Header of {header_length} bytes is too large.")
    if header_length > size - 4:
        raise FileProtocolError("bad_frame", "Frame shorter than its header length.")
    payload = view[4 + header_length :]
    if not isinstance(message, bytes):  # a mutable buffer may change under the view: copy it
        payload = memoryview(bytes(payload))
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise FileProtocolError("bad_frame", f"Payload of {len(payload)} bytes is too large.")
    try:
        data: Any = json.loads(bytes(view[4 : 4 + header_length]))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise FileProtocolError("bad_frame", "The header is not valid JSON.") from None
    if not isinstance(data, dict):
        raise FileProtocolError("bad_frame", "The header must be a JSON object.")
    kind, request_id = data.get("t"), _guess_id(data)
    if not isinstance(kind, str):
        raise FileProtocolError("bad_frame", "The header has no type 't'.", request_id)
    try:
        header = adapter.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        if first.get("type") == "union_tag_invalid":
            raise FileProtocolError(
                "bad_frame", f"Unknown frame type '{kind[:40]}'.", request_id
            ) from None
        where = ".".join(str(p) for p in first.get("loc", ())[1:])
        raise FileProtocolError(
            "bad_frame", f"Invalid '{kind[:40]}' frame: {where}: {first.get('msg')}", request_id
        ) from None
    except RecursionError:
        raise FileProtocolError("bad_frame", "The header is nested too deeply.") from None
    if payload and kind != "data":
        raise FileProtocolError("bad_frame", f"A '{kind[:40]}' frame carries no payload.")
    return header, payload


# --- the agent's end ------------------------------------------------------------------------
@dataclass(frozen=True)
class Violation:
    """The console sent something unusable; an error frame went back, the tunnel lives."""

    request_id: int
    code: str
    message: str


@dataclass(frozen=True)
class UploadChunk:
    request_id: int
    payload: bytes | memoryview
    received: int  # bytes of this upload received so far, including `payload`, from offset 0


@dataclass
class _UploadState:
    size: int
    position: int | None = None  # None until upload_ready has been sent
    complete: bool = False


@dataclass
class _DownloadState:
    window: int
    acknowledged: int = 0


@dataclass
class AgentEnd:
    """Requests in (frames → events), replies out (methods → frames). Checks what a single frame
    cannot: ids unique among open transfers, upload bytes only after upload_ready and never beyond
    the declared size, at most MAX_OPEN_TRANSFERS at once."""

    uploads: dict[int, _UploadState] = field(default_factory=dict)
    downloads: dict[int, _DownloadState] = field(default_factory=dict)
    _outgoing: list[bytes] = field(default_factory=list)

    def data_to_send(self) -> list[bytes]:
        frames, self._outgoing = self._outgoing, []
        return frames

    def _violation(
        self, request_id: int, code: str, message: str, ends_upload: bool = False
    ) -> list[object]:
        self._outgoing.append(encode(Error(t="error", id=request_id, code=code, message=message)))
        if ends_upload:
            self.uploads.pop(request_id, None)
        return [Violation(request_id, code, message)]

    def receive(self, message: bytes | bytearray | memoryview) -> list[object]:
        try:
            header, payload = decode(message, REQUESTS)
        except FileProtocolError as error:
            return self._violation(error.request_id, error.code, error.message)
        busy = header.id in self.uploads or header.id in self.downloads
        if isinstance(header, Data):
            upload = self.uploads.get(header.id)
            if upload is None or upload.position is None or upload.complete:
                return self._violation(header.id, "bad_request", "Data for no open upload.")
            upload.position += len(payload)
            if upload.position > upload.size:
                return self._violation(
                    header.id,
                    "size_mismatch",
                    f"More than the announced {upload.size} bytes.",
                    ends_upload=True,
                )
            return [UploadChunk(header.id, payload, upload.position)]
        if isinstance(header, UploadEnd):
            upload = self.uploads.get(header.id)
            if upload is None or upload.position is None or upload.complete:
                return self._violation(header.id, "bad_request", "upload_end for no open upload.")
            if upload.position != upload.size:
                return self._violation(
                    header.id,
                    "size_mismatch",
                    f"The upload ended after {upload.position} of {upload.size} bytes.",
                    ends_upload=True,
                )
            upload.complete = True
            return [header]
        if isinstance(header, Ack):
            state = self.downloads.get(header.id)
            if state is None:
                return []  # an ack racing the end of its download is harmless
            state.acknowledged = max(state.acknowledged, header.bytes)
            return [header]
        if isinstance(header, Cancel):
            self.uploads.pop(header.id, None)
            self.downloads.pop(header.id, None)
            return [header]
        if busy:
            return self._violation(header.id, "bad_request", f"Request id {header.id} is in use.")
        if isinstance(header, Upload | Download):
            if len(self.uploads) + len(self.downloads) >= MAX_OPEN_TRANSFERS:
                return self._violation(
                    header.id, "busy", f"At most {MAX_OPEN_TRANSFERS} transfers at once."
                )
            if isinstance(header, Upload):
                self.uploads[header.id] = _UploadState(header.size)
            else:
                self.downloads[header.id] = _DownloadState(header.window)
        return [header]

    # replies ---------------------------------------------------------------------------------
    def reply(self, header: Header) -> bytes:
        return encode(header)

    def error(self, request_id: int, code: str, message: str) -> bytes:
        self.uploads.pop(request_id, None)
        self.downloads.pop(request_id, None)
        return encode(Error(t="error", id=request_id, code=code, message=message[:2000]))

    def upload_ready(self, request_id: int, offset: int) -> bytes:
        upload = self.uploads.get(request_id)
        if upload is not None:
            upload.position = offset
        return encode(UploadReady(t="upload_ready", id=request_id, offset=offset))

    def upload_done(self, request_id: int, path: str, size: int, sha256: str) -> bytes:
        self.uploads.pop(request_id, None)
        return encode(
            UploadDone(t="upload_done", id=request_id, path=path, size=size, sha256=sha256)
        )

    def download_end(self, request_id: int, size: int, sha256: str) -> bytes:
        self.downloads.pop(request_id, None)
        return encode(DownloadEnd(t="download_end", id=request_id, size=size, sha256=sha256))

    def may_send(self, request_id: int, sent: int) -> bool:
        """Whether a download may send more, `sent` bytes (from its offset 0) being out."""
        state = self.downloads.get(request_id)
        if state is None:
            return False
        return state.window == 0 or sent - state.acknowledged < state.window


# --- the console's end ----------------------------------------------------------------------
@dataclass(frozen=True)
class DownloadChunk:
    request_id: int
    payload: bytes | memoryview


@dataclass
class ConsoleEnd:
    """What a console (browser or test client) needs: requests out, replies in."""

    next_id: int = 1

    def new_id(self) -> int:
        request_id, self.next_id = self.next_id, self.next_id % (2**31 - 1) + 1
        return request_id

    def receive(self, message: bytes | bytearray | memoryview) -> object:
        """A reply header, a DownloadChunk, or a Violation (never raises)."""
        try:
            header, payload = decode(message, REPLIES)
        except FileProtocolError as error:
            return Violation(error.request_id, error.code, error.message)
        if isinstance(header, Data):
            return DownloadChunk(header.id, payload)
        return header
