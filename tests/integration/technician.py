"""A technician working against a real server over HTTP, as the web console does."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from websockets.sync.client import connect

NEW_PASSWORD = "Integration-Password-42"


class Technician:
    def __init__(self, server: Any) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=30)

    def sign_in_first_time(self) -> Technician:
        first = self.http.post(
            "/api/v1/auth/login",
            json={"email": self.server.admin_email, "password": self.server.admin_password},
        )
        assert first.json()["stage"] == "password_change", first.text
        self._csrf()
        changed = self.http.post(
            "/api/v1/me/password",
            json={"current_password": self.server.admin_password, "new_password": NEW_PASSWORD},
        )
        assert changed.json()["stage"] == "complete", changed.text
        self.server.admin_password = NEW_PASSWORD
        return self

    def sign_in(self) -> Technician:
        response = self.http.post(
            "/api/v1/auth/login",
            json={"email": self.server.admin_email, "password": NEW_PASSWORD},
        )
        assert response.json()["stage"] == "complete", response.text
        self._csrf()
        return self

    def _csrf(self) -> None:
        self.http.headers["x-csrf-token"] = self.http.cookies["relaydesk_csrf"]

    def new_key(self, minutes: int = 15) -> str:
        response = self.http.post("/api/v1/session-keys", json={"validity_minutes": minutes})
        assert response.status_code == 201, response.text
        return str(response.json()["key"])

    def queue(self) -> dict[str, Any]:
        return dict(self.http.get("/api/v1/queue").json())

    def wait_for_waiting_session(self, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            personal = self.queue()["personal"]
            if personal:
                return dict(personal[0])
            time.sleep(0.1)
        raise AssertionError("no session arrived in the personal queue")

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, **kwargs)

    def console(self) -> Any:
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        url = self.server.url.replace("http://", "ws://") + "/api/v1/console/ws"
        return connect(url, additional_headers={"Cookie": cookie}, open_timeout=10)


def next_event(console: Any, kind: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = json.loads(console.recv(timeout=max(0.1, deadline - time.monotonic())))
        if event["type"] == kind:
            return dict(event)
    raise AssertionError(f"no {kind} event within {timeout} s")
