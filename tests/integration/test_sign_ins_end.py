"""When a user's credentials or rights change, his other sign-ins end and his live sockets close
at once (issue 11, defects 6 and 15): the real server process, browser sign-ins as httpx clients
with cookies, the console WebSocket and a relay tunnel, a real agent and the customer's page for
the chat that must not arrive any more. Evidence from the API, the audit log and the database."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from relaydesk.protocol import bearer
from tests.fixtures.agents import AGENT
from tests.fixtures.common import eventually

ADMIN_PASSWORD = "Administrator-Pass-42"
TECH_EMAIL = "tom@example.com"
TECH_PASSWORD = "Technician-Pass-42"
SIGNED_OUT = 4401
RIGHTS_CHANGED = 4001


class Browser:
    """One browser: its own cookie jar, hence its own sign-in."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=30)

    def sign_in(self, email: str, password: str) -> str:
        response = self.http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        self.http.headers["x-csrf-token"] = self.http.cookies["relaydesk_csrf"]
        return str(response.json()["stage"])

    def change_password(self, current: str, new: str, **extra: Any) -> httpx.Response:
        return self.http.post(
            "/api/v1/me/password",
            json={"current_password": current, "new_password": new, **extra},
        )

    def signed_in(self) -> bool:
        status = self.http.get("/api/v1/me").status_code
        assert status in (200, 401), status
        return status == 200

    def _ws(self, path: str, subprotocols: list[str] | None = None) -> ClientConnection:
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        return connect(
            self.server.url.replace("http://", "ws://") + path,
            additional_headers={"Cookie": cookie, "Origin": self.server.url},
            subprotocols=subprotocols,  # type: ignore[arg-type]
            open_timeout=10,
        )

    def console(self) -> ClientConnection:
        socket = self._ws("/api/v1/console/ws")
        assert frame_types(socket, until="queue")[-1] == "queue"
        return socket

    def tunnel(self, kind: str, session_id: int) -> ClientConnection:
        opened = self.http.post(f"/api/v1/sessions/{session_id}/{kind}/tunnel")
        assert opened.status_code in (200, 201), opened.text
        return self._ws(opened.json()["path"], bearer.offered(opened.json()["token"]))


def frame_types(socket: ClientConnection, until: str | None = None) -> list[str]:
    """The types of the frames received, up to `until` or, without it, up to the close (the
    close code is then `close_code(socket)`); "<still open>" last when nothing came for 30 s."""
    seen: list[str] = []
    while True:
        try:
            frame = socket.recv(timeout=30)
        except ConnectionClosed:
            return seen
        except TimeoutError:
            return [*seen, "<still open>"]
        if isinstance(frame, str):
            seen.append(str(json.loads(frame).get("type")))
            if seen[-1] == until:
                return seen


def close_code(socket: ClientConnection) -> int | None:
    return socket.close_code


def bearer_works(server: Any, token: str) -> bool:
    status = httpx.get(
        server.url + "/api/v1/me", headers={"authorization": f"Bearer {token}"}, timeout=30
    ).status_code
    assert status in (200, 401), status
    return status == 200


def latest_ending(admin: Browser) -> dict[str, Any]:
    """The newest audit entry of Tom's sign-ins ending (the list is newest first)."""
    found = admin.http.get("/api/v1/audit", params={"action": "auth.signins_ended"}).json()
    return next(e for e in found["items"] if e["target"] == TECH_EMAIL)


def console_logins_of(server: Any, email: str) -> int:
    with sqlite3.connect(server.data_dir / "relaydesk.sqlite3") as db:
        row = db.execute(
            "SELECT count(*) FROM console_logins JOIN users ON users.id = console_logins.user_id "
            "WHERE users.email = ?",
            (email,),
        ).fetchone()
    return int(row[0])


@pytest.fixture
def admin(relaydesk_server: Any) -> Browser:
    browser = Browser(relaydesk_server)
    assert browser.sign_in(relaydesk_server.admin_email, relaydesk_server.admin_password) == (
        "password_change"
    )
    changed = browser.change_password(relaydesk_server.admin_password, ADMIN_PASSWORD)
    assert changed.json()["stage"] == "complete", changed.text
    return browser


