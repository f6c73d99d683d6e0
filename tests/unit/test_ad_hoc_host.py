"""The temporary host's own decisions (issue 14, part 14-Y): the access password checked against
the host's own argon2id hash whatever the server says (a server in someone else's hands sending
a wrong password gets a refusal and no tunnel), the state kept 0600, and the host's own clock:
past the expiry it serves nothing and, even with the server unreachable, removes itself."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type

from relaydesk.agent import ad_hoc_main
from relaydesk.agent.ad_hoc_host import (
    Activated,
    AdHocMode,
    AskCode,
    Connected,
    Said,
    activated_text,
    password_matches,
)
from relaydesk.protocol.messages import AdHocConnect, AdHocStatus
from tests.fixtures.common import free_port

PASSWORD = "Access-Password-2026"
TOKEN = "t" * 43


class Clock(datetime):
    """An injected clock: what now() says is set by the test."""

    moment = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    @classmethod
    def now(cls, tz: object = None) -> Clock:  # type: ignore[override]
        return cls.moment  # type: ignore[return-value]


class Seen:
    def __init__(self) -> None:
        self.items: list[AskCode | Activated | Connected | Said] = []

    def show(self, item: AskCode | Activated | Connected | Said) -> None:
        self.items.append(item)


def activated(mode: AdHocMode, hours: float = 24) -> None:
    mode.command(
        AdHocStatus(
            type="adhoc_status",
            state="activated",
            organisation="Acme Help Desk",
            technician="Tom",
            expires_at=(Clock.moment + timedelta(hours=hours)).isoformat(),
            password_hash=PasswordHasher().hash(PASSWORD),
        )
    )


def connect(session_id: int, password: str) -> AdHocConnect:
    return AdHocConnect(
        type="adhoc_connect",
        session_id=session_id,
        technician="Tom",
        company="Acme",
        password=password,
    )


@pytest.fixture
def mode(tmp_path: Path) -> AdHocMode:
    Clock.moment = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    return AdHocMode(tmp_path / "state", TOKEN, Seen(), clock=Clock)


def test_only_an_argon2id_hash_of_the_password_matches() -> None:
    argon2id = PasswordHasher().hash(PASSWORD)
    assert password_matches(argon2id, PASSWORD)
    assert not password_matches(argon2id, PASSWORD + "x")
    argon2i = PasswordHasher(type=Type.I).hash(PASSWORD)
    assert not password_matches(argon2i, PASSWORD)
    assert not password_matches("", PASSWORD)
    assert not password_matches("$argon2id$garbage", PASSWORD)


def test_the_host_refuses_a_wrong_password_whatever_the_server_says(mode: AdHocMode) -> None:
    assert mode.command(connect(7, PASSWORD)) is not None
    assert not mode.may_serve()  # nothing served before activation
    activated(mode)
    facts = mode.folder / "host.json"
    assert oct(facts.stat().st_mode & 0o777) == "0o600"
    assert oct(mode.folder.stat().st_mode & 0o777) == "0o700"
    kept = json.loads(facts.read_text())
    assert kept["password_hash"].startswith("$argon2id$") and PASSWORD not in facts.read_text()

    refused = mode.command(connect(8, "the server's own guess"))
    assert refused is not None and refused.accepted is False and refused.session_id == 8
    assert not mode.may_serve()
    accepted = mode.command(connect(9, PASSWORD))
    assert accepted is not None and accepted.accepted is True
    assert mode.may_serve()
    seen = [item for item in mode.face.items if isinstance(item, Connected)]  # type: ignore[attr-defined]
    assert [(item.technician, item.accepted) for item in seen] == [
        ("Tom", False),
        ("Tom", False),
        ("Tom", True),
    ]
    mode.connection_over(9)
    assert not mode.may_serve()


def test_past_its_expiry_the_host_serves_nothing(mode: AdHocMode) -> None:
    activated(mode, hours=24)
    Clock.moment += timedelta(hours=23, minutes=59)
    assert not mode.expired()
    Clock.moment += timedelta(minutes=1)
    assert mode.expired()
    answer = mode.command(connect(3, PASSWORD))
    assert answer is not None and not answer.accepted
    assert not mode.may_serve()


def test_an_expired_host_removes_itself_with_the_server_unreachable(
    mode: AdHocMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    activated(mode, hours=24)
    Clock.moment += timedelta(hours=25)  # the clock passed the expiry while it was off
    monkeypatch.setattr(ad_hoc_main, "END_PATIENCE_SECONDS", 2.0)
    monkeypatch.setattr(ad_hoc_main, "WATCH_SECONDS", 0.5)
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    async def run() -> str:
        outcome = await ad_hoc_main._run(mode, nobody, None, lambda line: None)
        return outcome.message

    message = asyncio.run(asyncio.wait_for(run(), 60))
    assert "expired" in message
    assert not mode.folder.exists()


def test_the_window_speaks_the_recipients_language(monkeypatch: pytest.MonkeyPatch) -> None:
    until = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert activated_text("Acme", until).startswith("Activé : Acme peut se connecter jusqu'au ")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert activated_text("Acme", until).startswith("Aktiviert: Acme kann sich bis ")
    monkeypatch.setenv("LANG", "pt_BR.UTF-8")
    assert activated_text("Acme", until).startswith("Activated: Acme can connect until ")
