"""The realtime events are typed models (relaydesk.protocol.events) and the web app's types for
them are generated from those models: the committed web/events.json is what the models say, the
web app handles exactly the event types the server sends, the drift check fails when a model
changes, and nothing on the console's or the portal page's socket is sent as a hand-made dict."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from relaydesk.protocol import events

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
REALTIME_TS = WEB / "src" / "api" / "realtime.ts"


def _members(union: object) -> list[type[BaseModel]]:
    """The models of an Annotated discriminated union."""
    inner = typing.get_args(union)[0]
    return list(typing.get_args(inner))


def _types(union: object) -> set[str]:
    return {model.model_fields["type"].annotation.__args__[0] for model in _members(union)}  # type: ignore[union-attr]


def _web_types(constant: str) -> set[str]:
    """The keys of a `Record<…["type"], true>` constant in web/src/api/realtime.ts."""
    source = REALTIME_TS.read_text()
    body = re.search(constant + r"[^=]*= \{(.*?)\};", source, re.S)
    assert body is not None, f"{constant} not found in {REALTIME_TS}"
    return set(re.findall(r'^\s*"?([\w.]+)"?: true,', body.group(1), re.M))


def test_the_web_app_handles_exactly_the_events_the_server_sends() -> None:
    assert (
        _types(events.ConsoleEvent)
        == _web_types("CONSOLE_EVENT_TYPES")
        == {
            "queue",
            "notification",
            "session.chat",
            "organisation.chat",
            "session.updated",
            "session.sysinfo",
            "session.screen",
            "device.online",
            "device.changed",
            "adhoc.changed",
        }
    )
    assert (
        _types(events.PortalEvent)
        == _web_types("PORTAL_EVENT_TYPES")
        == {
            "snapshot",
            "chat",
            "screen",
            "tool",
            "error",
        }
    )


def test_the_console_hears_every_org_event_and_the_page_every_session_event() -> None:
    """What the org topic carries reaches the console (queue.changed as a fresh queue), and what
    the session topic carries reaches the page (state as a fresh snapshot)."""
    assert _types(events.OrgEvent) - {"queue.changed"} <= _types(events.ConsoleEvent)
    assert _types(events.SessionEvent) - {"state"} <= _types(events.PortalEvent)
    broker = _types(events.BrokerEvent)
    for topic in (events.OrgEvent, events.SessionEvent, events.AgentCommand):
        assert _types(topic) <= broker
    assert "sockets.end" in broker


EXAMPLES: list[BaseModel] = [
    events.QueueChanged(session_id=3, change="arrived"),
    events.SessionChat(
        id=1,
        session_id=3,
        at="2026-01-02T03:04:05Z",
        sender="customer",
        sender_name="Zoë",
        text="héllo 👋",
    ),
    events.ChatSwitch(enabled=False),
    events.SessionOnline(session_id=3, online=True),
    events.SessionSysinfo(session_id=3, request_id="r1", info={"cpu": {"count": 4}}),
    events.SessionScreen(session_id=3, state="requested", requested="control", technician="Ada"),
    events.SessionState(status="held"),
    events.SessionState(),
    events.CustomerChat(
        id=1,
        session_id=3,
        at="2026-01-02T03:04:05Z",
        sender="technician",
        sender_name="Ada",
        text="hi",
    ),
    events.CustomerScreen(state="off", requested=""),
    events.ToolOpened(kind="files"),
    events.CloseTunnels(kind="screen"),
    events.SocketsEnd(user_id=7, because="signed_out", login_id=2),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_broker_event_survives_the_wire(event: BaseModel) -> None:
    """A broker between nodes carries JSON: each event comes back as the same model."""
    assert events.BROKER_EVENTS.validate_json(event.model_dump_json()) == event


def test_an_event_refuses_what_its_model_does_not_say() -> None:
    with pytest.raises(ValueError, match="change"):
        events.QueueChanged(session_id=3, change="vanished")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="state"):
        events.SessionScreen(session_id=3, state="bogus", requested="")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="extra"):
        events.BROKER_EVENTS.validate_python({"type": "organisation.chat", "enabled": True, "x": 1})
    with pytest.raises(ValueError, match="does not match any of the expected tags"):
        events.BROKER_EVENTS.validate_python({"type": "later"})


def test_web_events_json_is_what_the_models_say() -> None:
    assert json.loads((WEB / "events.json").read_text()) == json.loads(
        json.dumps(events.events_schema(), sort_keys=True)
    ), (
        "web/events.json is stale: run `.venv/bin/relaydesk events-schema > web/events.json && "
        "(cd web && npm run gen:events)`"
    )


def test_realtime_sockets_send_only_models() -> None:
    """The console's and the portal page's feeds serialise models once, at the socket: no
    send_json of a hand-made dict, and every announce in the rules passes a model."""
    for path in (ROOT / "src/relaydesk/server/realtime").glob("*.py"):
        if path.name in ("console.py", "portal.py"):
            tree = ast.parse(path.read_text())
            calls = [
                node.func.attr
                for node in ast.walk(tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            ]
            assert "send_json" not in calls, path
    announced = 0
    for path in (ROOT / "src/relaydesk/server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "announce"
            ):
                announced += 1
                assert not isinstance(node.args[2], ast.Dict), f"{path}:{node.lineno}"
    assert announced > 10


NODE = shutil.which("node")


def _check_events(relaydesk: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NODE), "scripts/check-events.mjs"],
        cwd=WEB,
        env={**os.environ, "RELAYDESK": str(relaydesk)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(
    NODE is None or not (WEB / "node_modules" / "json-schema-to-typescript").is_dir(),
    reason="needs node and web/node_modules (npm ci in web/)",
)
def test_the_drift_check_fails_when_a_model_changes(tmp_path: Path) -> None:
    """`npm run check:events` passes on the committed files and fails once the models say
    something else: here a new console event the committed types do not know."""
    relaydesk = ROOT / ".venv" / "bin" / "relaydesk"
    passed = _check_events(relaydesk)
    assert passed.returncode == 0, passed.stderr
    assert "match the event models" in passed.stdout

    changed = tmp_path / "relaydesk-with-a-new-event"
    changed.write_text(
        f"#!{sys.executable}\n"
        + textwrap.dedent(
            """
            import json
            from typing import Annotated, Literal

            from pydantic import Field, TypeAdapter

            from relaydesk.protocol import events


            class SessionRenamed(events.Event):
                type: Literal["session.renamed"] = "session.renamed"
                session_id: int
                name: str


            members = events.ConsoleEvent.__origin__ | SessionRenamed
            events.CONSOLE_EVENTS = TypeAdapter(Annotated[members, Field(discriminator="type")])
            print(json.dumps(events.events_schema(), indent=2, sort_keys=True))
            """
        )
    )
    changed.chmod(0o755)
    failed = _check_events(changed)
    assert failed.returncode == 1, (failed.stdout, failed.stderr)
    assert "events.json differs from the event models" in failed.stderr
