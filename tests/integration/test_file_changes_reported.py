"""File actions other than transfers reach the session report and the audit log: a technician
makes a folder, renames it and deletes it over a files tunnel to the real agent; each shows up in
GET /reports/sessions/{id} and in the audit, in his name, checked against the tunnel's grant."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import websockets

from relaydesk.protocol import bearer
from tests.fixtures.agents import start_agent
from tests.fixtures.common import eventually
from tests.fixtures.files_client import FilesClient
from tests.fixtures.technician import Technician

CHANGES = ["file.folder_created", "file.renamed", "file.deleted"]


def test_new_folder_rename_and_delete_are_in_the_report_and_the_audit(
    relaydesk_server: Any, tmp_path: Path
) -> None:
    work = Path(os.path.realpath(tmp_path)) / "work"
    work.mkdir()
    admin = Technician(relaydesk_server).sign_in_first_time()
    agent = start_agent(relaydesk_server.url, admin.new_key())
    try:
        sid = int(admin.wait_for_waiting_session()["id"])
        assert admin.post(f"/api/v1/sessions/{sid}/accept").status_code == 200
        opened = admin.post(f"/api/v1/sessions/{sid}/files/tunnel")
        assert opened.status_code == 201, opened.text
        url = relaydesk_server.url.replace("http://", "ws://") + opened.json()["path"]

        async def technician_works() -> None:
            async with websockets.connect(
                url, subprotocols=bearer.offered(opened.json()["token"]), max_size=None
            ) as ws:
                files = FilesClient(ws)
                await files.ask("mkdir", path=f"{work}/invoices")
                await files.ask("rename", path=f"{work}/invoices", to=f"{work}/invoices-2026")
                await files.ask("delete", path=f"{work}/invoices-2026", recursive=True)

        asyncio.run(technician_works())
        assert list(work.iterdir()) == []

        def changes_in_report() -> list[dict[str, Any]] | None:
            report = admin.http.get(f"/api/v1/reports/sessions/{sid}").json()
            found = [e for e in report["events"] if e["kind"] in CHANGES]
            return found if len(found) == 3 else None

        made, renamed, deleted = eventually(changes_in_report, 20, "three file changes")
        assert [made["kind"], renamed["kind"], deleted["kind"]] == CHANGES
        assert made["details"]["path"] == f"{work}/invoices"
        assert renamed["details"]["path"] == f"{work}/invoices"
        assert renamed["details"]["to"] == f"{work}/invoices-2026"
        assert deleted["details"]["path"] == f"{work}/invoices-2026"
        technician_label = made["actor_label"]
        assert technician_label and technician_label != "agent"

        for kind, path in zip(CHANGES, [made, renamed, deleted], strict=True):
            audit = admin.http.get("/api/v1/audit", params={"action": kind}).json()
            [entry] = audit["items"]
            assert entry["target"] == f"session:{sid}"
            assert entry["details"]["path"] == path["details"]["path"]
            assert entry["actor_label"] == technician_label
    finally:
        agent.kill()
        agent.wait()
