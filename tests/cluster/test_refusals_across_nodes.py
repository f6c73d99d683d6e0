"""Refused sign-ins audited once for the whole cluster (GOV-9, SEC-2, domain/refusals.py): wrong
passwords from one address go round-robin to three nodes; the audit log has the window's first
refusal once, then one summary with the count of them all when the window ends, as one process
would write (shared_state/refusals.py; before, each node audited its own first and summary)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.cluster.nodes import client_from
from tests.fixtures.cluster import Cluster
from tests.fixtures.common import eventually
from tests.fixtures.technician import Technician

WRONG_PASSWORDS = 7
SUMMARY_WITHIN_S = 60 + 30 + 60  # the window, the summaries' round, a slow machine


def _refusals(technician: Technician) -> list[dict[str, Any]]:
    found = technician.http.get(
        "/api/v1/audit", params={"action": "auth.signin_failed", "limit": 100}
    ).json()["items"]
    return [entry for entry in found if entry["ip"] == "127.0.0.2"]


def test_one_first_refusal_and_one_summary_across_nodes(
    cluster_factory: Callable[..., Cluster],
) -> None:
    cluster = cluster_factory(
        nodes=3,
        env={
            "RELAYDESK_LOCKOUT_WINDOW_MINUTES": "1",
            "RELAYDESK_LOGIN_FAILURES_BEFORE_LOCKOUT": "50",
        },
    )
    admin = Technician(cluster).sign_in_first_time()
    with client_from(cluster, "127.0.0.2") as guesser:
        answers = [
            guesser.post(
                "/api/v1/auth/login", json={"email": cluster.admin_email, "password": f"wrong-{n}"}
            ).status_code
            for n in range(WRONG_PASSWORDS)
        ]
    assert answers == [401] * WRONG_PASSWORDS
    (first,) = eventually(lambda: _refusals(admin), 30, "the first refusal in the audit log")
    assert not first["details"].get("summary"), first

    def summarised() -> list[dict[str, Any]] | None:
        summaries = [e for e in _refusals(admin) if e["details"].get("summary")]
        return summaries or None

    (summary,) = eventually(summarised, SUMMARY_WITHIN_S, "the window's summary")
    assert summary["details"]["refusals"] == WRONG_PASSWORDS, summary
    assert summary["target"] == first["target"] == cluster.admin_email
    entries = _refusals(admin)
    assert len(entries) == 2, entries
