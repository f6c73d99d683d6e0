"""The technician's Ad hoc page in Chromium (issue 14, ADH-1 … ADH-5), against the real server
process, with aiosmtpd receiving the mail and the real temporary host (`relaydesk-agent adhoc
--no-install --ui terminal`: no service, its state in a scratch folder, the code typed on its
terminal; the window and the systemd service are part 14-Y's tests).

A French technician prepares a session: the policy's error in French beside the password, then
the e-mail (in French, with the link) and the link, code and password shown once. The recipient
opens the link in his own browser (the download carries the token in the file's name only); the
technician's page follows live, without reloading: link opened, waiting for the code, activated
once the host got the code. "Terminer la session maintenant" ends it: the host is told and
leaves, the page says ended. A viewer's Ad hoc page is greyed and says why."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.agents import AGENT
from tests.fixtures.browser import api, by_id, first_sign_in, open_page, shoot
from tests.fixtures.common import eventually
from tests.fixtures.mail import SmtpServer
from tests.fixtures.server import RelaydeskServer

pytestmark = pytest.mark.e2e

PASSWORD = "Lantern harbour 42 ad hoc"
ACCESS_PASSWORD = "mer-Calme-2026"
RECIPIENT = "maria@example.org"
WAIT_MS = 30_000


@pytest.fixture
def server(relaydesk_server_factory: object, smtp_server: SmtpServer) -> RelaydeskServer:
    make = relaydesk_server_factory  # type: ignore[assignment]
    return make(env=smtp_server.settings_env())  # type: ignore[operator,no-any-return]


@pytest.fixture
def recipient_page(
    browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path
) -> Iterator[Page]:
    with open_page(browser, request, artifacts_dir / "recipient", width=1024, height=768) as page:
        yield page


def state_of(page: Page) -> str | None:
    return by_id(page, "adhoc-session").first.get_attribute("data-state")


def test_a_french_technician_prepares_and_follows_an_ad_hoc_session(
    page: Page,
    recipient_page: Page,
    server: RelaydeskServer,
    smtp_server: SmtpServer,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    first_sign_in(page, server.url, server.admin_email, server.admin_password, PASSWORD)
    api(page, "PATCH", "/api/v1/me", {"language": "fr"})
    page.goto(f"{server.url}/console/ad-hoc")
    expect(page.get_by_role("heading", name="Préparer une session ad hoc")).to_be_visible()
    expect(by_id(page, "adhoc-empty")).to_have_text("Aucune session ad hoc pour l’instant.")

    # The organisation's policy, checked by the server, said in French beside the field.
    by_id(page, "adhoc-email").fill(RECIPIENT)
    by_id(page, "adhoc-password").fill("court")
    by_id(page, "adhoc-send").click()
    expect(page.locator(".field-invalid")).to_contain_text("Le mot de passe d’accès est plus court")
    assert smtp_server.messages == []

    by_id(page, "adhoc-password").fill(ACCESS_PASSWORD)
    by_id(page, "adhoc-chat").check()
    by_id(page, "adhoc-send").click()
    expect(by_id(page, "adhoc-prepared-mail")).to_have_text(
        f"L’e-mail avec le lien a été envoyé à {RECIPIENT}.", timeout=WAIT_MS
    )
    link = by_id(page, "adhoc-link").input_value()
    code = by_id(page, "adhoc-code").inner_text().strip()
    assert re.fullmatch(rf"{re.escape(server.url)}/adhoc#[A-Za-z0-9_-]{{43}}", link), link
    assert re.fullmatch(r"\d{6}", code), code
    expect(by_id(page, "adhoc-password-shown")).to_have_text(ACCESS_PASSWORD)
    expect(by_id(page, "adhoc-state")).to_have_text("E-mail envoyé")
    shoot(page, artifacts_dir, "prepared")

    mail = smtp_server.wait_for(1)[0]
    assert mail["To"] == RECIPIENT
    assert "vous invite à une session d'assistance à distance" in str(mail["Subject"])
    body = mail.get_content()
    assert link in body
    assert "saisissez le code que" in body and "24 heures" in body
    assert code not in body and ACCESS_PASSWORD not in body
    (artifacts_dir / "mail.txt").write_text(f"Subject: {mail['Subject']}\n\n{body}")

    # The recipient opens the link: his page offers the client under a name with the token.
    token = link.split("#", 1)[1]
    recipient_page.goto(link)
    expect(by_id(recipient_page, "adhoc-portal-invited")).to_contain_text("invites you")
    download = by_id(recipient_page, "adhoc-portal-download")
    assert download.get_attribute("download") == f"relaydesk-adhoc-{token}"
    assert token not in (download.get_attribute("href") or "")
    shoot(recipient_page, artifacts_dir, "recipient")
    # The technician's page follows without reloading.
    expect(by_id(page, "adhoc-state")).to_have_text("Lien ouvert", timeout=WAIT_MS)
    assert token not in server.output()

    # The temporary host arrives and asks for the code on its terminal.
    host = subprocess.Popen(
        [
            AGENT,
            "adhoc",
            "--server",
            server.url,
            "--token",
            token,
            "--no-install",
            "--state-dir",
            str(tmp_path / "host"),
            "--ui",
            "terminal",
        ],
        stdin=subprocess.PIPE,
        stdout=(artifacts_dir / "host.log").open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "fr_FR.UTF-8"},
    )
    try:
        expect(by_id(page, "adhoc-state")).to_have_text(
            "En attente du code de sécurité", timeout=WAIT_MS
        )
        expect(by_id(page, "adhoc-device")).to_contain_text("en ligne")
        assert host.stdin is not None
        host.stdin.write(code + "\n")
        host.stdin.flush()
        expect(by_id(page, "adhoc-state")).to_have_text("Activée", timeout=WAIT_MS)
        expect(by_id(page, "adhoc-connect")).to_be_visible()
        shoot(page, artifacts_dir, "activated")

        # End session now: the host is told, the page says who ended it.
        by_id(page, "adhoc-end").click()
        by_id(page, "adhoc-end-confirm").click()
        expect(by_id(page, "adhoc-state")).to_have_text("Terminée", timeout=WAIT_MS)
        expect(by_id(page, "adhoc-ended")).to_contain_text("Terminée par")
        eventually(lambda: host.poll() is not None, 60, "the temporary host to leave")
    finally:
        if host.poll() is None:
            host.kill()
        host.wait(10)
    shoot(page, artifacts_dir, "ended")
    actions = [e["action"] for e in api(page, "GET", "/api/v1/audit?limit=200")["items"]]
    for action in (
        "ad_hoc.prepared",
        "ad_hoc.emailed",
        "ad_hoc.link_opened",
        "ad_hoc.installed",
        "ad_hoc.activated",
        "ad_hoc.ended",
    ):
        assert action in actions, (action, actions)


def test_without_the_permission_the_page_is_greyed(page: Page, server: RelaydeskServer) -> None:
    first_sign_in(page, server.url, server.admin_email, server.admin_password, PASSWORD)
    roles = api(page, "GET", "/api/v1/roles")
    viewer = next(role for role in roles if role["name"] == "Viewer")
    created = api(
        page,
        "POST",
        "/api/v1/users",
        {"email": "vic@example.org", "name": "Vic", "password": "Viewer first 2026"},
    )
    api(
        page,
        "POST",
        f"/api/v1/users/{created['user']['id']}/role-assignments",
        {"role_id": viewer["id"]},
    )
    page.context.clear_cookies()
    first_sign_in(page, server.url, "vic@example.org", "Viewer first 2026", "Viewer password 2026")
    page.goto(f"{server.url}/console/ad-hoc")
    expect(by_id(page, "adhoc-not-permitted")).to_contain_text(
        "Your role does not include ad hoc support"
    )
    expect(by_id(page, "adhoc-email")).to_be_disabled()
    expect(by_id(page, "adhoc-send")).to_be_disabled()
