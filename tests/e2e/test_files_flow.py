"""The file manager as a technician uses it: headless Chromium, the real server and relay, the
real agent on this machine (TOOL-4).

The technician's role allows uploads and downloads, confined to one folder (allowed paths); the
set-up (role, user, key, agent, accept) goes through the API. In the browser he browses that
folder, shows hidden files, uploads a file through the file chooser (on disk with the same
SHA-256), downloads it back (same hash), creates a folder, renames and deletes (after a warning
that it is permanent), downloads a folder as an archive, sees the specific error for a path
outside his allowed folder, and an upload cut by a network loss resumes and arrives intact.
Without the upload permission the changing buttons are gone. Screenshots go to the test's
artifacts directory.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.fixtures.agents import AGENT
from tests.fixtures.browser import by_id, front_workspace, shoot
from tests.fixtures.files_client import random_file, sha256_of
from tests.fixtures.technician import Technician
from tests.fixtures.workspace import show_tool

pytestmark = pytest.mark.e2e

TECH_EMAIL = "files.tech@example.com"
TECH_PASSWORD = "Files-Tech-Pass-1234"
WAIT_MS = 20_000
MiB = 1024 * 1024


def row(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="files-row"][data-name="{name}"]')


def transfer(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="files-transfer"][data-name="{name}"]').first


def make_technician(admin: Technician, server: Any, share: Path) -> tuple[Technician, int]:
    http = admin.http
    role = http.post(
        "/api/v1/roles",
        json={
            "name": "Files in the shared folder",
            "permissions": ["file_upload", "file_download", "generate_session_keys"],
            "allowed_paths": [str(share)],
        },
    )
    assert role.status_code == 201, role.text
    user = http.post("/api/v1/users", json={"email": TECH_EMAIL, "name": "Fran Files"}).json()
    assigned = http.post(
        f"/api/v1/users/{user['user']['id']}/role-assignments", json={"role_id": role.json()["id"]}
    )
    assert assigned.status_code == 201, assigned.text
    technician = Technician(server)
    password = user["initial_password"]
    technician.http.post("/api/v1/auth/login", json={"email": TECH_EMAIL, "password": password})
    technician.http.headers["x-csrf-token"] = technician.http.cookies["relaydesk_csrf"]
    changed = technician.http.post(
        "/api/v1/me/password", json={"current_password": password, "new_password": TECH_PASSWORD}
    )
    assert changed.json()["stage"] == "complete", changed.text
    return technician, int(role.json()["id"])


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/console/sessions")
    by_id(page, "signin-email").fill(TECH_EMAIL)
    by_id(page, "signin-password").fill(TECH_PASSWORD)
    by_id(page, "signin-submit").click()
    expect(page).to_have_url(re.compile(r"/console"))


def open_files(page: Page, share: Path) -> Locator:
    show_tool(front_workspace(page), "files")
    panel = by_id(page, "files-panel")
    by_id(panel, "files-open").click()
    expect(by_id(panel, "files-link")).to_have_text("Connected", timeout=WAIT_MS)
    expect(by_id(panel, "files-table")).to_have_attribute("data-path", str(share), timeout=WAIT_MS)
    return panel


def test_technician_manages_files_in_his_allowed_folder(
    relaydesk_server: Any, page: Page, artifacts_dir: Path, tmp_path: Path
) -> None:
    base = relaydesk_server.url
    share = Path(os.path.realpath(tmp_path / "share"))
    (share / "docs").mkdir(parents=True)
    (share / "docs" / "a.txt").write_text("alpha\n")
    (share / "notes.txt").write_text("remember the milk\n")
    (share / ".hidden-config").write_text("secret=1\n")
    local = tmp_path / "local"
    local.mkdir()
    upload_source = random_file(local / "photo.bin", 3 * MiB + 123)
    big_source = random_file(local / "big.bin", 96 * MiB)

    admin = Technician(relaydesk_server).sign_in_first_time()
    technician, role_id = make_technician(admin, relaydesk_server, share)
    page.set_viewport_size({"width": 1400, "height": 1000})
    sign_in(page, base)
    agent_log = (artifacts_dir / "agent.log").open("w")
    agent = subprocess.Popen(
        [AGENT, "--server", base, "--key", technician.new_key()],
        stdout=agent_log,
        stderr=subprocess.STDOUT,
    )
    try:
        sid = int(technician.wait_for_waiting_session()["id"])
        assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
        # The console (open on the sessions page) opens the accepted session's tab by itself.
        expect(by_id(page, "session-workspace")).to_have_attribute(
            "data-session-id", str(sid), timeout=WAIT_MS
        )
        # No shell permission in this role: no shell button.
        expect(by_id(page, "shell-panel")).to_have_count(0)

        # The allowed folder is where the file manager starts; hidden files only on demand.
        panel = open_files(page, share)
        expect(by_id(panel, "files-crumb-current")).to_have_text("share")
        expect(row(page, "notes.txt")).to_be_visible()
        expect(row(page, "docs")).to_have_attribute("data-type", "directory")
        expect(row(page, ".hidden-config")).to_have_count(0)
        by_id(panel, "files-show-hidden").check()
        expect(row(page, ".hidden-config")).to_be_visible()
        expect(by_id(row(page, "notes.txt"), "files-mode")).to_have_text(
            stat.filemode((share / "notes.txt").stat().st_mode)
        )
        by_id(panel, "files-show-hidden").uncheck()
        expect(row(page, ".hidden-config")).to_have_count(0)

        # Upload through the browser's file chooser: same bytes on the device.
        with page.expect_file_chooser() as chooser:
            by_id(panel, "files-upload").click()
        chooser.value.set_files(str(upload_source))
        expect(transfer(page, "photo.bin")).to_have_attribute("data-state", "done", timeout=WAIT_MS)
        expect(row(page, "photo.bin")).to_be_visible()
        assert sha256_of(share / "photo.bin") == sha256_of(upload_source)
        expect(by_id(row(page, "photo.bin"), "files-size")).to_have_text("3.0 MiB")
        shoot(page, artifacts_dir, "01-uploaded")

        # Download it back: the browser's download has the same hash.
        with page.expect_download() as download:
            by_id(row(page, "photo.bin"), "files-download").click()
        assert download.value.suggested_filename == "photo.bin"
        assert sha256_of(Path(download.value.path())) == sha256_of(upload_source)
        expect(transfer(page, "photo.bin")).to_have_attribute("data-state", "done")

        # A folder downloads as a tar archive.
        with page.expect_download() as download:
            by_id(row(page, "docs"), "files-download").click()
        assert download.value.suggested_filename == "docs.tar"
        with tarfile.open(download.value.path()) as archive:
            member = archive.extractfile("docs/a.txt")
            assert member is not None and member.read() == b"alpha\n"

        # New folder, rename, sort.
        by_id(panel, "files-mkdir").click()
        dialog = by_id(page, "files-mkdir-dialog")
        by_id(dialog, "files-name-input").fill("Reports 2026")
        by_id(dialog, "files-name-submit").click()
        expect(row(page, "Reports 2026")).to_have_attribute("data-type", "directory")
        assert (share / "Reports 2026").is_dir()
        by_id(row(page, "photo.bin"), "files-rename").click()
        dialog = by_id(page, "files-rename-dialog")
        by_id(dialog, "files-name-input").fill("holiday.bin")
        by_id(dialog, "files-name-submit").click()
        expect(row(page, "holiday.bin")).to_be_visible()
        expect(row(page, "photo.bin")).to_have_count(0)
        assert not (share / "photo.bin").exists()
        assert sha256_of(share / "holiday.bin") == sha256_of(upload_source)
        by_id(panel, "files-sort-size").click()
        by_id(panel, "files-sort-size").click()
        names = by_id(panel, "files-row").evaluate_all("rows => rows.map(r => r.dataset.name)")
        # Folders first whatever the order; the biggest file first.
        assert set(names[:2]) == {"Reports 2026", "docs"} and names[2:] == [
            "holiday.bin",
            "notes.txt",
        ], names

        # Delete: a warning that it is permanent, then gone from the list and the disk.
        by_id(row(page, "holiday.bin"), "files-delete").click()
        dialog = by_id(page, "files-delete-dialog")
        expect(by_id(dialog, "files-delete-warning")).to_contain_text("permanently")
        expect(by_id(dialog, "files-delete-warning")).to_contain_text("cannot be restored")
        shoot(page, artifacts_dir, "02-delete-warning")
        by_id(dialog, "files-delete-confirm").click()
        expect(row(page, "holiday.bin")).to_have_count(0)
        assert not (share / "holiday.bin").exists()

        # Into a folder and back through the breadcrumbs.
        by_id(row(page, "docs"), "files-enter").click()
        expect(by_id(panel, "files-table")).to_have_attribute("data-path", str(share / "docs"))
        expect(row(page, "a.txt")).to_be_visible()
        by_id(panel, "files-crumb").filter(has_text="share").click()
        expect(by_id(panel, "files-table")).to_have_attribute("data-path", str(share))

        # Outside the allowed folder: the specific error, and the listing stays where it was.
        for outside in ("/etc", f"{share}/../"):
            by_id(panel, "files-address").fill(outside)
            by_id(panel, "files-go").click()
            error = by_id(panel, "files-error")
            expect(error).to_have_attribute("data-code", "out_of_bounds")
            expect(error).to_contain_text("outside the folders you are allowed to use")
            expect(by_id(panel, "files-table")).to_have_attribute("data-path", str(share))
        shoot(page, artifacts_dir, "03-out-of-bounds")

        # A network loss in the middle of an upload: it resumes and arrives intact.
        with page.expect_file_chooser() as chooser:
            by_id(panel, "files-upload").click()
        chooser.value.set_files(str(big_source))
        big = transfer(page, "big.bin")
        expect(big).to_have_attribute("data-state", "running", timeout=WAIT_MS)
        expect(by_id(big, "files-transfer-figures")).to_contain_text(" of 96.0 MiB")
        page.evaluate("window.__relaydeskFiles.drop()")
        expect(big).to_have_attribute("data-resumed", re.compile(r"[1-9]"), timeout=WAIT_MS)
        expect(big).to_have_attribute("data-state", "done", timeout=60_000)
        assert sha256_of(share / "big.bin") == sha256_of(big_source)
        assert not any(p.name.endswith(".relaydesk-part") for p in share.iterdir())
        shoot(page, artifacts_dir, "04-resumed")

        # The same name again: refused as existing; replacing it is offered, and cancelled
        # half-way it leaves the device's file as it was, without a partial file.
        with page.expect_file_chooser() as chooser:
            by_id(panel, "files-upload").click()
        chooser.value.set_files(str(big_source))
        again = transfer(page, "big.bin")
        expect(again).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
        expect(by_id(again, "files-transfer-error")).to_have_attribute("data-code", "exists")
        by_id(again, "files-transfer-replace").click()
        again = transfer(page, "big.bin")
        expect(again).to_have_attribute("data-state", "running", timeout=WAIT_MS)
        by_id(again, "files-transfer-cancel").click()
        expect(again).to_have_attribute("data-state", "cancelled")
        deadline = time.monotonic() + 15
        while any(p.name.endswith(".relaydesk-part") for p in share.iterdir()):
            assert time.monotonic() < deadline, "the cancelled upload's partial file stayed"
            time.sleep(0.1)
        assert sha256_of(share / "big.bin") == sha256_of(big_source)

        # Several files dropped onto the list at once.
        dropped = page.evaluate_handle(
            """() => {
                const transfer = new DataTransfer();
                transfer.items.add(new File(["first dropped"], "drop-1.txt"));
                transfer.items.add(new File(["second dropped"], "drop-2.txt"));
                return transfer;
            }"""
        )
        manager = by_id(panel, "files-manager")
        manager.dispatch_event("dragover", {"dataTransfer": dropped})
        manager.dispatch_event("drop", {"dataTransfer": dropped})
        for name in ("drop-1.txt", "drop-2.txt"):
            expect(transfer(page, name)).to_have_attribute("data-state", "done", timeout=WAIT_MS)
            expect(row(page, name)).to_be_visible()
        assert (share / "drop-1.txt").read_text() == "first dropped"
        assert (share / "drop-2.txt").read_text() == "second dropped"

        # Without the upload permission: browsing and downloading only.
        updated = admin.http.patch(
            f"/api/v1/roles/{role_id}",
            json={"permissions": ["file_download", "generate_session_keys"]},
        )
        assert updated.status_code == 200, updated.text
        page.reload()
        panel = open_files(page, share)
        expect(by_id(row(page, "notes.txt"), "files-download")).to_be_visible()
        for testid in ("files-upload", "files-mkdir", "files-rename", "files-delete"):
            expect(by_id(panel, testid)).to_have_count(0)
        shoot(page, artifacts_dir, "05-download-only")

        technician.post(f"/api/v1/sessions/{sid}/end")
        assert agent.wait(30) == 0, (artifacts_dir / "agent.log").read_text()
    finally:
        agent.kill()
        agent_log.close()
    # Every transfer is in the session's report.
    report = admin.http.get(f"/api/v1/reports/sessions/{sid}").json()
    kinds = [e["kind"] for e in report["events"]]
    assert kinds.count("file.uploaded") == 4 and kinds.count("file.downloaded") == 2, kinds