@pytest.fixture
def technician(admin: Browser) -> dict[str, Any]:
    """Tom, with a custom role allowing keys and shells on all devices; his password set."""
    role = admin.http.post(
        "/api/v1/roles",
        json={
            "name": "Helpdesk",
            "permissions": ["generate_session_keys", "view_screen", "shell"],
        },
    )
    assert role.status_code == 201, role.text
    created = admin.http.post(
        "/api/v1/users", json={"email": TECH_EMAIL, "name": "Tom", "password": "First-Pass-42"}
    )
    assert created.status_code == 201, created.text
    user = created.json()["user"]
    assigned = admin.http.post(
        f"/api/v1/users/{user['id']}/role-assignments",
        json={"role_id": role.json()["id"], "scope": "all"},
    )
    assert assigned.status_code == 201, assigned.text
    first = Browser(admin.server)
    assert first.sign_in(TECH_EMAIL, "First-Pass-42") == "password_change"
    assert first.change_password("First-Pass-42", TECH_PASSWORD).json()["stage"] == "complete"
    return {"id": user["id"], "role_id": role.json()["id"], "assignment": assigned.json()["id"]}


def tom(server: Any) -> Browser:
    browser = Browser(server)
    assert browser.sign_in(TECH_EMAIL, TECH_PASSWORD) == "complete"
    return browser


