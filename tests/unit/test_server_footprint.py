"""What the serving process keeps resident is mostly what it imports and builds at start
(docs/benchmarks.md, issue 5: the server under 100 MiB). Set-up and rarely used features stay out
of it until they are needed, and FastAPI holds each API route once."""

from __future__ import annotations

import json
import subprocess
import sys

from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Route, WebSocketRoute

from relaydesk.server.app import create_app
from relaydesk.server.config import load_settings

# Alembic: migrations run in a forked child. segno: QR codes, at TOTP enrolment only. aiosmtplib:
# only where mail goes out. Serialization formats: the server only verifies Ed25519 signatures.
NOT_AT_REST = ["alembic", "segno", "aiosmtplib", "cryptography.hazmat.primitives.serialization"]

SERVING = """
import json, sys
from relaydesk.server import cli
from relaydesk.server.app import create_app
from relaydesk.server.config import load_settings
from relaydesk.protocol import control
create_app(load_settings(database_url="sqlite+aiosqlite:///:memory:"))
print(json.dumps(sorted(m for m in sys.argv[1:] if m in sys.modules)))
"""


def test_the_serving_process_does_not_load_set_up_and_rare_features() -> None:
    # A fresh interpreter: this one has imported whatever other tests needed.
    done = subprocess.run(
        [sys.executable, "-c", SERVING, *NOT_AT_REST],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_modules_listed_exist_so_the_check_above_means_something() -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {', '.join(NOT_AT_REST)}"], capture_output=True
    )
    assert done.returncode == 0, done.stderr


def test_api_routes_are_the_app_s_own_not_included_routers() -> None:
    # An included router's routes are kept twice by FastAPI (as declared and as included).
    app = create_app(load_settings(database_url="sqlite+aiosqlite:///:memory:"))
    kinds = (APIRoute, APIWebSocketRoute, Route, WebSocketRoute)
    assert [r for r in app.routes if not isinstance(r, kinds)] == []
    paths = {r.path for r in app.routes if isinstance(r, APIRoute)}
    assert {"/api/v1/health", "/api/v1/me", "/portal/agent.sh"} <= paths
