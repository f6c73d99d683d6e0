"""Nobody can list a server's organisations by trying portal addresses (issue 11, 19c): before,
portals sat at portal-1, portal-2, … and each answered its organisation's name.

A real server (the demo organisation) and a second organisation made by the operator: every
portal is at 128 random bits and the commands print that address; the old addresses and any
other answer the same 404, naming nobody; with two organisations the root (`/`) shows neither,
yet a key typed there still starts the customer's session, and each portal works at its own
address.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.server import PORTAL_ADDRESS
from tests.fixtures.technician import Technician


def front(server: Any, slug: str | None = None) -> httpx.Response:
    params = {"slug": slug} if slug is not None else {}
    return httpx.get(f"{server.url}/api/v1/portal", params=params, timeout=10)


def test_portals_answer_only_at_their_unguessable_address(relaydesk_server: Any) -> None:
    only = front(relaydesk_server)
    assert only.status_code == 200  # one organisation: the root shows its portal
    demo_slug, demo_name = only.json()["portal_slug"], only.json()["organisation_name"]
    unknown = front(relaydesk_server, "no-such-portal")
    assert unknown.status_code == 404
    for guess in ("portal-1", "portal-2"):
        answer = front(relaydesk_server, guess)
        assert (answer.status_code, answer.json()) == (404, unknown.json()), guess
    assert (
        PORTAL_ADDRESS.findall(relaydesk_server.output())[-1] == demo_slug
    )  # what the demo prints

    made = relaydesk_server.create_organisation(
        "Globex Hidden", "admin@globex.test", "Globex Admin"
    )
    assert made.returncode == 0, made.stderr
    (globex_slug,) = PORTAL_ADDRESS.findall(made.stdout)
    assert globex_slug != demo_slug

    # Two organisations: the root and every other address answer the same, naming nobody.
    for guess in ("portal-1", "portal-2", "portal-3", "", None):
        answer = front(relaydesk_server, guess)
        assert (answer.status_code, answer.json()) == (404, unknown.json()), guess
        assert demo_name not in answer.text and "Globex" not in answer.text
    for slug, name in ((demo_slug, demo_name), (globex_slug, "Globex Hidden")):
        found = front(relaydesk_server, slug)
        assert found.status_code == 200 and found.json()["organisation_name"] == name

    # A key typed at the root still finds its own portal; its link names the real address.
    technician = Technician(relaydesk_server).sign_in_first_time()
    issued = technician.post("/api/v1/session-keys", json={"validity_minutes": 15})
    assert issued.status_code == 201, issued.text
    assert f"?portal={demo_slug}#key=" in issued.json()["url"]
    started = httpx.post(
        f"{relaydesk_server.url}/api/v1/portal/keys", json={"key": issued.json()["key"]}
    )
    assert started.status_code == 200, started.text
    assert started.json()["customer_token"]
