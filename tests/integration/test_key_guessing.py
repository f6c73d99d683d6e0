"""Key guessing against the real server (issue 11, defects 3 and 4; SEC-2).

3: ten addresses guess session keys on the portal and on the agent's channel without pause; the
throttle answers before the database is asked, so no guess holds a transaction or a lock: a write
from another connection to the server's SQLite file succeeds at once (busy timeout 0) again and
again while they guess, and the technician's queue answers as before. (How much the technician's
requests slow down is a benchmark's business: bench/key_guessing.py.)

4: behind a trusted proxy the client is the right-most untrusted X-Forwarded-For hop: rotating the
first entry does not escape the throttle, on HTTP or on the agent's WebSocket; without
RELAYDESK_TRUSTED_PROXIES the header is ignored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.fixtures.attended import attended_hello
from tests.fixtures.common import eventually
from tests.fixtures.guessing import KeyGuessers, wrong_key
from tests.fixtures.technician import Technician

WRITES_WHILE_GUESSING = 60


def write_at_once(database: Path) -> None:
    """Take SQLite's write lock without waiting (raises 'database is locked' if anyone holds
    it), change something harmless, and give it back."""
    db = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 0")
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE organisations SET name = name || '' WHERE id = 1")
        db.execute("ROLLBACK")
    finally:
        db.close()


def test_ten_addresses_guessing_keys_hold_no_transaction(relaydesk_server: Any) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    database = relaydesk_server.data_dir / "relaydesk.sqlite3"
    queue_before = technician.queue()

    with KeyGuessers(relaydesk_server.url) as guessers:

        def everyone_refused() -> bool:
            if (error := guessers.failed()) is not None:
                raise error
            return guessers.all_refused(times=2)

        assert technician.queue() == queue_before
        eventually(everyone_refused, timeout=180, what="all ten guessing addresses refused")
        refused_before = guessers.total()["too_many_attempts"]
        for _ in range(WRITES_WHILE_GUESSING):
            write_at_once(database)  # raises sqlite3.OperationalError if a guess holds the lock
            assert technician.queue() == queue_before
        refused_during = guessers.total()["too_many_attempts"] - refused_before

    assert refused_during > 0, "the addresses kept guessing while the writes were made"
    totals = guessers.total()
    assert set(totals) == {"session_key_unknown", "too_many_attempts"}, totals
    # Each address got its 20 wrong answers (the window's budget), not one more.
    assert all(g.answers["session_key_unknown"] == 20 for g in guessers.guessers)

    # The refusals are in the audit log once per address (the summaries come when the window
    # ends), not once per try.
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT action, ip, count(*) FROM audit_entries"
            " WHERE action LIKE '%key_guessing_refused' GROUP BY action, ip"
        ).fetchall()
    assert sorted(rows) == sorted(
        (
            "portal.key_guessing_refused"
            if g.channel == "portal"
            else "agent.key_guessing_refused",
            g.address,
            1,
        )
        for g in guessers.guessers
    )


def agent_hello(url: str, key: str, forwarded_for: str) -> dict[str, Any]:
    hello = attended_hello(key, hostname="h", username="", agent_version="proxy-test")
    with connect(
        url.replace("http://", "ws://", 1) + "/agent/ws",
        additional_headers={"X-Forwarded-For": forwarded_for},
        open_timeout=30,
    ) as ws:
        ws.send(hello.model_dump_json())
        return dict(json.loads(ws.recv(timeout=30)))


def audited_addresses(database: Path, action: str) -> list[str]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT ip FROM audit_entries WHERE action = ? ORDER BY seq", (action,))
        return [ip for (ip,) in rows]


@pytest.mark.parametrize(
    "relaydesk_server",
    [
        {
            "env": {
                "RELAYDESK_TRUSTED_PROXIES": "127.0.0.1, 10.20.0.0/16",
                "RELAYDESK_KEY_FAILURES_PER_WINDOW": "3",
            }
        }
    ],
    indirect=True,
)
def test_behind_a_trusted_proxy_rotating_the_first_forwarded_entry_does_not_escape(
    relaydesk_server: Any, relaydesk_server_factory: Any
) -> None:
    database = relaydesk_server.data_dir / "relaydesk.sqlite3"
    # The test is the proxy (127.0.0.1, trusted; so is the inner proxy 10.20.0.9): the client
    # writes any first entry it likes; the proxies append what they saw.
    with httpx.Client(base_url=relaydesk_server.url, timeout=30) as proxy:
        codes = [
            proxy.post(
                "/api/v1/portal/keys",
                json={"key": wrong_key()},
                headers={"X-Forwarded-For": f"198.18.0.{n}, 203.0.113.50, 10.20.0.9"},
            ).status_code
            for n in range(6)
        ]
        assert codes == [404, 404, 404, 429, 429, 429]
        other_client = proxy.post(
            "/api/v1/portal/keys",
            json={"key": wrong_key()},
            headers={"X-Forwarded-For": "198.18.0.1, 203.0.113.51"},
        )
        assert other_client.status_code == 404
    assert audited_addresses(database, "portal.key_guessing_refused") == ["203.0.113.50"]

    # The agent's WebSocket takes its address from the same rule.
    answers = [
        agent_hello(relaydesk_server.url, wrong_key(), f"198.18.1.{n}, 203.0.113.60")["code"]
        for n in range(5)
    ]
    assert answers == ["session_key_unknown"] * 3 + ["too_many_attempts"] * 2
    assert audited_addresses(database, "agent.key_guessing_refused") == ["203.0.113.60"]

    # Without RELAYDESK_TRUSTED_PROXIES the header is not believed at all.
    plain = relaydesk_server_factory(env={"RELAYDESK_KEY_FAILURES_PER_WINDOW": "3"})
    with httpx.Client(base_url=plain.url, timeout=30) as client:
        codes = [
            client.post(
                "/api/v1/portal/keys",
                json={"key": wrong_key()},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(5)
        ]
    assert codes == [404, 404, 404, 429, 429]
    plain_database = plain.data_dir / "relaydesk.sqlite3"
    assert audited_addresses(plain_database, "portal.key_guessing_refused") == ["127.0.0.1"]
