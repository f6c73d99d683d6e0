"""Frames ⇄ messages. Parsing never raises anything but ProtocolError."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from relaydesk.protocol.codes import ErrorCode
from relaydesk.protocol.messages import (
    AGENT_MESSAGES,
    MAX_FRAME_BYTES,
    SERVER_MESSAGES,
    AgentMessage,
    Message,
    ServerMessage,
)

T = TypeVar("T")


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _parse(frame: str | bytes, adapter: TypeAdapter[T]) -> T:
    size = len(frame.encode() if isinstance(frame, str) else frame)
    if size > MAX_FRAME_BYTES:
        raise ProtocolError(
            ErrorCode.FRAME_TOO_LARGE, f"Frame of {size} bytes exceeds {MAX_FRAME_BYTES}."
        )
    try:
        data: Any = json.loads(frame)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProtocolError(ErrorCode.MALFORMED_JSON, "The frame is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.NOT_AN_OBJECT, "A frame must be a JSON object.")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.MISSING_TYPE, "The message has no 'type'.")
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        if first.get("type") == "union_tag_invalid":
            raise ProtocolError(
                ErrorCode.UNKNOWN_TYPE, f"Unknown message type '{kind[:40]}'."
            ) from None
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, f"Invalid '{kind[:40]}' message: {where}: {first.get('msg')}"
        ) from None
    except RecursionError:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, "The message is nested too deeply."
        ) from None


def parse_agent_message(frame: str | bytes) -> AgentMessage:
    return _parse(frame, AGENT_MESSAGES)


def parse_server_message(frame: str | bytes) -> ServerMessage:
    return _parse(frame, SERVER_MESSAGES)


def encode(message: Message) -> str:
    return message.model_dump_json()
