"""Backups as docs/deployment.md tells an operator to make them: `pg_dump --format=custom` of a
live relaydesk database on PostgreSQL, `pg_restore` into a new, empty database, and a server
started on the restored copy serves what the first one held: the technician signs in with the
password he chose, his organisation's settings are there, the session key he gave a customer
starts the customer's session, and the audit log's hash chain still verifies."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.fixtures.common import require_executable
from tests.fixtures.databases import (
    create_database,
    drop_database,
    plain_dsn,
    postgres_admin_dsn,
    with_database,
)
from tests.fixtures.technician import Technician


def libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """Connection options for pg_dump/pg_restore, the password in PGPASSWORD (never in argv)."""
    parts = urlsplit(plain_dsn(url))
    options = ["--host", parts.hostname or "127.0.0.1", "--port", str(parts.port or 5432)]
    if parts.username:
        options += ["--username", parts.username]
    env = {**os.environ}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    return options, env


def test_pg_dump_restored_into_a_new_database_serves_the_same_data(
    postgres_url: str, relaydesk_server_factory: Any, tmp_path: Path
) -> None:
    hint = "apt-get install postgresql-client"
    pg_dump = require_executable("pg_dump", hint)
    pg_restore = require_executable("pg_restore", hint)
    original = relaydesk_server_factory(database_url=postgres_url)
    technician = Technician(original).sign_in_first_time()
    settings = technician.http.patch(
        "/api/v1/organisation/settings", json={"recording_enabled": True}
    )
    assert settings.status_code == 200, settings.text
    key = technician.new_key(minutes=240)

    # The backup, taken while the server runs.
    dump = tmp_path / "relaydesk.dump"
    options, env = libpq(postgres_url)
    database = urlsplit(postgres_url).path.lstrip("/")
    subprocess.run(
        [pg_dump, *options, "--format=custom", "--file", str(dump), database],
        env=env,
        check=True,
        timeout=120,
    )
    assert dump.stat().st_size > 0
    original.stop()

    admin = postgres_admin_dsn()
    assert admin is not None
    restored_name = f"relaydesk_restored_{uuid.uuid4().hex[:12]}"
    create_database(admin, restored_name)
    try:
        restored_url = with_database(admin, restored_name)
        options, env = libpq(restored_url)
        subprocess.run(
            [pg_restore, *options, "--no-owner", "--dbname", restored_name, str(dump)],
            env=env,
            check=True,
            timeout=120,
        )
        server = relaydesk_server_factory(
            database_url=restored_url, command="serve", name="restored"
        )
        server.admin_email, server.admin_password = original.admin_email, original.admin_password
        again = Technician(server).sign_in()
        assert again.http.get("/api/v1/organisation/settings").json()["recording_enabled"] is True
        assert len(again.http.get("/api/v1/session-keys").json()) == 1
        # The customer's key, made before the backup, starts his session on the restored copy.
        redeemed = httpx.post(f"{server.url}/api/v1/portal/keys", json={"key": key}, timeout=30)
        assert redeemed.status_code in (200, 201), redeemed.text
        assert redeemed.json()["customer_token"]
        verified = server.run("audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        if "server" in locals():
            server.stop()
        drop_database(admin, restored_name)
