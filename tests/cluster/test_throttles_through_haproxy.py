"""Throttles through HAProxy before three nodes (SEC-2): a guesser's attempts go round-robin to
every node, and are still counted together (15-S's Redis counters), by the client address
HAProxy forwards (RELAYDESK_TRUSTED_PROXIES): another address is not held back. The same
counts on two nodes without HAProxy: tests/integration/test_shared_state.py (part 15-S)."""

from __future__ import annotations

from collections.abc import Callable

from tests.cluster.nodes import client_from
from tests.fixtures.cluster import Cluster

KEY_GUESSES = 6  # RELAYDESK_KEY_FAILURES_PER_WINDOW for this test
ACCOUNT_GUESSES = 4  # RELAYDESK_LOGIN_FAILURES_BEFORE_LOCKOUT for this test


def test_guesses_spread_over_the_nodes_are_counted_together(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(
        nodes=3,
        env={
            "RELAYDESK_KEY_FAILURES_PER_WINDOW": str(KEY_GUESSES),
            "RELAYDESK_LOGIN_FAILURES_BEFORE_LOCKOUT": str(ACCOUNT_GUESSES),
        },
    )
    with client_from(cluster, "127.0.0.2") as guesser, client_from(cluster, "127.0.0.3") as other:
        # Session keys: one counter per address, whichever node answers.
        answers = [
            guesser.post("/api/v1/portal/keys", json={"key": f"AAAA-BBBB-CC{n:02d}"})
            for n in range(KEY_GUESSES + 1)
        ]
        codes = [answer.status_code for answer in answers]
        assert 429 not in codes[:KEY_GUESSES], [a.text for a in answers]
        assert codes[KEY_GUESSES] == 429, answers[-1].text
        assert answers[-1].json()["code"] == "too_many_attempts"
        # Another address is judged on its own.
        fresh = other.post("/api/v1/portal/keys", json={"key": "AAAA-BBBB-CCCC"})
        assert fresh.status_code != 429, fresh.text

        # An account's lock-out (per account and address, docs/security.md): wrong passwords
        # from one address, answered by all nodes in turn, lock that address out everywhere,
        # the right password included; the account's owner elsewhere still gets in.
        guesses = [
            guesser.post(
                "/api/v1/auth/login", json={"email": cluster.admin_email, "password": f"wrong-{n}"}
            ).status_code
            for n in range(ACCOUNT_GUESSES)
        ]
        assert guesses == [401] * ACCOUNT_GUESSES
        right = {"email": cluster.admin_email, "password": cluster.admin_password}
        for _ in range(3):  # one try per node
            locked = guesser.post("/api/v1/auth/login", json=right)
            assert locked.status_code == 429, locked.text
        owner = other.post("/api/v1/auth/login", json=right)
        assert owner.status_code == 200, owner.text
