"""Attended support as the technician and the customer use it: headless Chromium with two
browser contexts (the technician's console, the customer's portal page), the real server, the
real `relaydesk-agent` process and a real SMTP server (aiosmtpd).

The technician generates a session key and e-mails its link; the customer opens it (or types the
key, picks a technician, fills the issue form), the agent starts with the key, the session
arrives live in the console, is accepted, shows the device's system information, chats both
ways in any script, is held or ended by either side; refused keys are explained to both the
agent and the customer; chat can be turned off; the console survives a reload and the whole
session a server crash; the session reports show what happened. Screenshots of each step go to
the test's artifacts directory.

One server serves the whole module (tests tolerate each other's sessions); the crash test runs
last because it restarts it.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.fixtures.agents import AGENT
from tests.fixtures.browser import by_id, csrf, front_workspace, new_session_key, open_page, shoot
from tests.fixtures.common import artifacts_path
from tests.fixtures.mail import SmtpServer, start_smtp_server
from tests.fixtures.server import SERVERS, RelaydeskServer
from tests.fixtures.workspace import show_tool

pytestmark = pytest.mark.e2e

PASSWORD = "Attended lantern harbour 42"
TECH_NAME = "Ada Lovelace"
TECH_TITLE = "Senior support engineer"
TECH_COMPANY = "Demo Help Desk"
TECH_DOMAIN = "helpdesk.example.com"
UNICODE = "你好 مرحبا 👋"
HOSTNAME = socket.gethostname()
WAIT_MS = 20_000


# --- the server, its administrator and its mail ------------------------------------------------


@dataclass
class Desk:
    """The module's server, with its administrator (who is also the technician here) ready."""

    server: RelaydeskServer
    smtp: SmtpServer
    admin_id: int

    @property
    def url(self) -> str:
        return self.server.url

    @contextlib.contextmanager
    def api(self) -> Iterator[httpx.Client]:
        """The administrator signed in over HTTP (set-up and checks the UI does not show)."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            signed = client.post(
                "/api/v1/auth/login", json={"email": self.server.admin_email, "password": PASSWORD}
            )
            assert signed.json()["stage"] == "complete", signed.text
            client.headers["x-csrf-token"] = client.cookies["relaydesk_csrf"]
            yield client


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    smtp, controller = start_smtp_server()
    log = artifacts_path("test_attended_flow") / "relaydesk-server.log"
    log.unlink(missing_ok=True)
    server = RelaydeskServer(
        tmp_path_factory.mktemp("relaydesk-attended"), log, env=smtp.settings_env()
    )
    try:
        server.start()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            first = client.post(
                "/api/v1/auth/login",
                json={"email": server.admin_email, "password": server.admin_password},
            )
            assert first.json()["stage"] == "password_change", first.text
            client.headers["x-csrf-token"] = client.cookies["relaydesk_csrf"]
            changed = client.post(
                "/api/v1/me/password",
                json={"current_password": server.admin_password, "new_password": PASSWORD},
            )
            assert changed.json()["stage"] == "complete", changed.text
            admin_id = client.get("/api/v1/me").json()["id"]
            profile = client.patch(
                f"/api/v1/users/{admin_id}",
                json={
                    "name": TECH_NAME,
                    "title": TECH_TITLE,
                    "company": TECH_COMPANY,
                    "verified_domain": TECH_DOMAIN,
                },
            )
            assert profile.status_code == 200, profile.text
        yield Desk(server, smtp, admin_id)
    finally:
        server.stop()
        controller.stop()


@pytest.fixture(autouse=True)
def _report_the_server(request: pytest.FixtureRequest, desk: Desk) -> None:
    """A failing test's report shows the module server's last lines."""
    request.node.stash.setdefault(SERVERS, []).append(desk.server)


@pytest.fixture
def portal(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path) -> Iterator[Page]:
    """The customer's own browser (a second context: no cookies shared with the console)."""
    with open_page(browser, request, artifacts_dir / "portal", width=1100, height=900) as customer:
        yield customer


# --- the agent ---------------------------------------------------------------------------------


