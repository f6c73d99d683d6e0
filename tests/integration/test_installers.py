"""Installers (issue 13, UNA-2/UNA-4) against the real server: an administrator creates one;
100 agents enrolling at the same moment against a cap of 50 enrol exactly 50 and the others are
refused with installer_cap_reached; expired, revoked and unknown tokens get their own codes; the
real agent process enrols with the token, stays online as a permanent device and comes back by
its device credential after a restart. The 100 agents speak the protocol through its own state
machine (asyncio WebSockets), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from websockets.asyncio.client import connect

from relaydesk.protocol import control
from relaydesk.server.db.engine import make_engine, make_sessionmaker
from relaydesk.server.db.models import AuditEntry, Device, Installer
from tests.fixtures.agents import AGENT
from tests.fixtures.common import eventually
from tests.fixtures.databases import run_async
from tests.fixtures.technician import Technician
from tests.fixtures.unattended import installer_connection

AGENTS, CAP = 100, 50


def database_url(server: Any) -> str:
    return str(
        server.database_url or f"sqlite+aiosqlite:///{server.data_dir / 'relaydesk.sqlite3'}"
    )


def agent_ws_url(server: Any) -> str:
    return str(server.url).replace("http://", "ws://") + "/agent/ws"


async def enrol(
    url: str, token: str, hostname: str
) -> control.Established | control.RefusedByServer:
    """One installed agent's first connection: hello with the installer token, proof, then the
    server's welcome or refusal."""
    connection = installer_connection(token, hostname)
    connection.start()
    async with connect(url, ping_interval=None, open_timeout=60) as ws:
        while True:
            for frame in connection.data_to_send():
                await ws.send(frame)
            for event in connection.receive(await ws.recv()):
                if isinstance(event, control.Established | control.RefusedByServer):
                    return event


