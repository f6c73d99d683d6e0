"""The `relaydesk` command as an operator uses it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.fixtures.agents import AGENT

RELAYDESK = str(Path(sys.executable).parent / "relaydesk")


def run(
    args: list[str], data_dir: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYDESK_")}
    env["RELAYDESK_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [RELAYDESK, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_migrate_then_create_user_with_password_from_stdin(tmp_path: Path) -> None:
    migrated = run(["migrate"], tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "latest schema" in migrated.stdout

    no_org = run(
        ["admin", "create-user", "--email", "x@y.test", "--name", "X", "--role", "Viewer"],
        tmp_path,
        "",
    )
    assert no_org.returncode != 0
    assert "No organisation found" in no_org.stderr


def test_create_user_audit_verify_and_tamper_detection(tmp_path: Path) -> None:
    demo_db = tmp_path / "relaydesk.sqlite3"
    # `relaydesk demo` serves forever (the end-to-end tests run it); here its set-up step alone.
    assert run(["migrate"], tmp_path).returncode == 0
    subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import asyncio\n"
                "from relaydesk.server.config import load_settings\n"
                "from relaydesk.server.cli import _with_db\n"
                "from relaydesk.server.domain.demo import ensure_demo\n"
                "_with_db(load_settings(), ensure_demo)\n"
            ),
        ],
        check=True,
        env={**os.environ, "RELAYDESK_DATA_DIR": str(tmp_path)},
        timeout=60,
    )
    created = run(
        [
            "admin",
            "create-user",
            "--email",
            "Tech@Demo.test",
            "--name",
            "Tech",
            "--role",
            "Help desk operator",
        ],
        tmp_path,
        "A-strong-password-42\n",
    )
    assert created.returncode == 0, created.stderr
    assert "Created tech@demo.test with role Help desk operator." in created.stdout
    assert "One-time password" not in created.stdout

    generated = run(
        ["admin", "create-user", "--email", "v@demo.test", "--name", "V", "--role", "Viewer"],
        tmp_path,
        "",
    )
    assert "One-time password: " in generated.stdout

    duplicate = run(
        ["admin", "create-user", "--email", "tech@demo.test", "--name", "T", "--role", "Viewer"],
        tmp_path,
        "",
    )
    assert duplicate.returncode == 2
    assert "already in use" in duplicate.stderr

    unknown_role = run(
        ["admin", "create-user", "--email", "z@demo.test", "--name", "Z", "--role", "Wizard"],
        tmp_path,
        "",
    )
    assert unknown_role.returncode != 0 and "No role named 'Wizard'" in unknown_role.stderr

    verified = run(["audit", "verify"], tmp_path)
    assert verified.returncode == 0
    assert "Audit log intact" in verified.stdout

    with sqlite3.connect(demo_db) as connection:
        [(original,)] = connection.execute("SELECT action FROM audit_entries WHERE seq = 3")
        connection.execute("UPDATE audit_entries SET action = 'nothing.happened' WHERE seq = 3")
    tampered = run(["audit", "verify"], tmp_path)
    assert tampered.returncode == 1
    assert "broken at entry 3: entry content was changed" in tampered.stdout

    with sqlite3.connect(demo_db) as connection:
        connection.execute("UPDATE audit_entries SET action = ? WHERE seq = 3", (original,))
    assert run(["audit", "verify"], tmp_path).returncode == 0
    with sqlite3.connect(demo_db) as connection:
        [(last,)] = connection.execute("SELECT MAX(seq) FROM audit_entries")
        connection.execute("DELETE FROM audit_entries WHERE seq = ?", (last,))
    truncated = run(["audit", "verify"], tmp_path)
    assert truncated.returncode == 1
    assert f"broken at entry {last}: entries after this one were deleted" in truncated.stdout


def test_audit_verify_without_a_database_says_so(tmp_path: Path) -> None:
    result = run(["audit", "verify"], tmp_path / "empty")
    assert result.returncode == 2
    assert "no database" in result.stderr


def test_agent_placeholder_prints_its_version() -> None:
    result = subprocess.run([AGENT, "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout.startswith("relaydesk-agent ")
