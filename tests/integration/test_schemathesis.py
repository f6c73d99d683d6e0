"""Property-based API testing of the real server process against its own OpenAPI schema:
whatever a client sends, no 500s and no answer that breaks the schema."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

NEW_PASSWORD = "Schema-Thesis-Password-1"


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


@pytest.fixture(scope="module")
def api_schema(api_server: Any) -> Any:
    schema = schemathesis.openapi.from_url(f"{api_server.url.rstrip('/')}/api/v1/openapi.json")
    # Revoking tokens at random would revoke the one this run authenticates with.
    return schema.exclude(method="DELETE", path_regex=r"/me/tokens/")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_fails_or_breaks_its_schema(case: Any, token: str, api_server: Any) -> None:
    case.call_and_validate(
        base_url=api_server.url.rstrip("/"),
        headers={"Authorization": f"Bearer {token}"},
        checks=[
            not_a_server_error,
            response_schema_conformance,
            status_code_conformance,
            content_type_conformance,
        ],
    )