async def _in_database(url: str, installer_id: int) -> tuple[int, int, list[str]]:
    """The installer's count, its devices and the audit's installer actions."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            used = (await db.get(Installer, installer_id)).used  # type: ignore[union-attr]
            devices = await db.scalar(
                select(func.count()).select_from(Device).where(Device.installer_id == installer_id)
            )
            actions = (
                await db.execute(
                    select(AuditEntry.action)
                    .where(AuditEntry.action.like("installer.%"))
                    .order_by(AuditEntry.seq)
                )
            ).scalars()
            return used, int(devices or 0), list(actions)
    finally:
        await engine.dispose()


async def _expire(url: str, installer_id: int) -> None:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            await db.execute(
                update(Installer)
                .where(Installer.id == installer_id)
                .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
            )
            await db.commit()
    finally:
        await engine.dispose()


def new_installer(technician: Technician, **body: Any) -> dict[str, Any]:
    response = technician.http.post("/api/v1/installers", json={"company": "Acme", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    "relaydesk_server", [{}, {"database": "postgresql"}], indirect=True, ids=["sqlite", "pg"]
)
def test_a_hundred_agents_against_a_cap_of_fifty_enrol_exactly_fifty(
    relaydesk_server: Any,
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    issued = new_installer(technician, max_installations=CAP)
    url = agent_ws_url(relaydesk_server)

    async def everyone() -> list[control.Established | control.RefusedByServer]:
        return await asyncio.gather(
            *(enrol(url, issued["token"], f"pc-{n:03}") for n in range(AGENTS))
        )

    answers = run_async(everyone())
    enrolled = [a for a in answers if isinstance(a, control.Established)]
    refused = [a for a in answers if isinstance(a, control.RefusedByServer)]
    assert len(enrolled) == CAP, refused[:3]
    assert {r.code for r in refused} == {"installer_cap_reached"}
    assert len({a.device_id for a in enrolled}) == CAP
    assert all(a.session_id is None for a in enrolled)

    listed = technician.http.get("/api/v1/installers").json()
    assert [(i["used"], i["max_installations"]) for i in listed] == [(CAP, CAP)]
    used, devices, actions = run_async(
        _in_database(database_url(relaydesk_server), issued["installer"]["id"])
    )
    assert (used, devices) == (CAP, CAP)
    assert actions == ["installer.created"] + ["installer.device_installed"] * CAP


@pytest.mark.parametrize(
    "relaydesk_server", [{}, {"database": "postgresql"}], indirect=True, ids=["sqlite", "pg"]
)
def test_unknown_expired_and_revoked_installers_are_refused_with_their_codes(
    relaydesk_server: Any,
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    url = agent_ws_url(relaydesk_server)
    revoked = new_installer(technician)
    assert technician.http.post(f"/api/v1/installers/{revoked['installer']['id']}/revoke").json()[
        "revoked_at"
    ]
    expired = new_installer(technician)
    run_async(_expire(database_url(relaydesk_server), expired["installer"]["id"]))

    def code(token: str) -> str:
        answer = run_async(enrol(url, token, "pc-refused"))
        assert isinstance(answer, control.RefusedByServer), answer
        return answer.code

    assert code(revoked["token"]) == "installer_revoked"
    assert code(expired["token"]) == "installer_expired"
    assert code("rdi_" + "x" * 43) == "installer_unknown"
    listed = {i["id"]: i for i in technician.http.get("/api/v1/installers").json()}
    assert listed[revoked["installer"]["id"]]["used"] == 0
    assert listed[expired["installer"]["id"]]["used"] == 0


def test_the_real_agent_enrols_with_its_installer_and_stays_online(
    relaydesk_server: Any, tmp_path: Path
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    issued = new_installer(technician, max_installations=1)
    # The command the administrator copies passes the token as an argument, never in an address.
    assert issued["install_command"].endswith(f"sh -s -- --installer {issued['token']}")
    assert issued["token"] not in issued["download_url"]
    state = tmp_path / "state"

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                AGENT,
                "--server",
                relaydesk_server.url,
                "--installer",
                issued["token"],
                "--state-dir",
                str(state),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    agent = start()
    try:
        device_id = eventually(
            lambda: (state / "device").exists() and int((state / "device").read_text()),
            30,
            "the agent to store its device id",
        )
        history = technician.http.get(f"/api/v1/devices/{device_id}/sessions").json()
        assert (history["kind"], history["online"], history["sessions"]) == (
            "unattended",
            True,
            [],
        )
        assert oct((state / "device.key").stat().st_mode & 0o777) == "0o600"
        assert oct(state.stat().st_mode & 0o777) == "0o700"
        agent.terminate()
        agent.wait(30)
        eventually(
            lambda: (
                not technician.http.get(f"/api/v1/devices/{device_id}/sessions").json()["online"]
            ),
            30,
            "the device to go offline",
        )
        # Restarted, it comes back as the same device (its credential, not the installer's:
        # the installer's cap of 1 is used up).
        agent = start()
        eventually(
            lambda: technician.http.get(f"/api/v1/devices/{device_id}/sessions").json()["online"],
            30,
            "the device to come back online",
        )
        assert technician.http.get("/api/v1/installers").json()[0]["used"] == 1
    finally:
        agent.terminate()
        output, _ = agent.communicate(timeout=30)
    assert f"Connected as device {device_id}" in output
    assert issued["token"] not in relaydesk_server.output()
    assert issued["token"] not in relaydesk_server.log_path.read_text()


@pytest.mark.parametrize(
    "relaydesk_server", [{"env": {"RELAYDESK_KEY_FAILURES_PER_WINDOW": "3"}}], indirect=True
)
def test_guessed_installer_tokens_are_throttled_like_session_keys(relaydesk_server: Any) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    issued = new_installer(technician)
    url = agent_ws_url(relaydesk_server)

    def code(token: str) -> str:
        answer = run_async(enrol(url, token, "pc-guess"))
        assert isinstance(answer, control.RefusedByServer), answer
        return answer.code

    assert [code(f"rdi_guess{n}") for n in range(3)] == ["installer_unknown"] * 3
    # Over the limit, even the right token is refused at once, before the database is asked.
    assert code(f"rdi_guess{3}") == "too_many_attempts"
    assert code(issued["token"]) == "too_many_attempts"
    assert technician.http.get("/api/v1/installers").json()[0]["used"] == 0
