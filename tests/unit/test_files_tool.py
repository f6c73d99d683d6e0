"""The agent's files tool without a network: the confinement's decisions on a real directory tree
with symbolic links (`.`, `..`, the root, a link in the middle, a link as the last name), a
folder swapped for a link after the walk, the recursive delete, the streamed tar archive
(readable by tarfile, the same bytes twice, resumable), an empty frame, and an upload the disk
cannot take."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import relaydesk.protocol.files as fp
from relaydesk.agent.files import changes, entries, transfers
from relaydesk.agent.files.confinement import Confinement, Refusal
from relaydesk.agent.files.tool import serve_files
from relaydesk.protocol.messages import FileGrant
from tests.fixtures.disk import snapshot


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "root" / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("s" * 1234)
    (tmp_path / "root" / "sub" / "a.txt").write_text("a" * 3000)
    (tmp_path / "root" / ".hidden").write_text("h")
    (tmp_path / "root" / "out").symlink_to(tmp_path / "outside")
    (tmp_path / "root" / "inner").symlink_to(tmp_path / "root" / "sub")
    return tmp_path


def code_of(call: Callable[..., Any], *args: Any) -> str:
    with pytest.raises(Refusal) as caught:
        call(*args)
    return caught.value.code


def test_paths_are_matched_with_the_roots_by_name(tree: Path) -> None:
    root = str(tree / "root")
    c = Confinement([root])
    assert c.locate(f"{root}/sub/a.txt").path == f"{root}/sub/a.txt"
    assert c.locate(f"{root}//sub/").path == f"{root}/sub"
    assert code_of(c.locate, f"{root}/sub/../../outside") == "out_of_bounds"
    assert code_of(c.locate, f"{root}/..") == "out_of_bounds"
    assert code_of(c.locate, f"{root}/.") == "invalid_name"
    assert code_of(c.locate, f"{root}/./sub") == "invalid_name"
    assert code_of(c.locate, str(tree / "outside")) == "out_of_bounds"
    assert code_of(c.locate, f"{root}x") == "out_of_bounds"  # a sibling sharing the prefix
    assert code_of(c.locate, "/") == "out_of_bounds"
    assert code_of(c.locate, "sub/a.txt") == "invalid_name"
    assert code_of(c.locate, f"{root}/a\x00b") == "invalid_name"
    assert code_of(c.locate, f"{root}/{'x' * 256}") == "invalid_name"
    # No roots: "/" is the root, walked the same way.
    everywhere = Confinement([])
    assert everywhere.locate(str(tree / "outside")).path == str(tree / "outside")
    fd, shown = everywhere.open(str(tree / "outside" / "secret"), os.O_RDONLY)
    os.close(fd)
    assert code_of(everywhere.open, f"{root}/out/secret", os.O_RDONLY) == "is_link"
    # A root itself can be looked at (not deleted, see below).
    assert (entries.stat_entry(c, root).name, entries.stat_entry(c, root).type) == (
        "root",
        "directory",
    )
    assert entries.stat_entry(everywhere, "/").name == "/"


def test_a_root_named_through_a_link_is_its_canonical_folder(tree: Path) -> None:
    (tree / "alias").symlink_to(tree / "root")
    c = Confinement([str(tree / "alias")])
    assert c.roots == [str(tree / "root")]
    assert c.locate(f"{tree}/alias/sub").path == f"{tree}/root/sub"
    assert c.locate(f"{tree}/root/sub").path == f"{tree}/root/sub"
    _, found, _ = entries.listing(c, f"{tree}/alias/sub")
    assert [e.name for e in found] == ["a.txt"]


def test_a_link_in_the_middle_is_never_followed(tree: Path) -> None:
    root = str(tree / "root")
    c = Confinement([root])
    before = snapshot(tree)
    source = tree / "up.bin"
    source.write_bytes(b"x")
    upload = fp.Upload(t="upload", id=1, path=f"{root}/out/new.bin", size=1)
    download = fp.Download(t="download", id=1, path=f"{root}/out/secret")
    for call, args in [
        (entries.listing, (c, f"{root}/out")),  # the last name: listed through, never
        (entries.listing, (c, f"{root}/inner")),  # even one pointing back inside
        (entries.stat_entry, (c, f"{root}/out/secret")),
        (entries.stat_entry, (c, f"{root}/inner/a.txt")),
        (changes.make_folder, (c, f"{root}/out/new")),
        (changes.rename, (c, f"{root}/out/secret", f"{root}/stolen")),
        (changes.rename, (c, f"{root}/sub/a.txt", f"{root}/out/a.txt")),
        (changes.delete, (c, f"{root}/out/secret", False)),
        (transfers.begin_upload, (c, upload, "t")),
        (transfers.open_download, (c, download, hashlib.sha256())),
    ]:
        assert code_of(call, *args) == "is_link", (call, args)
    download = fp.Download(t="download", id=1, path=f"{root}/out")
    assert code_of(transfers.open_download, c, download, hashlib.sha256()) == "is_link"
    assert snapshot(tree) == before | {"up.bin": ("file", b"x")}


def test_a_link_as_the_last_name_is_the_entry_itself(tree: Path) -> None:
    root = str(tree / "root")
    c = Confinement([root])
    # Seen as a link, nothing of the target: not its path, size or type.
    _, found, _ = entries.listing(c, root)
    link = {e.name: e for e in found}["out"]
    assert (link.type, link.size) == ("link", 0)
    assert str(tree / "outside") not in link.model_dump_json()
    assert entries.stat_entry(c, f"{root}/out") == link
    # Renamed and deleted as itself; the target stays as it was.
    moved = changes.rename(c, f"{root}/out", f"{root}/sub/out2")
    assert moved.type == "link" and os.readlink(tree / "root/sub/out2") == str(tree / "outside")
    changes.delete(c, f"{root}/sub/out2", True)
    assert not os.path.lexists(tree / "root/sub/out2")
    assert (tree / "outside" / "secret").read_text() == "s" * 1234


def test_dot_dotdot_and_the_root_are_never_deleted_renamed_or_replaced(tree: Path) -> None:
    root = str(tree / "root")
    c = Confinement([root])
    before = snapshot(tree)
    upload_root = fp.Upload(t="upload", id=1, path=root, size=1, overwrite=True)
    for call, args, code in [
        (changes.delete, (c, f"{root}/.", True), "invalid_name"),
        (changes.delete, (c, f"{root}/sub/.", True), "invalid_name"),
        (changes.delete, (c, f"{root}/sub/..", True), "out_of_bounds"),
        (changes.delete, (c, root, True), "is_root"),
        (changes.delete, (c, root + "//", True), "is_root"),
        (changes.rename, (c, root, f"{root}/sub/moved"), "is_root"),
        (changes.rename, (c, f"{root}/sub", root), "is_root"),
        (changes.rename, (c, f"{root}/sub", f"{root}/."), "invalid_name"),
        (changes.rename, (c, f"{root}/.", f"{root}/x"), "invalid_name"),
        (changes.make_folder, (c, root), "is_root"),
        (changes.make_folder, (c, f"{root}/."), "invalid_name"),
        (transfers.begin_upload, (c, upload_root, "t"), "is_root"),
        (changes.delete, (Confinement([]), "/", True), "is_root"),
    ]:
        assert code_of(call, *args) == code, (call, args)
    assert snapshot(tree) == before


def test_an_operation_acts_on_the_folder_it_walked_even_when_swapped_for_a_link(
    tree: Path,
) -> None:
    root = tree / "root"
    c = Confinement([str(root)])
    with c.spot(f"{root}/sub/made", "created") as spot:
        # The attacker's move between the check and the act: the folder becomes a link out.
        (root / "sub").rename(root / "moved")
        (root / "sub").symlink_to(tree / "outside")
        os.mkdir(spot.name, dir_fd=spot.folder)
    assert (root / "moved" / "made").is_dir()
    assert sorted(os.listdir(tree / "outside")) == ["secret"]


def test_the_recursive_delete_walks_descriptors_and_leaves_links_targets_alone(
    tree: Path,
) -> None:
    root = tree / "root"
    deep = root / "sub" / "x" / "y"
    deep.mkdir(parents=True)
    (deep / "f").write_text("f")
    (deep / "out").symlink_to(tree / "outside")
    (root / "sub" / "x" / "dangling").symlink_to(tree / "nowhere")
    changes.delete(Confinement([str(root)]), f"{root}/sub", True)
    assert not (root / "sub").exists()
    assert sorted(os.listdir(tree / "outside")) == ["secret"]
    assert sorted(os.listdir(root)) == [".hidden", "inner", "out"]


def archive(folder: Path, offset: int = 0) -> tuple[bytes, str]:
    digest = hashlib.sha256()
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        data = b"".join(transfers.tar_chunks(fd, folder.name, digest, offset))
    finally:
        os.close(fd)
    return data, digest.hexdigest()


def test_tar_stream_is_a_tar_the_same_twice_and_resumable(tree: Path) -> None:
    whole, digest = archive(tree / "root")
    assert hashlib.sha256(whole).hexdigest() == digest
    assert archive(tree / "root") == (whole, digest)
    tail, tail_digest = archive(tree / "root", 1000)
    assert tail == whole[1000:] and tail_digest == digest
    with tarfile.open(fileobj=io.BytesIO(whole)) as tar:
        names = tar.getnames()
        assert set(names) == {"root", "root/sub", "root/sub/a.txt", "root/.hidden"}
        member = tar.extractfile("root/sub/a.txt")
        assert member is not None and member.read() == b"a" * 3000
    assert str(tree / "outside").encode() not in whole  # links are left out, targets unnamed


class Stream:
    """The tunnel as the files tool sees it: the console's frames in, the agent's out."""

    def __init__(self, frames: list[bytes]) -> None:
        self.incoming = list(frames)
        self.sent: list[object] = []

    async def receive(self) -> bytes | None:
        return self.incoming.pop(0) if self.incoming else None

    async def write(self, data: bytes) -> None:
        self.sent.append(fp.ConsoleEnd().receive(data))


async def test_an_empty_frame_is_answered_and_the_tunnel_lives(tmp_path: Path) -> None:
    stream = Stream([b"", fp.encode(fp.ListDir(t="list", id=3, path=str(tmp_path)))])
    grant = FileGrant(technician="t", upload=True, download=True, roots=[str(tmp_path)])
    await serve_files(stream, grant, "tunnel", lambda _: None)
    error, listing = stream.sent
    assert isinstance(error, fp.Error) and error.code == "bad_frame", error
    assert isinstance(listing, fp.Listing) and listing.path == str(tmp_path)


async def test_a_full_disk_fails_the_upload_it_belongs_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks are written in a worker thread while the next one arrives; a write that fails
    # (here the second: the disk is full) fails its upload, by its id, with the device's reason.
    writes: list[int] = []

    def write_all(fd: int, data: bytes | memoryview) -> None:
        writes.append(len(data))
        if len(writes) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        os.write(fd, data)

    monkeypatch.setattr(transfers, "write_all", write_all)
    chunk = os.urandom(1000)
    upload = fp.Upload(t="upload", id=7, path=str(tmp_path / "f.bin"), size=3 * len(chunk))
    stream = Stream([fp.encode(upload), *(fp.data_frame(7, chunk) for _ in range(3))])
    grant = FileGrant(technician="t", upload=True, download=True, roots=[str(tmp_path)])
    await serve_files(stream, grant, "tunnel", lambda _: None)

    replies = [r for r in stream.sent if getattr(r, "id", None) == 7]
    assert isinstance(replies[0], fp.UploadReady)
    assert isinstance(replies[1], fp.Error) and replies[1].code == "no_space", replies
    assert not any(isinstance(r, fp.UploadDone) for r in stream.sent)
    assert (tmp_path / ".f.bin.relaydesk-part").stat().st_size == len(chunk)  # kept to resume
    assert not (tmp_path / "f.bin").exists()


class LiveTunnel:
    """A tunnel that stays open until the console's side is ended (None); replies in order."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.replies: asyncio.Queue[object] = asyncio.Queue()

    async def receive(self) -> bytes | None:
        return await self.incoming.get()

    async def write(self, data: bytes) -> None:
        await self.replies.put(fp.ConsoleEnd().receive(data))

    def send(self, *frames: bytes | None) -> None:
        for frame in frames:
            self.incoming.put_nowait(frame)

    async def reply(self) -> Any:
        return await asyncio.wait_for(self.replies.get(), 60)


