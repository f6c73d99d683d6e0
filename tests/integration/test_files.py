"""The file manager through the whole product: real server, relay, agent subprocess and disk. A
technician browses, uploads, downloads (files and folders), renames and deletes inside his
allowed paths; every escape attempt gets its specific error and leaves the disk outside alone;
a transfer cut in the middle resumes; transfers land in the session's events and the audit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import websockets

from relaydesk.protocol import bearer
from tests.fixtures.common import eventually
from tests.fixtures.disk import snapshot
from tests.integration.files_client import FilesClient, FilesError, random_file, sha256_of
from tests.integration.technician import Technician

AGENT = str(Path(sys.executable).parent / "relaydesk-agent")
MiB = 1024 * 1024


def new_technician(
    admin: Technician, server: Any, email: str, permissions: list[str], paths: list[str]
) -> Technician:
    """A user with one custom role, signed in (first password changed), as a Technician."""
    http = admin.http
    role = http.post(
        "/api/v1/roles",
        json={"name": email, "permissions": permissions, "allowed_paths": paths},
    )
    assert role.status_code == 201, role.text
    user = http.post("/api/v1/users", json={"email": email, "name": email.split("@")[0]}).json()
    assigned = http.post(
        f"/api/v1/users/{user['user']['id']}/role-assignments", json={"role_id": role.json()["id"]}
    )
    assert assigned.status_code == 201, assigned.text
    client = httpx.Client(base_url=server.url, timeout=30)
    password = user["initial_password"]
    client.post("/api/v1/auth/login", json={"email": email, "password": password})
    client.headers["x-csrf-token"] = client.cookies["relaydesk_csrf"]
    changed = client.post(
        "/api/v1/me/password",
        json={"current_password": password, "new_password": "Files-Tech-Pass-1234"},
    )
    assert changed.json()["stage"] == "complete", changed.text
    technician = Technician(server)
    technician.http = client
    return technician


@contextmanager
def session_with_agent(technician: Technician, server: Any) -> Iterator[tuple[int, Any]]:
    agent = subprocess.Popen(
        [AGENT, "--server", server.url, "--key", technician.new_key()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sid = int(technician.wait_for_waiting_session()["id"])
        assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
        yield sid, agent
    finally:
        agent.kill()
        agent.wait(10)


@contextmanager
def nothing() -> Iterator[None]:
    yield


class Tunnels:
    def __init__(self, technician: Technician, server: Any, sid: int) -> None:
        self.technician, self.sid = technician, sid
        self.base = server.url.replace("http://", "ws://")

    def open(self) -> Any:
        opened = self.technician.post(f"/api/v1/sessions/{self.sid}/files/tunnel")
        assert opened.status_code == 201, opened.text
        return websockets.connect(
            self.base + opened.json()["path"],
            subprotocols=bearer.offered(opened.json()["token"]),
            max_size=None,
        )


async def refused(code: str, request: Any) -> str:
    with pytest.raises(FilesError) as caught:
        await request
    assert caught.value.code == code, caught.value
    return caught.value.message


def events_of(technician: Technician, sid: int, kind: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        report = technician.http.get(f"/api/v1/reports/sessions/{sid}").json()
        found = [e for e in report["events"] if e["kind"] == kind]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_browse_and_transfer_inside_the_allowed_paths(
    relaydesk_server: Any, tmp_path: Path
) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the technician")
    (allowed / ".profile").write_text("hidden")
    (allowed / "escape").symlink_to(outside)
    outside_before = sorted(p.name for p in outside.iterdir())
    source = random_file(tmp_path / "source.bin", 3 * MiB + 123)

    admin = Technician(relaydesk_server).sign_in_first_time()
    tech = new_technician(
        admin,
        relaydesk_server,
        "files@demo.test",
        ["file_upload", "file_download", "generate_session_keys"],
        [str(allowed)],
    )
    root = os.path.realpath(allowed)
    with session_with_agent(tech, relaydesk_server) as (sid, _):
        opened = tech.post(f"/api/v1/sessions/{sid}/files/tunnel").json()
        assert opened["roots"] == [str(allowed)] and opened["upload"] and opened["download"]
        tunnels = Tunnels(tech, relaydesk_server, sid)

        async def scenario() -> None:
            async with tunnels.open() as ws:
                files = FilesClient(ws)
                assert [r.path for r in await files.roots()] == [root]
                listing = await files.list(root)
                entries = {e.name: e for e in listing.entries}
                assert entries[".profile"].hidden and entries[".profile"].type == "file"
                # A link is shown as itself: nothing of where it points.
                assert (entries["escape"].type, entries["escape"].size) == ("link", 0)
                assert str(outside) not in listing.model_dump_json()

                made = await files.ask("mkdir", path=f"{root}/docs")
                assert made.entry.type == "directory" and (allowed / "docs").is_dir()
                done = await files.upload(source, f"{root}/docs/data.bin")
                assert not isinstance(done, int)
                on_disk = allowed / "docs" / "data.bin"
                assert done.sha256 == sha256_of(source) == sha256_of(on_disk)
                assert done.size == on_disk.stat().st_size == source.stat().st_size
                assert not (allowed / "docs" / ".data.bin.relaydesk-part").exists()
                [entry] = (await files.list(f"{root}/docs")).entries
                assert (entry.name, entry.size, entry.type) == ("data.bin", done.size, "file")
                assert oct(entry.mode) == oct(on_disk.stat().st_mode & 0o7777)

                copy = tmp_path / "copy.bin"
                start, end = await files.download(f"{root}/docs/data.bin", copy, window=2 * MiB)
                assert start.kind == "file" and start.size == done.size
                assert end is not None and end.sha256 == done.sha256

                await refused("exists", files.upload(source, f"{root}/docs/data.bin"))
                renamed = await files.ask(
                    "rename", path=f"{root}/docs/data.bin", to=f"{root}/docs/renamed.bin"
                )
                assert renamed.entry.name == "renamed.bin"
                assert not on_disk.exists() and (allowed / "docs" / "renamed.bin").exists()

                archive = tmp_path / "docs.tar"
                start, end = await files.download(f"{root}/docs", archive)
                assert start.kind == "archive" and start.name == "docs.tar"
                with tarfile.open(archive) as tar:
                    member = tar.extractfile("docs/renamed.bin")
                    assert member is not None
                    assert sha256_of_bytes(member.read()) == done.sha256

                # Ways out, each refused by name, nothing written outside.
                await refused("out_of_bounds", files.list("/etc"))
                message = await refused("out_of_bounds", files.list(f"{root}/../outside"))
                assert "'..' is not allowed" in message
                await refused("is_link", files.list(f"{root}/escape"))
                await refused("out_of_bounds", files.upload(source, str(outside / "x.bin")))
                await refused("is_link", files.upload(source, f"{root}/escape/x.bin"))
                await refused(
                    "is_link", files.download(f"{root}/escape/secret.txt", tmp_path / "s")
                )
                await refused("is_link", files.ask("mkdir", path=f"{root}/escape/new"))
                await refused(
                    "out_of_bounds",
                    files.ask("rename", path=f"{root}/docs", to=str(outside / "stolen")),
                )
                await refused("is_root", files.ask("delete", path=root, recursive=True))
                await refused("invalid_name", files.list("relative/path"))
                await refused("not_found", files.list(f"{root}/missing"))
                await refused("not_found", files.download(f"{root}/missing.bin", tmp_path / "m"))
                await refused("not_directory", files.list(f"{root}/.profile"))

                await refused("not_empty", files.ask("delete", path=f"{root}/docs"))
                assert (await files.ask("delete", path=f"{root}/docs", recursive=True)).t == "ok"
                assert not (allowed / "docs").exists()
                # Deleting the symlink removes the link, never what it points to.
                await files.ask("delete", path=f"{root}/escape")
                assert not (allowed / "escape").exists()

        asyncio.run(scenario())
        assert sorted(p.name for p in outside.iterdir()) == outside_before
        assert (outside / "secret.txt").read_text() == "not for the technician"

        [uploaded] = events_of(admin, sid, "file.uploaded")
        assert uploaded["details"]["sha256"] == sha256_of(source)
        assert uploaded["details"]["name"] == "data.bin"
        assert uploaded["actor_label"] == "files@demo.test"
        downloads = events_of(admin, sid, "file.downloaded", 2)
        assert {d["details"]["archive"] for d in downloads} == {False, True}
        audit = admin.http.get("/api/v1/audit", params={"action": "file.uploaded"}).json()
        [entry] = audit["items"]
        assert entry["actor_label"] == "files@demo.test"
        assert entry["details"]["size"] == source.stat().st_size
        assert entry["details"]["direction"] == "upload"
        assert admin.http.get("/api/v1/audit", params={"action": "files.opened"}).json()["total"]


def sha256_of_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def cut(ws: Any) -> None:
    """The network goes away: no closing handshake, the TCP connection just drops."""
    ws.transport.abort()


def test_cut_transfers_resume_and_memory_stays_bounded(
    relaydesk_server: Any, tmp_path: Path
) -> None:
    size = 48 * MiB + 7
    source = random_file(tmp_path / "big.bin", size)
    folder = tmp_path / "device"
    folder.mkdir()
    target = folder / "big.bin"
    partial = folder / ".big.bin.relaydesk-part"
    tech = Technician(relaydesk_server).sign_in_first_time()
    with session_with_agent(tech, relaydesk_server) as (sid, agent):
        tunnels = Tunnels(tech, relaydesk_server, sid)
        agent_process, server_process = (
            psutil.Process(agent.pid),
            psutil.Process(relaydesk_server.process.pid),
        )

        async def scenario() -> None:
            async with tunnels.open() as ws:
                files = FilesClient(ws)
                await files.list(str(folder))  # the tunnel is up: measure from here
                rss = agent_process.memory_info().rss, server_process.memory_info().rss
                sent = await files.upload(source, str(target), stop_after=16 * MiB)
                assert isinstance(sent, int)
                cut(ws)
            # He resumes at once: the agent may not have heard yet that the first tunnel was
            # cut; his new upload of the same file takes the cut one over (no "busy").
            eventually(lambda: partial.exists() and partial.stat().st_size, 20, "a partial file")
            assert not target.exists()
            kept = partial.stat().st_size
            first: list[int] = []
            async with tunnels.open() as ws:
                files = FilesClient(ws)
                done = await files.upload(
                    source, str(target), offset=size, on_chunk=lambda n: first.append(n)
                )
                assert not isinstance(done, int)
                assert first[0] > kept // 2  # resumed, not started over
                assert done.sha256 == sha256_of(source) == sha256_of(target)
                assert not partial.exists()

                copy = tmp_path / "copy.bin"
                start, end = await files.download(str(target), copy, stop_after=20 * MiB)
                assert end is None
                cut(ws)
            async with tunnels.open() as ws:
                files = FilesClient(ws)
                received = copy.stat().st_size
                start, end = await files.download(str(target), copy, offset=received)
                assert start.offset == received > 0
                assert end is not None and sha256_of(copy) == sha256_of(source)
                grown = (
                    agent_process.memory_info().rss - rss[0],
                    server_process.memory_info().rss - rss[1],
                )
                # ~130 MiB moved; neither side may hold it (a few chunks of buffers at most).
                assert grown[0] < 40 * MiB, grown
                assert grown[1] < 40 * MiB, grown

        asyncio.run(scenario())
        uploads = events_of(tech, sid, "file.uploaded")
        assert [u["details"]["sha256"] for u in uploads] == [sha256_of(source)]


def test_files_need_a_permission_and_the_agent_enforces_directions(
    relaydesk_server: Any, tmp_path: Path
) -> None:
    admin = Technician(relaydesk_server).sign_in_first_time()
    viewer = new_technician(admin, relaydesk_server, "v@demo.test", ["view_screen"], [])
    refused_tunnel = viewer.post("/api/v1/sessions/1/files/tunnel")
    assert refused_tunnel.status_code == 403
    assert refused_tunnel.json() == {
        "detail": "You need the permission 'Upload files' or 'Download files' to do this.",
        "code": "permission_denied",
    }
    (tmp_path / "report.txt").write_text("quarterly numbers")
    reader = new_technician(
        admin, relaydesk_server, "r@demo.test", ["file_download", "generate_session_keys"], []
    )
    with session_with_agent(reader, relaydesk_server) as (sid, _):
        opened = reader.post(f"/api/v1/sessions/{sid}/files/tunnel").json()
        assert (opened["upload"], opened["download"], opened["roots"]) == (False, True, [])
        tunnels = Tunnels(reader, relaydesk_server, sid)

        async def scenario() -> None:
            async with tunnels.open() as ws:
                files = FilesClient(ws)
                message = await refused(
                    "not_permitted", files.upload(tmp_path / "report.txt", f"{tmp_path}/up.txt")
                )
                assert message == "Your role does not allow you to upload or change files."
                await refused("not_permitted", files.ask("mkdir", path=f"{tmp_path}/new"))
                await refused("not_permitted", files.ask("delete", path=f"{tmp_path}/report.txt"))
                _, end = await files.download(f"{tmp_path}/report.txt", tmp_path / "got.txt")
                assert end is not None and (tmp_path / "got.txt").read_text() == "quarterly numbers"

        asyncio.run(scenario())
        assert not (tmp_path / "up.txt").exists() and not (tmp_path / "new").exists()
        assert (tmp_path / "report.txt").exists()


def confined_session(admin: Technician, server: Any, allowed: Path) -> Technician:
    return new_technician(
        admin,
        server,
        "confined@demo.test",
        ["file_upload", "file_download", "generate_session_keys"],
        [str(allowed)],
    )


def test_swapping_a_folder_for_a_link_never_moves_anything_across_the_boundary(
    relaydesk_server: Any, tmp_path: Path
) -> None:
    # The attacker's race (issue 11, defect 1): files tunnels of one confined technician. One
    # swaps the folder "work" for a link to a folder outside and back, only by renames; the
    # others rename, create, upload, download and delete through "work" meanwhile. Whatever
    # lands in between, nothing outside may be created, moved, changed or deleted, nothing from
    # outside may move into the allowed folder, and no download may carry what is outside.
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "work").mkdir(parents=True)
    (outside / "target" / "inner").mkdir(parents=True)
    (outside / "target" / "secret.txt").write_text("outside secret")
    (outside / "target" / "inner" / "deep.txt").write_text("outside deep")
    (outside / "other.txt").write_text("outside other")
    workers = ("a", "b", "c")
    for tag in workers:
        (allowed / f"loot-{tag}.txt").write_text("inside loot")
    (allowed / "escape").symlink_to(outside / "target")
    outside_before = snapshot(outside)
    upload = tmp_path / "up.bin"
    upload.write_bytes(b"uploaded by the technician")
    rounds = 250

    admin = Technician(relaydesk_server).sign_in_first_time()
    tech = confined_session(admin, relaydesk_server, allowed)
    root = os.path.realpath(allowed)
    outcomes: dict[str, int] = {}
    leaked: list[str] = []
    with session_with_agent(tech, relaydesk_server) as (sid, _):
        tunnels = Tunnels(tech, relaydesk_server, sid)

        async def attempt(request: Any) -> None:
            try:
                await request
            except FilesError as error:
                outcomes[error.code] = outcomes.get(error.code, 0) + 1
            else:
                outcomes["done"] = outcomes.get("done", 0) + 1

        async def swap(files: FilesClient) -> None:
            for _ in range(rounds):
                await files.ask("rename", path=f"{root}/work", to=f"{root}/parked")
                await files.ask("rename", path=f"{root}/escape", to=f"{root}/work")
                await files.ask("rename", path=f"{root}/work", to=f"{root}/escape")
                await files.ask("rename", path=f"{root}/parked", to=f"{root}/work")

        async def download(files: FilesClient, path: str, tag: str) -> None:
            copy = tmp_path / f"download-{tag}"
            await files.download(path, copy)
            if b"outside" in copy.read_bytes():
                leaked.append(path)

        async def through(files: FilesClient, tag: str, swapping: asyncio.Task[None]) -> None:
            n, w, loot = 0, f"{root}/work", f"loot-{tag}.txt"
            while not swapping.done():
                n += 1
                await attempt(files.ask("rename", path=f"{root}/{loot}", to=f"{w}/{loot}"))
                await attempt(files.ask("rename", path=f"{w}/{loot}", to=f"{root}/{loot}"))
                await attempt(files.ask("rename", path=f"{w}/secret.txt", to=f"{root}/got.txt"))
                await attempt(files.ask("rename", path=f"{w}/inner", to=f"{root}/got-dir"))
                await attempt(files.ask("mkdir", path=f"{w}/made-{tag}{n}"))
                await attempt(files.ask("delete", path=f"{w}/made-{tag}{n}", recursive=True))
                await attempt(files.ask("delete", path=f"{w}/inner", recursive=True))
                await attempt(files.ask("delete", path=f"{w}/secret.txt"))
                await attempt(files.upload(upload, f"{w}/up-{tag}{n}.bin"))
                await attempt(files.ask("delete", path=f"{w}/up-{tag}{n}.bin"))
                await attempt(download(files, w, tag))
                await attempt(download(files, f"{w}/secret.txt", tag))

        async def race() -> None:
            async with contextlib.AsyncExitStack() as stack:
                swapper = FilesClient(await stack.enter_async_context(tunnels.open()))
                others = [
                    FilesClient(await stack.enter_async_context(tunnels.open())) for _ in workers
                ]
                swapping = asyncio.create_task(swap(swapper))
                await asyncio.gather(
                    *(
                        through(files, tag, swapping)
                        for files, tag in zip(others, workers, strict=True)
                    )
                )
                await swapping

        asyncio.run(race())

    assert snapshot(outside) == outside_before
    inside = snapshot(allowed)
    assert not {"got.txt", "got-dir"} & set(inside), sorted(inside)
    from_outside = [
        path
        for path, (_, content) in inside.items()
        if isinstance(content, bytes) and content.startswith(b"outside")
    ]
    assert not from_outside
    assert not leaked
    for tag in workers:
        loot = ("file", b"inside loot")
        places = (inside.get(f"loot-{tag}.txt"), inside.get(f"work/loot-{tag}.txt"))
        assert loot in places, sorted(inside)
    assert inside["escape"] == ("link", str(outside / "target"))
    assert inside["work"] == ("dir", "")
    # The race really ran: changes went through, and others met the link in the way.
    assert outcomes.get("done", 0) > 0 and outcomes.get("is_link", 0) > 0, outcomes


def test_deleting_the_root_through_dot_answers_and_touches_nothing(
    relaydesk_server: Any, tmp_path: Path
) -> None:
    # Issue 11, defect 2: "<root>/." deleted recursively used to empty the whole allowed folder
    # while answering invalid_name.
    allowed = tmp_path / "allowed"
    (allowed / "docs").mkdir(parents=True)
    (allowed / "docs" / "report.txt").write_text("quarterly numbers")
    (allowed / "notes.txt").write_text("notes")
    before = snapshot(allowed)
    admin = Technician(relaydesk_server).sign_in_first_time()
    tech = confined_session(admin, relaydesk_server, allowed)
    root = os.path.realpath(allowed)
    with session_with_agent(tech, relaydesk_server) as (sid, _):
        tunnels = Tunnels(tech, relaydesk_server, sid)

        async def scenario() -> None:
            async with tunnels.open() as ws:
                files = FilesClient(ws)
                whole = files.ask("delete", path=f"{root}/.", recursive=True)
                message = await refused("invalid_name", whole)
                assert snapshot(allowed) == before  # nothing was deleted meanwhile
                assert "'.' names no entry of its own" in message
                inner = files.ask("delete", path=f"{root}/docs/.", recursive=True)
                await refused("invalid_name", inner)
                up = files.ask("delete", path=f"{root}/docs/..", recursive=True)
                await refused("out_of_bounds", up)
                message = await refused("is_root", files.ask("delete", path=f"{root}/"))
                assert "cannot be deleted" in message
                await refused("is_root", files.ask("rename", path=root, to=f"{root}/docs/x"))
                await refused("invalid_name", files.ask("rename", path=f"{root}/.", to=f"{root}/x"))
                await refused("is_root", files.ask("rename", path=f"{root}/notes.txt", to=root))
                await refused("is_root", files.ask("mkdir", path=root))

        asyncio.run(scenario())
    assert snapshot(allowed) == before
