from tests.api.conftest import Harness


async def test_health_reports_the_version(harness: Harness) -> None:
    from relaydesk import __version__

    response = await harness.client().get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


async def test_openapi_schema_is_served_and_lists_the_api(harness: Harness) -> None:
    response = await harness.client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/auth/login", "/api/v1/users", "/api/v1/roles", "/api/v1/audit/export"):
        assert path in paths


async def test_security_headers_on_every_response(harness: Harness) -> None:
    response = await harness.client().get("/api/v1/health")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
