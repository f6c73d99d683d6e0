"""A real first install, without the demo (issue 11): `relaydesk init` on an empty data
directory creates the organisation and its administrator, refuses to run twice, and the server
it prepares lets that administrator sign in; `relaydesk admin create-organisation` adds
organisations, after which `admin create-user` must be told which one."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.fixtures.server import RelaydeskServer

ADMIN = ["--organisation", "Acme IT", "--email", "Boss@Acme.test", "--name", "Bo Boss"]
CHOSEN = "A chosen password 4 Acme"


def rows(data_dir: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "relaydesk.sqlite3") as connection:
        return list(connection.execute(query))


def printed(output: str, prefix: str) -> str:
    return next(
        line[len(prefix) :].strip() for line in output.splitlines() if line.startswith(prefix)
    )


def test_init_sets_up_once_and_the_administrator_signs_in(
    relaydesk_server_factory: Callable[..., RelaydeskServer],
) -> None:
    server = relaydesk_server_factory(command="serve", start=False)

    done = server.run("init", *ADMIN, stdin=CHOSEN + "\n")
    assert done.returncode == 0, done.stderr
    assert printed(done.stdout, "Organisation: ") == "Acme IT"
    assert printed(done.stdout, "Administrator e-mail: ") == "boss@acme.test"
    assert printed(done.stdout, "Sign in at: ").endswith("/login")
    assert "One-time password" not in done.stdout  # the operator chose it
    assert CHOSEN not in done.stdout + done.stderr
    assert rows(server.data_dir, "SELECT name, remote_support_enabled FROM organisations") == [
        ("Acme IT", 0)
    ]
    assert rows(
        server.data_dir,
        "SELECT u.email, u.must_change_password, r.builtin FROM users u "
        "JOIN role_assignments a ON a.user_id = u.id JOIN roles r ON r.id = a.role_id",
    ) == [("boss@acme.test", 0, "administrator")]
    actions = [a for (a,) in rows(server.data_dir, "SELECT action FROM audit_entries")]
    assert "organisation.created" in actions and "user.created" in actions

    # Twice: refused by name, nothing added.
    again = server.run("init", "--organisation", "Other", "--email", "x@o.test", "--name", "X")
    assert again.returncode == 2
    assert "already set up" in again.stderr and "Acme IT" in again.stderr
    assert "Traceback" not in again.stderr
    assert rows(server.data_dir, "SELECT COUNT(*) FROM organisations") == [(1,)]
    assert rows(server.data_dir, "SELECT COUNT(*) FROM users") == [(1,)]

    # The server it prepared: the administrator signs in with the chosen password at once.
    server.start()
    with httpx.Client(base_url=server.url) as client:
        state = client.post(
            "/api/v1/auth/login", json={"email": "boss@acme.test", "password": CHOSEN}
        )
        assert state.status_code == 200, state.text
        assert state.json()["stage"] == "complete"
        assert state.json()["user"]["is_admin"] is True


def test_init_refuses_bad_input_and_creates_nothing(tmp_path: Path) -> None:
    server = RelaydeskServer(tmp_path / "data", tmp_path / "server.log")
    blank = server.run("init", "--organisation", "  ", "--email", "a@b.test", "--name", "A")
    assert blank.returncode == 2
    assert "needs a name" in blank.stderr and "Traceback" not in blank.stderr
    weak = server.run("init", *ADMIN, stdin="short\n")
    assert weak.returncode == 2 and "Traceback" not in weak.stderr
    assert "error: The password needs at least" in weak.stderr
    assert rows(server.data_dir, "SELECT COUNT(*) FROM organisations") == [(0,)]
    assert rows(server.data_dir, "SELECT COUNT(*) FROM users") == [(0,)]


def test_organisations_for_several_tenants(tmp_path: Path) -> None:
    server = RelaydeskServer(tmp_path / "data", tmp_path / "server.log")
    before = server.create_organisation("B", "b@b.test", "B")
    assert before.returncode == 2 and "relaydesk init" in before.stderr

    assert server.run("init", *ADMIN).returncode == 0
    second = server.create_organisation("Beta", "boss@beta.test", "Bea")
    assert second.returncode == 0, second.stderr
    one_time = printed(second.stdout, "One-time password: ")
    assert one_time
    duplicate = server.create_organisation("BETA", "c@beta.test", "C")
    assert duplicate.returncode == 2 and "already an organisation named 'Beta'" in duplicate.stderr
    assert rows(
        server.data_dir,
        "SELECT o.name, u.email, u.must_change_password FROM users u "
        "JOIN organisations o ON o.id = u.organisation_id ORDER BY u.id",
    ) == [("Acme IT", "boss@acme.test", 1), ("Beta", "boss@beta.test", 1)]

    # Several organisations: a user is created only where the operator says.
    user = ["admin", "create-user", "--email", "t@beta.test", "--name", "T", "--role", "Viewer"]
    unnamed = server.run(*user)
    assert unnamed.returncode == 2
    assert "several organisations" in unnamed.stderr and "--organisation" in unnamed.stderr
    unknown = server.run(*user, "--organisation", "Gamma")
    assert unknown.returncode == 2 and "no organisation named 'Gamma'" in unknown.stderr
    named = server.run(*user, "--organisation", "Beta")
    assert named.returncode == 0, named.stderr
    assert rows(
        server.data_dir,
        "SELECT o.name FROM users u JOIN organisations o ON o.id = u.organisation_id "
        "WHERE u.email = 't@beta.test'",
    ) == [("Beta",)]