async def test_the_same_technician_sending_a_file_again_takes_over_his_cut_upload(
    tmp_path: Path,
) -> None:
    # The technician's connection dropped in the middle of an upload; the agent has not heard
    # yet (its tunnel lives on). He sends the file again at once: his new upload takes over
    # the cut one and resumes from what it wrote, instead of "busy". Another technician's
    # upload of the same file is still refused, and the cut upload writes nothing more.
    chunks = [os.urandom(1000) for _ in range(3)]
    whole, path = b"".join(chunks), str(tmp_path / "f.bin")
    upload = fp.Upload(t="upload", id=1, path=path, size=len(whole), offset=len(whole))

    def serve(technician: str) -> tuple[LiveTunnel, asyncio.Task[None]]:
        tunnel = LiveTunnel()
        grant = FileGrant(technician=technician, upload=True, download=True, roots=[])
        return tunnel, asyncio.create_task(
            serve_files(tunnel, grant, "tunnel-of-" + technician[:3], lambda _: None)
        )

    cut, cut_serving = serve("ada@example.test")
    # A request after the chunk: its answer means the chunk is on the disk.
    cut.send(
        fp.encode(upload),
        fp.data_frame(1, chunks[0]),
        fp.encode(fp.Stat(t="stat", id=2, path=path)),
    )
    assert isinstance(ready := await cut.reply(), fp.UploadReady) and ready.offset == 0
    assert isinstance(await cut.reply(), fp.Error)  # no f.bin yet: only its partial file

    other, other_serving = serve("bob@example.test")
    other.send(fp.encode(upload))
    refused = await other.reply()
    assert isinstance(refused, fp.Error) and refused.code == "busy", refused

    again, again_serving = serve("ada@example.test")
    again.send(fp.encode(upload))
    assert isinstance(ready := await again.reply(), fp.UploadReady), ready
    assert ready.offset == len(chunks[0])  # resumed, not started over
    sha256 = hashlib.sha256(whole).hexdigest()
    again.send(*(fp.data_frame(1, c) for c in chunks[1:]))
    again.send(fp.encode(fp.UploadEnd(t="upload_end", id=1, sha256=sha256)))
    done = await again.reply()
    assert isinstance(done, fp.UploadDone) and done.sha256 == sha256, done

    cut.send(fp.data_frame(1, chunks[1]))  # late bytes of the cut upload
    late = await cut.reply()
    assert isinstance(late, fp.Error) and late.code == "busy", late
    for tunnel in (cut, other, again):
        tunnel.send(None)
    await asyncio.gather(cut_serving, other_serving, again_serving)
    assert (tmp_path / "f.bin").read_bytes() == whole
    assert not (tmp_path / ".f.bin.relaydesk-part").exists()
