"""The agent's file tool without a network: confinement decisions on a real directory tree with
symlinks, and the streamed tar archive (readable by tarfile, the same bytes twice, resumable)."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from relaydesk.agent.file_tool import Confinement, Refusal, tar_chunks


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
