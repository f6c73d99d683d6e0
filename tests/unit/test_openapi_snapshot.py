"""The web app's typed client is generated from web/openapi.json; that file must be the schema
the server really serves, or the client and the server drift apart unnoticed."""

from __future__ import annotations

import json
from pathlib import Path

from relaydesk.server.app import create_app
from relaydesk.server.config import Settings

SNAPSHOT = Path(__file__).resolve().parents[2] / "web" / "openapi.json"


def test_web_openapi_snapshot_is_the_servers_schema(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url="sqlite+aiosqlite:///:memory:"))
    served = json.loads(json.dumps(app.openapi(), sort_keys=True))
    assert json.loads(SNAPSHOT.read_text()) == served, (
        "web/openapi.json is stale: run `.venv/bin/relaydesk openapi > web/openapi.json && "
        "(cd web && npm run gen:api)`"
    )
