"""Past sessions as a technician and an administrator read them (GOV-8, issue 12 section 5), in
Chromium against a real `relaydesk demo` and real agents: a Help desk operator opens Console →
Reports and sees the report of his own session (timeline and chat transcript), not another
technician's; the administrator sees both; a report has a URL of its own that opens it after
signing in."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.agents import finish, start_agent
from tests.fixtures.browser import admin_signs_in, api, by_id, first_sign_in, open_page, shoot
from tests.fixtures.common import eventually

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "Harbour violet kettle 61"
TOM_PASSWORD = "Granite meadow cello 27"


@pytest.fixture
def agents() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for agent in started:
        if agent.poll() is None:
            agent.kill()
            agent.wait(10)


def helped_session(
    page: Page, server_url: str, agents: list[subprocess.Popen[str]], chat: str
) -> int:
    """The signed-in technician's key, a real agent with it, accepted, one chat line, ended."""
    key = api(page, "POST", "/api/v1/session-keys", {"validity_minutes": 60})["key"]
    agent = start_agent(server_url, key)
    agents.append(agent)
    personal = eventually(
        lambda: api(page, "GET", "/api/v1/queue")["personal"], 30, "the agent's session queued"
    )
    session_id = int(personal[0]["id"])
    api(page, "POST", f"/api/v1/sessions/{session_id}/accept")
    api(page, "POST", f"/api/v1/sessions/{session_id}/chat", {"text": chat})
    api(page, "POST", f"/api/v1/sessions/{session_id}/end")
    code, output = finish(agent)
    assert code == 0, output
    return session_id


def test_technicians_read_their_own_reports_and_administrators_all(
    relaydesk_server: Any,
    page: Page,
    browser: Browser,
    request: pytest.FixtureRequest,
    artifacts_dir: Path,
    agents: list[subprocess.Popen[str]],
) -> None:
    base = admin_signs_in(page, relaydesk_server, ADMIN_PASSWORD)
    roles = api(page, "GET", "/api/v1/roles")
    operator = next(r["id"] for r in roles if r["name"] == "Help desk operator")
    tom = api(page, "POST", "/api/v1/users", {"email": "tom@demo.test", "name": "Tom Operator"})
    api(
        page,
        "POST",
        f"/api/v1/users/{tom['user']['id']}/role-assignments",
        {"role_id": operator, "scope": "all"},
    )
    admins = helped_session(page, base, agents, "The administrator's own session")

    with open_page(browser, request, artifacts_dir / "tom", width=1280, height=800) as tom_page:
        first_sign_in(tom_page, base, "tom@demo.test", tom["initial_password"], TOM_PASSWORD)
        toms = helped_session(tom_page, base, agents, "Hallo Maria, Tom here")

        # Console → Reports: his session only, no "Not yet available".
        by_id(tom_page, "console-nav-reports").click()
        rows = by_id(tom_page, "report-row")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-session-id", str(toms))
        expect(tom_page.get_by_text("Not yet available")).to_have_count(0)
        shoot(tom_page, artifacts_dir, "01-technician-reports")

        # His report: the timeline and the transcript, at a URL of its own.
        rows.first.click()
        expect(tom_page).to_have_url(f"{base}/console/reports/{toms}")
        report = by_id(tom_page, "report-detail")
        expect(by_id(report, "report-technician")).to_have_text("Tom Operator")
        kinds = by_id(report, "report-event")
        expect(kinds.filter(has_text="accepted")).to_have_count(1)
        expect(by_id(report, "report-transcript")).to_contain_text("Hallo Maria, Tom here")
        shoot(tom_page, artifacts_dir, "02-technician-report")

        # The administrator's session is not his to read, even by its URL.
        tom_page.goto(f"{base}/console/reports/{admins}")
        expect(by_id(tom_page, "error-message")).to_contain_text(
            f"No support session with id {admins}"
        )
        expect(by_id(tom_page, "report-detail")).to_have_count(0)
        expect(tom_page.get_by_text("The administrator's own session")).to_have_count(0)
        shoot(tom_page, artifacts_dir, "03-technician-refused-other-report")
        by_id(tom_page, "report-back").click()
        expect(tom_page).to_have_url(f"{base}/console/reports")
        expect(by_id(tom_page, "report-row")).to_have_count(1)

    # The administrator sees both.
    page.goto(f"{base}/admin/session-reports")
    expect(by_id(page, "report-row")).to_have_count(2)
    ids = [r.get_attribute("data-session-id") for r in by_id(page, "report-row").all()]
    assert ids == [str(toms), str(admins)]  # newest first
    shoot(page, artifacts_dir, "04-administrator-reports")

    # A report's URL opened in a browser that is not signed in: sign in, then the report.
    with open_page(browser, request, artifacts_dir / "link", width=1280, height=800) as fresh:
        fresh.goto(f"{base}/admin/session-reports/{toms}")
        by_id(fresh, "signin-email").fill(relaydesk_server.admin_email)
        by_id(fresh, "signin-password").fill(ADMIN_PASSWORD)
        by_id(fresh, "signin-submit").click()
        expect(fresh).to_have_url(f"{base}/admin/session-reports/{toms}")
        linked = by_id(fresh, "report-detail")
        expect(linked).to_have_attribute("data-session-id", str(toms))
        expect(by_id(linked, "report-transcript")).to_contain_text("Hallo Maria, Tom here")
        shoot(fresh, artifacts_dir, "05-report-by-its-url")