@dataclass
class Agent:
    """A `relaydesk-agent` process; stdout and stderr kept apart in the artifacts directory."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    _files: list[IO[bytes]] = field(default_factory=list)

    @classmethod
    def start(cls, base: str, key: str, artifacts_dir: Path, name: str = "agent") -> Agent:
        out = artifacts_dir / f"{name}.stdout"
        err = artifacts_dir / f"{name}.stderr"
        stdout, stderr = out.open("wb"), err.open("wb")
        # Each agent here stands for a computer of its own: its own temporary folder, where an
        # agent keeps its enrolment (a second agent on the same computer is stopped locally).
        temporary = artifacts_dir / f"{name}-tmp"
        temporary.mkdir(exist_ok=True)
        process = subprocess.Popen(
            [AGENT, "--server", base, "--key", key],
            stdout=stdout,
            stderr=stderr,
            env={**os.environ, "TMPDIR": str(temporary)},
        )
        return cls(process, out, err, [stdout, stderr])

    def wait(self, timeout: float = 30) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self.close()

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for file in self._files:
            file.close()


@pytest.fixture
def agents(desk: Desk) -> Iterator[list[Agent]]:
    """Agents a test started. Afterwards, whatever happened, the sessions it left open are ended
    (the next test starts with empty queues) and the agents are killed."""
    started: list[Agent] = []
    yield started
    try:
        if desk.server.running:
            with desk.api() as api:
                queue = api.get("/api/v1/queue").json()
                waiting = queue["personal"] + [s for t in queue["teams"] for s in t["sessions"]]
                for session in waiting:
                    api.post(f"/api/v1/sessions/{session['id']}/accept")
                for session in waiting + queue["mine"]:
                    api.post(f"/api/v1/sessions/{session['id']}/end")
    finally:
        for agent in started:
            # An ended session's agent removes its files and exits; give it the time to.
            with contextlib.suppress(subprocess.TimeoutExpired):
                agent.process.wait(10)
            agent.close()


# --- what the technician and the customer do ---------------------------------------------------


def sign_in(page: Page, desk: Desk, path: str = "/console/queues") -> None:
    page.goto(f"{desk.url}{path}")
    expect(by_id(page, "signin-form")).to_be_visible()
    by_id(page, "signin-email").fill(str(desk.server.admin_email))
    by_id(page, "signin-password").fill(PASSWORD)
    by_id(page, "signin-submit").click()
    expect(by_id(page, "current-user-name")).to_have_text(TECH_NAME)


def new_key(page: Page, desk: Desk, minutes: int = 15) -> str:
    """A key as the console's own API calls make it (for the sessions whose key dialog is not
    what the test is about)."""
    return new_session_key(page, desk.url, minutes)


def open_key_dialog(page: Page, minutes: int = 15) -> tuple[str, str]:
    """Generate session key: returns the key and its unique link as the dialog shows them."""
    by_id(page, "generate-key").click()
    dialog = by_id(page, "session-key-dialog")
    expect(dialog).to_be_visible()
    choice = by_id(dialog, f"key-validity-{minutes}")
    dialog.locator("label", has=page.get_by_test_id(f"key-validity-{minutes}")).click()
    expect(choice).to_be_checked()
    expect(by_id(dialog, "key-portal")).to_contain_text("Support portal")
    by_id(dialog, "key-generate").click()
    expect(by_id(dialog, "session-key-issued")).to_be_visible()
    key = by_id(dialog, "session-key-value").inner_text().strip()
    url = by_id(dialog, "session-key-url").inner_text().strip()
    return key, url


def enter_key(portal: Page, desk: Desk, key: str) -> None:
    portal.goto(f"{desk.url}/")
    by_id(portal, "session-key-input").fill(key)
    by_id(portal, "session-key-submit").click()


def arrive_and_accept(page: Page, session_id_hint: str | None = None) -> str:
    """The arrival notification's "view", the details, Accept: returns the session's id."""
    toast = by_id(page, "toast").last
    expect(toast).to_be_visible(timeout=WAIT_MS)
    session_id = toast.get_attribute("data-session-id")
    assert session_id
    if session_id_hint:
        assert session_id == session_id_hint
    by_id(toast, "toast-view").click()
    details = by_id(page, "session-details")
    expect(details).to_be_visible()
    expect(by_id(details, "detail-hostname")).to_have_text(HOSTNAME)
    by_id(details, "session-accept").click()
    expect(page).to_have_url(re.compile(r"/console/sessions"))
    workspace = front_workspace(page)
    expect(workspace).to_have_attribute("data-session-id", session_id)
    expect(by_id(workspace, "workspace-status")).to_have_text("Connected", timeout=WAIT_MS)
    return session_id


def send_chat(page: Page, scope: Page | Locator, text: str) -> None:
    box = by_id(scope, "chat-input")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def chat_texts(scope: Page | Locator) -> Locator:
    return by_id(scope, "chat-text")


def tab(page: Page, session_id: str) -> Locator:
    return page.locator(f'[data-testid="session-tab"][data-session-id="{session_id}"]')


def wait_for_status(portal: Page, status: str) -> None:
    expect(by_id(portal, "portal-session")).to_have_attribute(
        "data-status", status, timeout=WAIT_MS
    )


# --- the tests ---------------------------------------------------------------------------------


def test_key_by_mail_to_ended_session_with_chat_sysinfo_and_report(
    desk: Desk, page: Page, portal: Page, agents: list[Agent], artifacts_dir: Path
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=desk.url)
    sign_in(page, desk)
    expect(by_id(page, "console-connection")).to_have_attribute("data-state", "open")

    # Generate session key: validity and portal, then the key and its unique link.
    key, url = open_key_dialog(page, minutes=15)
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", key), key
    assert url.startswith(f"{desk.url}/?") and f"key={key}" in url, url
    by_id(page, "session-key-url-copy").click()
    expect(by_id(page, "session-key-url-copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == url
    by_id(page, "session-key-copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == key
    shoot(page, artifacts_dir, "01-key-issued")

    # The link goes to the customer by e-mail, through the real SMTP server.
    desk.smtp.clear()
    by_id(page, "session-key-email").fill("maria@customer.test")
    by_id(page, "session-key-email-send").click()
    expect(by_id(page, "session-key-email-sent")).to_contain_text("maria@customer.test")
    [mail] = desk.smtp.wait_for(1)
    assert mail["To"] == "maria@customer.test"
    body = mail.get_content()
    assert url in body and key in body
    shoot(page, artifacts_dir, "02-key-emailed")
    by_id(page, "session-key-done").click()
    expect(by_id(page, "session-key-dialog")).to_have_count(0)

    # The customer opens the link from the mail: who will help, and how to start the client.
    link = re.search(r"https?://\S+", body)
    assert link and link.group(0) == url
    portal.goto(url)
    wait_for_status(portal, "waiting_for_agent")
    card = by_id(portal, "technician-card")
    expect(by_id(card, "technician-name")).to_have_text(TECH_NAME)
    expect(by_id(card, "technician-role")).to_have_text(f"{TECH_TITLE} · {TECH_COMPANY}")
    expect(by_id(card, "technician-verified-domain")).to_contain_text(TECH_DOMAIN)
    command = by_id(portal, "portal-command-posix")
    expect(command).to_contain_text(desk.url)
    expect(command).to_contain_text(key)
    assert "\n" not in command.inner_text().strip()
    assert "key=" not in portal.url  # the key does not stay in the address bar
    shoot(portal, artifacts_dir, "03-portal-instructions")

    # The agent starts: the session arrives live, with a notification.
    agent = Agent.start(desk.url, key, artifacts_dir)
    agents.append(agent)
    expect(by_id(page, "queue-item").first).to_be_visible(timeout=WAIT_MS)
    expect(by_id(page, "toast").first).to_be_visible()
    wait_for_status(portal, "waiting")
    shoot(page, artifacts_dir, "04-session-arrived")
    first = arrive_and_accept(page)
    wait_for_status(portal, "active")
    expect(by_id(portal, "portal-status")).to_contain_text(re.compile(r"\S"))
    shoot(page, artifacts_dir, "05-session-accepted")

    # System information from the agent's machine.
    workspace = by_id(page, "session-workspace")
    show_tool(workspace, "sysinfo")
    by_id(workspace, "sysinfo-request").click()
    expect(by_id(workspace, "sysinfo-hostname")).to_have_text(HOSTNAME, timeout=WAIT_MS)
    shoot(page, artifacts_dir, "06-sysinfo")

    # Chat both ways, in any script.
    send_chat(page, workspace, UNICODE)
    expect(chat_texts(portal)).to_have_text([UNICODE], timeout=WAIT_MS)
    send_chat(portal, portal, f"Merci ✓ {UNICODE}")
    expect(chat_texts(workspace)).to_have_text([UNICODE, f"Merci ✓ {UNICODE}"], timeout=WAIT_MS)
    shoot(page, artifacts_dir, "07-console-chat")
    shoot(portal, artifacts_dir, "08-portal-chat")

    # A second session in another tab; a message in the first, now behind, shows a badge.
    second_key = new_key(page, desk)
    second_agent = Agent.start(desk.url, second_key, artifacts_dir, name="agent-2")
    agents.append(second_agent)
    second = arrive_and_accept(page)
    assert second != first
    expect(by_id(page, "session-tab")).to_have_count(2)
    expect(tab(page, second)).to_have_attribute("aria-selected", "true")
    send_chat(portal, portal, "Are you still there?")
    expect(by_id(tab(page, first), "session-tab-unread")).to_have_text("1", timeout=WAIT_MS)
    expect(by_id(tab(page, second), "session-tab-unread")).to_have_count(0)
    shoot(page, artifacts_dir, "09-unread-badge")
    tab(page, first).click()
    expect(front_workspace(page)).to_have_attribute("data-session-id", first)
    expect(by_id(tab(page, first), "session-tab-unread")).to_have_count(0)
    expect(chat_texts(front_workspace(page)).last).to_have_text("Are you still there?")

    # The technician ends the first session: the customer's page says so, the agent exits 0.
    by_id(front_workspace(page), "session-end").click()
    by_id(front_workspace(page), "session-end-confirm").click()
    expect(by_id(front_workspace(page), "session-ended")).to_be_visible()
    wait_for_status(portal, "ended")
    expect(by_id(portal, "portal-ended")).to_be_visible()
    shoot(portal, artifacts_dir, "10-portal-ended")
    assert agent.wait(30) == 0, agent.stdout + agent.stderr
    assert "ended the support session" in agent.stdout

    tab(page, second).click()
    by_id(front_workspace(page), "session-end").click()
    by_id(front_workspace(page), "session-end-confirm").click()
    assert second_agent.wait(30) == 0, second_agent.stdout + second_agent.stderr

    # The session reports: who, whom, how long, and the transcript.
    page.goto(f"{desk.url}/admin/session-reports")
    row = page.locator(f'[data-testid="report-row"][data-session-id="{first}"]')
    expect(row).to_contain_text(TECH_NAME)
    expect(row).to_contain_text(f"Customer on {HOSTNAME}")
    expect(by_id(row, "report-duration")).to_have_text(re.compile(r"\d"))
    shoot(page, artifacts_dir, "11-session-reports")
    row.click()
    report = by_id(page, "report-detail")
    expect(by_id(report, "report-technician")).to_have_text(TECH_NAME)
    # A key session without a name is the customer on his computer, never the OS login.
    expect(by_id(report, "report-customer")).to_have_text(f"Customer on {HOSTNAME}")
    expect(by_id(report, "report-ended-by")).to_contain_text(re.compile(r"\S"))
    expect(by_id(report, "report-duration-detail")).to_have_text(re.compile(r"\d"))
    expect(chat_texts(by_id(report, "report-transcript"))).to_have_text(
        [UNICODE, f"Merci ✓ {UNICODE}", "Are you still there?"]
    )
    shoot(page, artifacts_dir, "12-session-report")


def start_and_accept(
    desk: Desk, page: Page, portal: Page, agents: list[Agent], artifacts_dir: Path
) -> tuple[Agent, str]:
    """A key typed by the customer on the portal, the agent started, the session accepted."""
    key = new_key(page, desk)
    enter_key(portal, desk, key)
    wait_for_status(portal, "waiting_for_agent")
    agent = Agent.start(desk.url, key, artifacts_dir, name=f"agent-{len(agents) + 1}")
    agents.append(agent)
    session_id = arrive_and_accept(page)
    wait_for_status(portal, "active")
    return agent, session_id


def end_in_console(page: Page, agent: Agent) -> None:
    by_id(page, "session-end").click()
    by_id(page, "session-end-confirm").click()
    expect(by_id(page, "session-ended")).to_be_visible()
    assert agent.wait(30) == 0, agent.stdout + agent.stderr


def test_hold_keeps_the_agent_then_the_customer_ends(
    desk: Desk, page: Page, portal: Page, agents: list[Agent], artifacts_dir: Path
) -> None:
    sign_in(page, desk)
    agent, session_id = start_and_accept(desk, page, portal, agents, artifacts_dir)

    # Hold: the tab closes, the session is back in his own queue, marked; the agent stays.
    by_id(page, "session-hold").click()
    expect(tab(page, session_id)).to_have_count(0)
    by_id(page, "console-nav-queues").click()
    held = by_id(page, "queue-personal").locator(
        f'[data-testid="queue-item"][data-session-id="{session_id}"]'
    )
    expect(held).to_contain_text("On hold")
    wait_for_status(portal, "held")
    expect(by_id(portal, "portal-status")).to_contain_text("on hold")
    assert agent.running
    shoot(page, artifacts_dir, "01-held-in-queue")
    shoot(portal, artifacts_dir, "02-portal-held")

    # He takes it back; then the customer ends it from the portal.
    held.click()
    by_id(page, "session-accept").click()
    expect(by_id(page, "session-workspace")).to_have_attribute("data-session-id", session_id)
    wait_for_status(portal, "active")
    assert agent.running
    by_id(portal, "portal-end").click()
    by_id(portal, "portal-end-confirm").click()
    wait_for_status(portal, "ended")
    expect(by_id(portal, "portal-ended")).to_be_visible()
    expect(by_id(page, "session-ended")).to_contain_text("customer", timeout=WAIT_MS)
    expect(by_id(page, "workspace-status")).to_have_text("Ended")
    shoot(page, artifacts_dir, "03-console-ended-by-customer")
    assert agent.wait(30) == 0, agent.stdout + agent.stderr


def expire(desk: Desk, key: str) -> None:
    """Makes a key expired as time would: its expiry moved to the past in the database."""
    from relaydesk.server.auth.tokens import token_hash
    from relaydesk.server.domain.session_keys import normalise_key

    with contextlib.closing(sqlite3.connect(desk.server.data_dir / "relaydesk.sqlite3")) as db:
        changed = db.execute(
            "UPDATE session_keys SET expires_at = '2000-01-01 00:00:00.000000' WHERE key_hash = ?",
            (token_hash(normalise_key(key)),),
        ).rowcount
        db.commit()
    assert changed == 1


def refused(desk: Desk, key: str, artifacts_dir: Path, name: str) -> Agent:
    agent = Agent.start(desk.url, key, artifacts_dir, name=name)
    assert agent.wait(30) == 2, agent.stdout + agent.stderr
    return agent


def test_wrong_used_and_expired_keys_are_explained_to_agent_and_customer(
    desk: Desk, page: Page, portal: Page, agents: list[Agent], artifacts_dir: Path
) -> None:
    # A key nobody issued.
    wrong = refused(desk, "AAAA-BBBB-CCCC", artifacts_dir, "agent-wrong")
    assert "This session key is not known" in wrong.stderr
    enter_key(portal, desk, "AAAA-BBBB-CCCC")
    expect(by_id(portal, "session-key-message")).to_contain_text(
        "This session key is not known. Check it with your technician"
    )
    shoot(portal, artifacts_dir, "01-portal-wrong-key")

    # A key another agent has already used.
    sign_in(page, desk)
    used = new_key(page, desk)
    first = Agent.start(desk.url, used, artifacts_dir, name="agent-first")
    agents.append(first)
    expect(by_id(page, "toast")).to_be_visible(timeout=WAIT_MS)
    session_id = by_id(page, "toast").get_attribute("data-session-id")
    again = refused(desk, used, artifacts_dir, "agent-used")
    assert "already been used" in again.stderr
    enter_key(portal, desk, used)
    expect(by_id(portal, "session-key-message")).to_contain_text(
        "This session key has already been used to start a session."
    )
    shoot(portal, artifacts_dir, "02-portal-used-key")

    # A key past its validity.
    old = new_key(page, desk)
    expire(desk, old)
    late = refused(desk, old, artifacts_dir, "agent-expired")
    assert "has expired" in late.stderr
    enter_key(portal, desk, old)
    expect(by_id(portal, "session-key-message")).to_contain_text(
        "This session key has expired. Ask your technician for a new one."
    )
    shoot(portal, artifacts_dir, "03-portal-expired-key")
    # The reasons go to stderr only; stdout has the agent's progress.
    for agent, reason in ((wrong, "not known"), (again, "already been used"), (late, "expired")):
        assert reason not in agent.stdout, agent.stdout

    # The first agent's session is still fine: accepted and ended as usual.
    by_id(page, "toast-view").click()
    by_id(page, "session-accept").click()
    expect(by_id(page, "session-workspace")).to_have_attribute("data-session-id", str(session_id))
    end_in_console(page, first)


def switch_chat(admin: Page, desk: Desk, off: bool) -> None:
    """Organisation settings, as the administrator changes them."""
    admin.goto(f"{desk.url}/admin/settings")
    box = by_id(admin, "setting-chat_disabled")
    box.set_checked(off)
    by_id(admin, "settings-save").click()
    expect(by_id(admin, "settings-saved")).to_be_visible()


def customer_token(portal: Page) -> str:
    stored = portal.evaluate("JSON.parse(localStorage.getItem('relaydesk.portal.session'))")
    return str(stored["token"])


def test_chat_turned_off_by_the_organisation_disappears_and_is_refused(
    desk: Desk, page: Page, portal: Page, agents: list[Agent], artifacts_dir: Path
) -> None:
    sign_in(page, desk)
    agent, session_id = start_and_accept(desk, page, portal, agents, artifacts_dir)
    workspace = by_id(page, "session-workspace")
    send_chat(page, workspace, "Before chat is off")
    expect(chat_texts(portal)).to_have_text(["Before chat is off"])

    admin = page.context.new_page()
    try:
        switch_chat(admin, desk, off=True)
        shoot(admin, artifacts_dir, "01-settings-chat-off")

        # Both pages lose their chat at once, without a reload.
        expect(by_id(workspace, "session-chat")).to_have_count(0, timeout=WAIT_MS)
        expect(by_id(workspace, "chat-input")).to_have_count(0)
        expect(by_id(workspace, "chat-disabled")).to_have_text(
            "Chat is turned off for your organisation."
        )
        expect(by_id(portal, "chat-input")).to_have_count(0, timeout=WAIT_MS)
        expect(by_id(portal, "portal-chat")).to_have_count(0)
        expect(by_id(portal, "chat-disabled")).to_have_text(
            "Chat is not available for this session."
        )
        shoot(page, artifacts_dir, "02-console-chat-off")
        shoot(portal, artifacts_dir, "03-portal-chat-off")

        # And the API refuses both sides, saying why.
        technician = page.request.post(
            f"{desk.url}/api/v1/sessions/{session_id}/chat",
            data={"text": "sneaking in"},
            headers={"x-csrf-token": csrf(page)},
        )
        assert technician.status == 403
        assert technician.json()["code"] == "chat_disabled"
        assert technician.json()["detail"] == "Chat is turned off for this organisation."
        customer = portal.request.post(
            f"{desk.url}/api/v1/portal/session/chat",
            data={"text": "me too"},
            headers={"x-customer-token": customer_token(portal)},
        )
        assert customer.status == 403, customer.text()
        assert customer.json()["code"] == "chat_disabled"
        assert customer.json()["detail"] == "Chat is turned off for this organisation."

        # Turned on again: the chat and its history come back.
        switch_chat(admin, desk, off=False)
        expect(chat_texts(workspace)).to_have_text(["Before chat is off"], timeout=WAIT_MS)
        expect(chat_texts(portal)).to_have_text(["Before chat is off"], timeout=WAIT_MS)
        send_chat(portal, portal, "Chat is back")
        expect(chat_texts(workspace)).to_have_text(["Before chat is off", "Chat is back"])
    finally:
        with desk.api() as api:
            api.patch("/api/v1/organisation/settings", json={"chat_disabled": False})
        admin.close()
    end_in_console(page, agent)


def test_customer_picks_an_available_technician_by_name(
    desk: Desk, page: Page, portal: Page, agents: list[Agent], artifacts_dir: Path
) -> None:
    sign_in(page, desk)  # his console is open: he is available
    expect(by_id(page, "console-connection")).to_have_attribute("data-state", "open")
    portal.goto(f"{desk.url}/")
    choice = by_id(portal, "portal-technician").filter(has_text=TECH_NAME)
    expect(by_id(choice, "technician-role")).to_have_text(f"{TECH_TITLE} · {TECH_COMPANY}")
    choice.click()
    by_id(portal, "portal-technician-customer-name").fill("Maria Rossi")
    shoot(portal, artifacts_dir, "01-portal-pick-technician")
    by_id(portal, "portal-technician-start").click()
    wait_for_status(portal, "waiting_for_agent")
    expect(by_id(portal, "technician-name")).to_have_text(TECH_NAME)
    key = by_id(portal, "portal-key").inner_text().strip()
    expect(by_id(portal, "portal-command-posix")).to_contain_text(key)

    agent = Agent.start(desk.url, key, artifacts_dir)
    agents.append(agent)
    item = by_id(by_id(page, "queue-personal"), "queue-item")
    expect(item).to_contain_text("Maria Rossi", timeout=WAIT_MS)
    session_id = arrive_and_accept(page)
    expect(by_id(page, "workspace-customer")).to_have_text("Maria Rossi")
    wait_for_status(portal, "active")
    assert item.count() == 0 or session_id not in [
        i.get_attribute("data-session-id") for i in item.all()
    ]
    end_in_console(page, agent)


def test_issue_form_lands_in_the_teams_queue(
    desk: Desk, page: Page, portal: Page, agents: list[Agent], artifacts_dir: Path
) -> None:
    with desk.api() as api:
        team = api.post(
            "/api/v1/teams", json={"name": "Printers", "member_ids": [desk.admin_id]}
        ).json()

    # The administrator adds the issue type, for that team.
    sign_in(page, desk, path="/admin/issue-types")
    by_id(page, "issue-type-new").click()
    by_id(page, "issue-type-name").fill("Printer trouble")
    by_id(page, "issue-type-team").select_option(label="Printers")
    by_id(page, "issue-type-save").click()
    row = by_id(page, "issue-type-row").filter(has_text="Printer trouble")
    expect(row).to_contain_text("Printers")
    shoot(page, artifacts_dir, "01-issue-types")
    by_id(page, "nav-console").click()
    expect(by_id(page, "console-connection")).to_have_attribute("data-state", "open")

    # The customer describes the problem.
    portal.goto(f"{desk.url}/")
    by_id(portal, "portal-issue-type").select_option(label="Printer trouble")
    by_id(portal, "portal-issue-name").fill("Jean Dupont")
    by_id(portal, "portal-issue-description").fill("Le papier est coincé — paper jam")
    shoot(portal, artifacts_dir, "02-portal-issue-form")
    by_id(portal, "portal-issue-submit").click()
    wait_for_status(portal, "waiting_for_agent")
    expect(by_id(portal, "portal-team")).to_contain_text("Printers")
    key = by_id(portal, "portal-key").inner_text().strip()

    agent = Agent.start(desk.url, key, artifacts_dir)
    agents.append(agent)
    team_queue = by_id(page, f"queue-team-{team['id']}")
    item = by_id(team_queue, "queue-item")
    expect(item).to_contain_text("Jean Dupont", timeout=WAIT_MS)
    expect(team_queue).to_contain_text("Printers")
    expect(by_id(by_id(page, "queue-personal"), "queue-item")).to_have_count(0)
    item.click()
    details = by_id(page, "session-details")
    expect(by_id(details, "detail-queue")).to_contain_text("Printers")
    expect(by_id(details, "detail-issue")).to_have_text(
        "Printer trouble · Le papier est coincé — paper jam"
    )
    shoot(page, artifacts_dir, "03-team-queue")
    by_id(details, "session-accept").click()
    expect(by_id(page, "workspace-customer")).to_have_text("Jean Dupont")
    wait_for_status(portal, "active")
    end_in_console(page, agent)


def test_console_reload_and_server_crash_keep_the_session(
    desk: Desk, page: Page, portal: Page, agents: list[Agent], artifacts_dir: Path
) -> None:
    """Runs last in the module: it kills the module's server and starts it again."""
    sign_in(page, desk)
    agent, session_id = start_and_accept(desk, page, portal, agents, artifacts_dir)
    workspace = by_id(page, "session-workspace")
    send_chat(page, workspace, "Before the reload ✓")
    send_chat(portal, portal, UNICODE)
    history = ["Before the reload ✓", UNICODE]
    expect(chat_texts(workspace)).to_have_text(history)

    # The technician's browser reloads: the tab and the chat are still there.
    page.reload()
    expect(by_id(page, "session-workspace")).to_have_attribute(
        "data-session-id", session_id, timeout=WAIT_MS
    )
    expect(chat_texts(by_id(page, "session-workspace"))).to_have_text(history)
    shoot(page, artifacts_dir, "01-after-reload")

    # The server crashes: both pages say they are reconnecting.
    desk.server.kill()
    expect(by_id(page, "console-connection")).to_have_attribute(
        "data-state", "retrying", timeout=WAIT_MS
    )
    expect(by_id(page, "console-connection")).to_have_text("Reconnecting…")
    # Without its own connection the console cannot know about the agent's.
    expect(by_id(page, "workspace-status")).to_have_text("Checking…")
    expect(by_id(portal, "portal-connection")).to_have_attribute(
        "data-state", "retrying", timeout=WAIT_MS
    )
    shoot(page, artifacts_dir, "02-console-reconnecting")
    shoot(portal, artifacts_dir, "03-portal-reconnecting")

    # It comes back on the same data: pages and agent reconnect, the session goes on.
    desk.server.start()
    expect(by_id(page, "console-connection")).to_have_attribute(
        "data-state", "open", timeout=60_000
    )
    expect(by_id(portal, "portal-connection")).to_have_attribute(
        "data-state", "open", timeout=60_000
    )
    expect(by_id(portal, "portal-connection")).to_have_text("Connected")
    workspace = by_id(page, "session-workspace")
    expect(workspace).to_have_attribute("data-session-id", session_id)
    expect(by_id(workspace, "workspace-status")).to_have_text("Connected", timeout=60_000)
    expect(chat_texts(workspace)).to_have_text(history)
    expect(chat_texts(portal)).to_have_text(history)
    wait_for_status(portal, "active")
    assert agent.running
    send_chat(page, workspace, "After the restart")
    expect(chat_texts(portal)).to_have_text([*history, "After the restart"], timeout=WAIT_MS)
    show_tool(workspace, "sysinfo")
    by_id(workspace, "sysinfo-request").click()
    expect(by_id(workspace, "sysinfo-hostname")).to_have_text(HOSTNAME, timeout=WAIT_MS)
    shoot(page, artifacts_dir, "04-console-after-restart")
    shoot(portal, artifacts_dir, "05-portal-after-restart")
    end_in_console(page, agent)
    wait_for_status(portal, "ended")
    assert "Connection to the server lost; reconnecting." in agent.stdout
    assert f"Reconnected (session {session_id}); the session goes on." in agent.stdout
