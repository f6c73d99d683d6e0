"""What the downloaded support client reads from its own file (relaydesk.protocol.support_client)
and the launcher that fetches it: the server's trailer read back from the file's end, the key
from the file name as browsers save it, the one-line command's script checking the file, and the
server's copies (its address appended; a few kept, whatever Host headers it is sent)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from relaydesk.protocol.support_client import (
    TAIL_BYTES,
    ClientConfig,
    config_from_tail,
    download_name,
    key_from_file_name,
    trailer,
)
from relaydesk.server.downloads.launchers import POSIX, posix_script
from relaydesk.server.downloads.support_client import KEPT, ServedClient, SupportClient
from relaydesk.server.tls import Pins

EXECUTABLE = b"\x7fELF" + bytes(range(256)) * 40  # stands for the executable's own bytes
PIN = "ab" * 32


def test_the_trailer_is_read_back_from_the_end_of_the_file() -> None:
    config = ClientConfig(server="https://support.example.com:8443", pin_sha256=PIN)
    served = EXECUTABLE + trailer(config)
    assert config_from_tail(served[-TAIL_BYTES:]) == config
    plain = ClientConfig(server="http://127.0.0.1:8000")
    assert config_from_tail((EXECUTABLE + trailer(plain))[-TAIL_BYTES:]) == plain


@pytest.mark.parametrize(
    "tail",
    [
        EXECUTABLE,  # built but never served: no trailer
        b"",
        b"RELAYDESK-CLIENT-CONFIG-1",  # the mark alone
        b"\n{}00000002RELAYDESK-CLIENT-CONFIG-1",  # no server in it
        b"\n{broken00000007RELAYDESK-CLIENT-CONFIG-1",
        b"x00009999RELAYDESK-CLIENT-CONFIG-1",  # a length past the start
        b"xxxxxxxxRELAYDESK-CLIENT-CONFIG-1",  # no length
    ],
)
def test_a_file_without_a_valid_trailer_has_no_configuration(tail: bytes) -> None:
    assert config_from_tail(tail) is None


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("relaydesk-support-ABCD-EFGH-JKMN.bin", "ABCD-EFGH-JKMN"),
        ("relaydesk-support-ABCD-EFGH-JKMN (1).bin", "ABCD-EFGH-JKMN"),  # saved a second time
        ("relaydesk-support-ABCD-EFGH-JKMN(2).bin", "ABCD-EFGH-JKMN"),
        ("relaydesk-support-ABCD-EFGH-JKMN", "ABCD-EFGH-JKMN"),  # renamed without extension
        ("relaydesk-support-ABCDEFGHJKMN.bin", "ABCDEFGHJKMN"),
        ("relaydesk-support-linux-x86_64", None),  # the launcher's copy: key on the command line
        ("relaydesk-support.bin", None),
        ("relaydesk-agent", None),
        ("relaydesk-support-ABCD-EFGH-JKMN.bin.sh", None),
    ],
)
def test_the_key_comes_from_the_file_name(name: str, key: str | None) -> None:
    assert key_from_file_name(name) == key


def test_the_download_name_gives_back_its_key() -> None:
    assert key_from_file_name(download_name("3G38-S6PY-WVDC")) == "3G38-S6PY-WVDC"


def test_the_launcher_fetches_checks_and_runs_the_client() -> None:
    client = ServedClient(path=Path("served"), sha256="cd" * 32, size=101_000_000)
    pins = Pins(certificate_sha256=PIN, public_key_sha256="cGlu")
    script = posix_script("https://support.example.com/", pins, client)
    assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0
    assert 'set -- --key "$key" "$@"' in script  # from its file name when not given
    assert "--pinnedpubkey 'sha256//cGlu'" in script
    assert f'echo "{"cd" * 32}  $client" | sha256sum -c --status' in script
    assert f"--server \"$SERVER\" --pin-sha256 '{PIN}'" in script
    assert "pip" not in script and "python" not in script
    assert "(101 MB)" in script


def test_without_a_built_client_the_launcher_says_so() -> None:
    script = posix_script("http://127.0.0.1:8000")
    done = subprocess.run(
        ["sh", "-s", "--", "--key", "ABCD-EFGH-JKMN"], input=script, text=True, capture_output=True
    )
    assert done.returncode == 1
    assert "this server has no support client to offer" in done.stderr


@pytest.mark.parametrize(
    ("name", "args", "key_found"),
    [
        ("relaydesk-support-ABCD-EFGH-JKMN.sh", [], True),  # as the portal page saves it
        ("relaydesk-support-ABCD-EFGH-JKMN (1).sh", [], True),  # a second download
        ("relaydesk-support.sh", ["--key", "ABCD-EFGH-JKMN"], True),
        ("relaydesk-support.sh", [], False),
        ("relaydesk-support-$(touch x).sh", [], False),
    ],
)
def test_the_launcher_takes_its_key_from_its_argument_or_its_file_name(
    tmp_path: Path, name: str, args: list[str], key_found: bool
) -> None:
    script = tmp_path / name
    script.write_text(posix_script("http://127.0.0.1:8000"))
    done = subprocess.run(
        ["sh", name, *args], cwd=tmp_path, text=True, capture_output=True, check=False
    )
    assert done.returncode == 1  # no client built here: it stops after the key
    # What the client would be given: the same script with `echo` for the client.
    shown = tmp_path / name
    shown.write_text(POSIX.format(server="http://127.0.0.1:8000", body='echo "$@"\n'))
    given = subprocess.run(["sh", name, *args], cwd=tmp_path, text=True, capture_output=True)
    shown.write_text(posix_script("http://127.0.0.1:8000"))
    if key_found:
        assert "this server has no support client to offer" in done.stderr
        assert given.stdout == "--key ABCD-EFGH-JKMN\n"
    else:
        assert f"give your session key: sh {name} --key ABCD-EFGH-JKMN" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing run from the name


async def test_the_server_serves_its_address_appended_and_keeps_few_copies(tmp_path: Path) -> None:
    built = tmp_path / "relaydesk-support-linux-x86_64"
    built.write_bytes(EXECUTABLE)
    folder = tmp_path / "served"
    (folder / "left-by-a-previous-run").mkdir(parents=True)
    client = SupportClient(folder, built)

    served = await client.served("https://support.example.com/", PIN)
    assert served is not None
    content = served.path.read_bytes()
    assert content.startswith(EXECUTABLE)
    assert config_from_tail(content[-TAIL_BYTES:]) == ClientConfig(
        server="https://support.example.com", pin_sha256=PIN
    )
    assert hashlib.sha256(content).hexdigest() == served.sha256
    assert served.size == len(content)
    assert not (folder / "left-by-a-previous-run").exists()
    assert await client.served("https://support.example.com", PIN) == served  # prepared once

    # Addresses from Host headers: only the most recently used copies stay on disk.
    for n in range(10):
        assert await client.served(f"http://host-{n}.example", None) is not None
    assert len(list(folder.iterdir())) == KEPT
    assert not served.path.exists()

    built.unlink()  # a server without a build offers no client
    assert await SupportClient(tmp_path / "other", built).served("http://x", None) is None
