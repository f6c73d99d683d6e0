"""The relaydesk_server fixture starts the real `relaydesk demo` like an operator would."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from relaydesk import __version__
from tests.fixtures.server import RelaydeskServer


def sign_in(server: RelaydeskServer, password: str | None = None) -> dict[str, object]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        response = client.post(
            "/api/v1/auth/login",
            json={"email": server.admin_email, "password": password or server.admin_password},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


def test_demo_serves_health_and_its_administrator_can_sign_in(
    relaydesk_server: RelaydeskServer,
) -> None:
    health = httpx.get(f"{relaydesk_server.url}/api/v1/health", timeout=10)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "version": __version__}
    assert relaydesk_server.sign_in_url == f"{relaydesk_server.url}/login"
    assert relaydesk_server.admin_email and "@" in relaydesk_server.admin_email
    assert relaydesk_server.admin_password
    assert sign_in(relaydesk_server)["stage"] == "password_change"
    assert "Sign in at: " in relaydesk_server.log_path.read_text()


def test_killed_server_comes_back_on_the_same_port_with_the_same_data(
    relaydesk_server: RelaydeskServer,
) -> None:
    port, password = relaydesk_server.port, relaydesk_server.admin_password
    relaydesk_server.kill()
    assert not relaydesk_server.running
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{relaydesk_server.url}/api/v1/health", timeout=2)

    relaydesk_server.start()
    assert relaydesk_server.port == port
    assert httpx.get(f"{relaydesk_server.url}/api/v1/health", timeout=10).status_code == 200
    second_start = relaydesk_server.log_path.read_text().split("=== start 2")[1]
    assert "Administrator e-mail: " in second_start
    assert "One-time password: " not in second_start
    assert relaydesk_server.admin_password == password
    assert sign_in(relaydesk_server)["stage"] == "password_change"
    assert relaydesk_server.starts == 2


def test_stop_is_a_clean_shutdown(relaydesk_server: RelaydeskServer) -> None:
    # uvicorn shuts down gracefully on SIGTERM, then exits by the same signal.
    assert relaydesk_server.stop() in (0, -signal.SIGTERM)
    assert not relaydesk_server.running
    assert "Application shutdown complete." in relaydesk_server.log_path.read_text()


@pytest.mark.parametrize("relaydesk_server", [{"database": "postgresql"}], indirect=True)
def test_demo_on_postgresql(relaydesk_server: RelaydeskServer) -> None:
    assert relaydesk_server.database_url
    assert relaydesk_server.database_url.startswith("postgresql+asyncpg://")
    assert httpx.get(f"{relaydesk_server.url}/api/v1/health", timeout=10).status_code == 200
    assert sign_in(relaydesk_server)["stage"] == "password_change"
    assert not (relaydesk_server.data_dir / "relaydesk.sqlite3").exists()


def test_shared_server_is_up(shared_relaydesk_server: RelaydeskServer) -> None:
    assert shared_relaydesk_server.running
    assert httpx.get(f"{shared_relaydesk_server.url}/api/v1/health", timeout=10).is_success


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    (tmp_path / "elsewhere").mkdir()
    return f"sqlite+aiosqlite:///{tmp_path / 'elsewhere' / 'chosen.sqlite3'}"


def test_a_database_url_fixture_in_the_test_is_passed_through(
    database_url: str, relaydesk_server: RelaydeskServer, tmp_path: Path
) -> None:
    assert relaydesk_server.environment()["RELAYDESK_DATABASE_URL"] == database_url
    assert (tmp_path / "elsewhere" / "chosen.sqlite3").exists()
    assert not (relaydesk_server.data_dir / "relaydesk.sqlite3").exists()
    assert sign_in(relaydesk_server)["stage"] == "password_change"
