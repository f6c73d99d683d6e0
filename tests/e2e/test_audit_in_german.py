"""The audit log and a session report in the reader's language (issue 12 section 5), in Chromium
against a real `relaydesk demo` and a real agent: with German chosen, the audit log shows each
action as a German sentence (sign-in, key generated, session accepted, screen requested and
granted) and the report's timeline says who and what in German words (the customer's chat line,
the screen mode), with no raw codes or English leftovers; the CSV export still carries the codes."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.agents import finish, start_agent
from tests.fixtures.browser import admin_signs_in, by_id, shoot
from tests.fixtures.common import eventually

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Harbour violet kettle 61"
SENTENCES = {
    "auth.signed_in": "Angemeldet",
    "session_key.generated": "Sitzungsschlüssel erstellt",
    "session.accepted": "Sitzung angenommen",
    "screen.requested": "Bildschirmfreigabe angefragt",
    "screen.granted": "Bildschirmfreigabe erlaubt",
}


def api(page: Page, method: str, path: str, body: Any = None, **headers: str) -> Any:
    """A call with the browser's own sign-in (what the console's buttons call)."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "relaydesk_csrf")
    base = re.sub(r"^(https?://[^/]+).*$", r"\1", page.url)
    response = page.request.fetch(
        base + path, method=method, data=body, headers={"x-csrf-token": csrf, **headers}
    )
    assert response.ok, response.text()
    if response.status == 204:
        return None
    return (
        response.json() if "json" in response.headers.get("content-type", "") else response.text()
    )


@pytest.fixture
def agents() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for agent in started:
        if agent.poll() is None:
            agent.kill()
            agent.wait(10)


def test_audit_log_and_report_timeline_in_german(
    relaydesk_server: Any, page: Page, artifacts_dir: Path, agents: list[subprocess.Popen[str]]
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    key = api(page, "POST", "/api/v1/session-keys", {"validity_minutes": 60})["key"]
    customer = api(page, "POST", "/api/v1/portal/keys", {"key": key})["customer_token"]
    agents.append(start_agent(base, key))
    personal = eventually(
        lambda: api(page, "GET", "/api/v1/queue")["personal"], 30, "the agent's session queued"
    )
    sid = int(personal[0]["id"])
    api(page, "POST", f"/api/v1/sessions/{sid}/accept")
    api(
        page,
        "POST",
        "/api/v1/portal/session/chat",
        {"text": "Guten Tag"},
        **{"x-customer-token": customer},
    )
    api(page, "POST", f"/api/v1/sessions/{sid}/screen/request", {"mode": "view"})
    api(
        page,
        "POST",
        "/api/v1/portal/session/screen/answer",
        {"allow": True},
        **{"x-customer-token": customer},
    )
    api(page, "POST", f"/api/v1/sessions/{sid}/end")
    code, output = finish(agents[0])
    assert code == 0, output

    page.goto(f"{base}/admin/audit")
    by_id(page, "language-switcher").select_option("de")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    table = by_id(page, "audit-table")
    cells = by_id(table, "audit-action-cell")
    for action, sentence in SENTENCES.items():
        expect(cells.filter(has_text=re.compile(f"^{re.escape(sentence)}$"))).not_to_have_count(0)
        expect(table).not_to_contain_text(action)
    expect(cells.filter(has_text=re.compile(r"^[a-z_]+\.[a-z_]+$"))).to_have_count(0)
    for english in ("Session accepted", "Signed in", "Screen sharing"):
        expect(table).not_to_contain_text(english)
    shoot(page, artifacts_dir, "01-audit-log-de")

    # The export keeps the raw codes for machines.
    csv = api(page, "GET", "/api/v1/audit/export?format=csv")
    for action in SENTENCES:
        assert action in csv
    assert "Sitzung angenommen" not in csv

    page.goto(f"{base}/admin/session-reports/{sid}")
    timeline = by_id(page, "report-timeline")
    expect(timeline).to_contain_text("Sitzung angenommen")
    expect(timeline).to_contain_text("Modus: nur ansehen")
    expect(timeline).to_contain_text("Absender: Kunde")
    expect(timeline).to_contain_text("Chatnachricht · Kunde")
    for leftover in (
        r"\bsender:",
        r"\bmode:",
        r"\breason:",
        r"\bcleaned up",
        "[Cc]ustomer",
        r"\bview\b",
    ):
        expect(timeline).not_to_contain_text(re.compile(leftover))
    # The chat transcript names the unnamed customer (the server's "Customer") in German too.
    transcript = by_id(page, "report-chat")
    expect(by_id(transcript, "chat-message").filter(has_text="Guten Tag")).to_contain_text("Kunde")
    expect(transcript).not_to_contain_text(re.compile("[Cc]ustomer"))
    shoot(page, artifacts_dir, "02-report-timeline-de")
