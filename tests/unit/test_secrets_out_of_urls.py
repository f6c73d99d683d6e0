"""How secrets are kept out of URLs: the subprotocol a client presents a token in, and the
log's redaction of query values (issue 11, defect 8)."""

from __future__ import annotations

import logging

from relaydesk.protocol import bearer
from relaydesk.server.log_redaction import QueryStringRedaction, without_query_values


def test_a_token_travels_as_a_subprotocol_and_is_never_echoed() -> None:
    offered = bearer.offered("tok-EN_123")
    assert offered == ["relaydesk", "relaydesk.bearer.tok-EN_123"]
    assert bearer.presented(offered) == "tok-EN_123"
    assert bearer.answer(offered) == "relaydesk"
    novnc = bearer.offered("x", bearer.BINARY)
    assert (bearer.presented(novnc), bearer.answer(novnc)) == ("x", "binary")
    assert (bearer.presented(["relaydesk"]), bearer.answer([])) == ("", None)


def test_query_values_are_redacted_names_kept() -> None:
    assert without_query_values("/relay/abc") == "/relay/abc"
    assert (
        without_query_values("/?portal=p&key=ABCD-EFGH-JKMN")
        == "/?portal=[redacted]&key=[redacted]"
    )
    assert without_query_values("/x?secretonly") == "/x?[redacted]"


def test_uvicorn_access_and_websocket_lines_lose_their_query_values() -> None:
    access = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/portal/agent.sh?key=ABCD-EFGH-JKMN", "1.1", 200),
        None,
    )
    websocket = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:6", "/api/v1/portal/ws?token=s3cret"),
        None,
    )
    redaction = QueryStringRedaction()
    assert redaction.filter(access) and redaction.filter(websocket)
    assert "ABCD" not in access.getMessage() and "key=[redacted]" in access.getMessage()
    assert "s3cret" not in websocket.getMessage()
