"""Property-based API testing of the real server process against its own OpenAPI schema:
whatever a client sends, no 500s and no answer that breaks the schema."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

NEW_PASSWORD = "Schema-Thesis-Password-1"
EXAMPLES_PER_OPERATION = 25


def admin_token(server: Any) -> str:
    """Signs in as the demo administrator like a person would, then makes an API token."""
    with httpx.Client(base_url=server.url) as client:
        state = client.post(
            "/api/v1/auth/login",
            json={"email": server.admin_email, "password": server.admin_password},
        ).json()
        assert state["stage"] == "password_change"
        csrf = {"x-csrf-token": client.cookies["relaydesk_csrf"]}
        changed = client.post(
            "/api/v1/me/password",
            json={"current_password": server.admin_password, "new_password": NEW_PASSWORD},
            headers=csrf,
        )
        assert changed.json()["stage"] == "complete"
        issued = client.post("/api/v1/me/tokens", json={"name": "schemathesis"}, headers=csrf)
        assert issued.status_code == 201
        return str(issued.json()["token"])


@pytest.fixture(scope="module")
def api_server(shared_relaydesk_server: Any) -> Any:
    return shared_relaydesk_server


@pytest.fixture(scope="module")
def token(api_server: Any) -> str:
    return admin_token(api_server)


def test_api_never_fails_or_breaks_its_schema(token: str, api_server: Any) -> None:
    schema = schemathesis.openapi.from_url(f"{api_server.url}/api/v1/openapi.json")
    checks = [
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
        content_type_conformance,
    ]
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "DELETE" and "/me/tokens/" in operation.path:
            continue  # revoking tokens at random would revoke the one this run uses
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            case.call_and_validate(
                base_url=api_server.url,
                headers={"Authorization": f"Bearer {token}"},
                checks=checks,
            )

        try:
            exercise()
        except Exception as error:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.label}: {error}"[:2000])
    assert operations >= 40
    assert failures == [], "\n\n".join(failures)