@pytest.fixture
def agent_session(relaydesk_server: Any, technician: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A real agent in a session Tom accepted, and the customer's page of that session."""
    tom_http = tom(relaydesk_server)
    key = tom_http.http.post("/api/v1/session-keys", json={"validity_minutes": 15})
    assert key.status_code == 201, key.text
    customer = httpx.Client(base_url=relaydesk_server.url, timeout=30)
    start = customer.post("/api/v1/portal/keys", json={"key": key.json()["key"]})
    assert start.status_code == 200, start.text
    customer.headers["x-customer-token"] = start.json()["customer_token"]
    agent = subprocess.Popen(
        [AGENT, "--server", relaydesk_server.url, "--key", key.json()["key"]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        waiting = eventually(
            lambda: tom_http.http.get("/api/v1/queue").json()["personal"],
            30,
            "the agent's session in Tom's queue",
        )
        session_id = int(waiting[0]["id"])
        accepted = tom_http.http.post(f"/api/v1/sessions/{session_id}/accept")
        assert accepted.status_code == 200, accepted.text
        yield {"id": session_id, "customer": customer}
    finally:
        agent.kill()
        agent.wait()


def test_changing_the_password_ends_the_other_sign_ins_and_the_api_tokens_unless_kept(
    relaydesk_server: Any, admin: Browser, technician: dict[str, Any]
) -> None:
    here, elsewhere = tom(relaydesk_server), tom(relaydesk_server)
    token = here.http.post("/api/v1/me/tokens", json={"name": "sync"}).json()["token"]
    console = elsewhere.console()
    assert console_logins_of(relaydesk_server, TECH_EMAIL) == 3  # the first one and these two

    changed = here.change_password(TECH_PASSWORD, "Second-Pass-4242")
    assert changed.status_code == 200, changed.text
    assert here.signed_in(), "the sign-in that changed the password stays"
    assert not elsewhere.signed_in()
    assert not bearer_works(relaydesk_server, token)
    assert frame_types(console) == [] and close_code(console) == SIGNED_OUT
    assert console_logins_of(relaydesk_server, TECH_EMAIL) == 1
    assert latest_ending(admin)["details"] == {
        "because": "password_changed",
        "sessions_ended": 2,
        "api_tokens_revoked": 1,
        "api_tokens_kept": False,
    }

    again = Browser(relaydesk_server)
    assert again.sign_in(TECH_EMAIL, "Second-Pass-4242") == "complete"
    kept = here.http.post("/api/v1/me/tokens", json={"name": "kept"}).json()["token"]
    changed = here.change_password("Second-Pass-4242", "Third-Pass-424242", keep_api_tokens=True)
    assert changed.status_code == 200, changed.text
    assert bearer_works(relaydesk_server, kept), "the user chose to keep his API tokens"
    assert not again.signed_in() and here.signed_in()
    assert latest_ending(admin)["details"]["api_tokens_kept"] is True


def test_turning_off_the_authenticator_ends_the_other_sign_ins(
    relaydesk_server: Any, admin: Browser, technician: dict[str, Any]
) -> None:
    import pyotp

    here, elsewhere = tom(relaydesk_server), tom(relaydesk_server)
    token = here.http.post("/api/v1/me/tokens", json={"name": "sync"}).json()["token"]
    secret = here.http.post("/api/v1/me/totp/setup").json()["secret"]
    confirmed = here.http.post("/api/v1/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200, confirmed.text
    console = elsewhere.console()
    assert elsewhere.signed_in(), "turning the authenticator on ends nothing"

    off = here.http.post("/api/v1/me/totp/disable", json={"current_password": TECH_PASSWORD})
    assert off.status_code == 204, off.text
    assert here.signed_in() and not elsewhere.signed_in()
    assert frame_types(console) == [] and close_code(console) == SIGNED_OUT
    assert bearer_works(relaydesk_server, token), "API tokens never needed the second factor"
    assert latest_ending(admin)["details"]["because"] == "totp_disabled"


def test_deactivation_closes_the_console_at_once_and_no_chat_arrives(
    relaydesk_server: Any, admin: Browser, technician: dict[str, Any], agent_session: dict[str, Any]
) -> None:
    browser = tom(relaydesk_server)
    token = browser.http.post("/api/v1/me/tokens", json={"name": "sync"}).json()["token"]
    customer: httpx.Client = agent_session["customer"]
    console = browser.console()
    assert customer.post("/api/v1/portal/session/chat", json={"text": "hello"}).status_code == 201
    assert frame_types(console, until="session.chat")[-1] == "session.chat", "delivered before"

    off = admin.http.patch(f"/api/v1/users/{technician['id']}", json={"is_active": False})
    assert off.status_code == 200, off.text
    assert customer.post("/api/v1/portal/session/chat", json={"text": "secret"}).status_code == 201
    assert "session.chat" not in frame_types(console)
    assert close_code(console) == SIGNED_OUT
    assert not browser.signed_in()
    assert not bearer_works(relaydesk_server, token)
    assert console_logins_of(relaydesk_server, TECH_EMAIL) == 0
    ended = latest_ending(admin)
    assert ended["actor_label"] == relaydesk_server.admin_email
    assert ended["details"]["because"] == "deactivated"
    assert ended["details"]["api_tokens_revoked"] == 1


def test_a_rights_change_closes_the_console_and_tunnels_and_the_console_is_authorised_again(
    relaydesk_server: Any, admin: Browser, technician: dict[str, Any], agent_session: dict[str, Any]
) -> None:
    browser = tom(relaydesk_server)
    console = browser.console()
    shell = browser.tunnel("shell", agent_session["id"])

    narrowed = admin.http.patch(
        f"/api/v1/roles/{technician['role_id']}",
        json={"permissions": ["generate_session_keys", "view_screen"]},
    )
    assert narrowed.status_code == 200, narrowed.text
    assert frame_types(console) == [] and close_code(console) == RIGHTS_CHANGED
    frame_types(shell)
    assert close_code(shell) == RIGHTS_CHANGED
    refused = browser.http.post(f"/api/v1/sessions/{agent_session['id']}/shell/tunnel")
    assert refused.status_code == 403, "a new tunnel is authorised with the new rights"
    assert browser.signed_in(), "a rights change ends no sign-in"

    again = browser.console()  # connects again, authorised afresh
    removed = admin.http.delete(
        f"/api/v1/users/{technician['id']}/role-assignments/{technician['assignment']}"
    )
    assert removed.status_code == 204, removed.text
    assert frame_types(again) == [] and close_code(again) == RIGHTS_CHANGED


def test_signing_out_closes_that_sign_ins_sockets_only(
    relaydesk_server: Any, technician: dict[str, Any], agent_session: dict[str, Any]
) -> None:
    leaving, staying = tom(relaydesk_server), tom(relaydesk_server)
    leaving_console, staying_console = leaving.console(), staying.console()
    leaving_shell = leaving.tunnel("shell", agent_session["id"])

    assert leaving.http.post("/api/v1/auth/logout").status_code == 204
    assert frame_types(leaving_console) == [] and close_code(leaving_console) == SIGNED_OUT
    frame_types(leaving_shell)
    assert close_code(leaving_shell) == SIGNED_OUT
    assert staying.signed_in()
    customer: httpx.Client = agent_session["customer"]
    assert customer.post("/api/v1/portal/session/chat", json={"text": "still?"}).status_code == 201
    assert frame_types(staying_console, until="session.chat")[-1] == "session.chat"


def test_an_administrators_password_reset_ends_every_sign_in_and_token(
    relaydesk_server: Any, admin: Browser, technician: dict[str, Any]
) -> None:
    browser = tom(relaydesk_server)
    token = browser.http.post("/api/v1/me/tokens", json={"name": "sync"}).json()["token"]
    console = browser.console()

    reset = admin.http.post(f"/api/v1/users/{technician['id']}/password-reset")
    assert reset.status_code == 200, reset.text
    assert not browser.signed_in() and not bearer_works(relaydesk_server, token)
    assert frame_types(console) == [] and close_code(console) == SIGNED_OUT
    assert admin.signed_in()
    fresh = Browser(relaydesk_server)
    assert fresh.sign_in(TECH_EMAIL, reset.json()["initial_password"]) == "password_change"
    ended = latest_ending(admin)
    assert ended["details"]["because"] == "password_reset"
    assert ended["details"]["sessions_ended"] == 2  # the first sign-in and this one
