"""The agent's file tool without a network: confinement decisions on a real directory tree with
symlinks, the streamed tar archive (readable by tarfile, the same bytes twice, resumable), and an
upload the disk cannot take."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

import relaydesk.protocol.files as fp
from relaydesk.agent import file_tool
from relaydesk.agent.file_tool import Confinement, Refusal, serve_files, tar_chunks
from relaydesk.protocol.messages import FileGrant


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "root" / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("s")
    (tmp_path / "root" / "sub" / "a.txt").write_text("a" * 3000)
    (tmp_path / "root" / ".hidden").write_text("h")
    (tmp_path / "root" / "out").symlink_to(tmp_path / "outside")
    (tmp_path / "root" / "inner").symlink_to(tmp_path / "root" / "sub")
    return tmp_path


def code_of(call: object, *args: str) -> str:
    with pytest.raises(Refusal) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.code


def test_confinement(tree: Path) -> None:
    root = str(tree / "root")
    c = Confinement([root])
    assert c.resolve(f"{root}/sub/a.txt") == f"{root}/sub/a.txt"
    assert c.resolve(f"{root}/inner/a.txt") == f"{root}/sub/a.txt"  # a link that stays inside
    assert code_of(c.resolve, f"{root}/out/secret") == "out_of_bounds"
    assert code_of(c.resolve, f"{root}/sub/../../outside") == "out_of_bounds"
    assert code_of(c.resolve, str(tree / "outside")) == "out_of_bounds"
    assert code_of(c.resolve, f"{root}x") == "out_of_bounds"  # a sibling sharing the prefix
    assert code_of(c.resolve, "sub/a.txt") == "invalid_name"
    assert code_of(c.resolve, f"{root}/a\x00b") == "invalid_name"
    # The entry itself: the link is inside even though its target is not.
    assert c.resolve_entry(f"{root}/out") == f"{root}/out"
    assert code_of(c.resolve_entry, f"{root}/out/secret") == "out_of_bounds"
    assert Confinement([]).resolve(str(tree / "outside")) == str(tree / "outside")


def test_check_after_open_sees_a_swapped_path(tree: Path) -> None:
    c = Confinement([str(tree / "root")])
    fd = os.open(tree / "outside" / "secret", os.O_RDONLY)
    try:
        assert code_of(c.check_open, fd, "x") == "out_of_bounds"  # type: ignore[arg-type]
    finally:
        os.close(fd)


def archive(folder: Path, offset: int = 0) -> tuple[bytes, str]:
    digest = hashlib.sha256()
    data = b"".join(tar_chunks(str(folder), digest, offset))
    return data, digest.hexdigest()


def test_tar_stream_is_a_tar_the_same_twice_and_resumable(tree: Path) -> None:
    whole, digest = archive(tree / "root")
    assert hashlib.sha256(whole).hexdigest() == digest
    assert archive(tree / "root") == (whole, digest)
    tail, tail_digest = archive(tree / "root", 1000)
    assert tail == whole[1000:] and tail_digest == digest
    with tarfile.open(fileobj=io.BytesIO(whole)) as tar:
        names = tar.getnames()
        assert set(names) >= {"root", "root/sub", "root/sub/a.txt", "root/.hidden", "root/out"}
        assert "root/out/secret" not in names  # links are stored, never followed
        assert tar.getmember("root/out").issym()
        member = tar.extractfile("root/sub/a.txt")
        assert member is not None and member.read() == b"a" * 3000


class Stream:
    """The tunnel as the file tool sees it: the console's frames in, the agent's out."""

    def __init__(self, frames: list[bytes]) -> None:
        self.incoming = list(frames)
        self.sent: list[object] = []

    async def read(self) -> bytes:
        return self.incoming.pop(0) if self.incoming else b""

    async def write(self, data: bytes) -> None:
        self.sent.append(fp.ConsoleEnd().receive(data))


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

    monkeypatch.setattr(file_tool, "write_all", write_all)
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
