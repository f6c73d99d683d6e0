"""Realtime events: what the rules announce on the broker, and what the console's and the
portal page's WebSockets push. Every one is a typed model, discriminated on `type`, built and
validated where it is produced (`server.domain.notifications.announce` takes these models), carried
as such by the broker and serialised once, at the socket.

Topics and what they carry (see `server.domain.notifications`):
  org:{id}      OrgEvent          the consoles turn it into ConsoleEvent frames
  session:{id}  SessionEvent      the portal page turns it into PortalEvent frames
  device:{id}   AgentCommand      the agent's channel turns it into control messages
  live-sockets  SocketsEnd        every node closes the sockets it holds

The web app's types for ConsoleEvent and PortalEvent are generated from the JSON Schema that
`relaydesk events-schema` prints (web/events.json → web/src/api/events.d.ts). A field that
carries a REST object names its OpenAPI schema with REST_SCHEMA, so that the generated type is
the REST type itself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter

from relaydesk.protocol.messages import (
    AdHocConnect,
    EndSession,
    InputPolicy,
    JumpClientAsk,
    JumpClientInstall,
    JumpEnd,
    JumpStart,
    Message,
    SysinfoRequest,
    TunnelKind,
    TunnelOpen,
    Uninstall,
)
from relaydesk.protocol.states import ScreenMode, ScreenState, SessionStatus

ScreenRequest = ScreenMode | Literal[""]
# What the customer's page shows: the session's status, or waiting for the agent before it.
CustomerStatus = SessionStatus | Literal["waiting_for_agent"]
QueueChange = Literal["arrived", "accepted", "held", "ended"]
ChatSender = Literal["technician", "customer", "system"]


def rest_schema(name: str, many: bool = False, nullable: bool = False) -> dict[str, Any]:
    """JSON Schema extras naming the REST schema (in web/openapi.json) a field carries."""
    ts = f'import("./schema").components["schemas"]["{name}"]'
    if many:
        ts += "[]"
    if nullable:
        ts += " | null"
    return {"tsType": ts, "x-rest-schema": name}


class Event(Message):
    """A realtime event: immutable, no fields beyond its own; every field is always sent."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


# --- both the console and the portal page -----------------------------------------------------
class ChatLine(Event):
    """One chat message, as both sides show it."""

    id: int
    session_id: int
    at: datetime
    sender: ChatSender
    sender_name: str
    text: str


# --- org:{id} (broker) and the console's socket ---------------------------------------------
class QueueChanged(Event):
    """A session arrived in, or left, a queue: each console fetches its own queue again."""

    type: Literal["queue.changed"] = "queue.changed"
    session_id: int
    change: QueueChange


class SessionChat(ChatLine):
    type: Literal["session.chat"] = "session.chat"


class ChatSwitch(Event):
    """Chat turned on or off for the whole organisation (TOOL-6)."""

    type: Literal["organisation.chat"] = "organisation.chat"
    enabled: bool


class SessionOnline(Event):
    """The session's agent connected again, or went away."""

    type: Literal["session.updated"] = "session.updated"
    session_id: int
    online: bool


class SessionSysinfo(Event):
    type: Literal["session.sysinfo"] = "session.sysinfo"
    session_id: int
    request_id: str
    info: dict[str, Any]


class SessionScreen(Event):
    """The screen's consent state; `technician` names who asked, on a request."""

    type: Literal["session.screen"] = "session.screen"
    session_id: int
    state: ScreenState
    requested: ScreenRequest
    technician: str = ""


class QueueSnapshot(Event):
    """The console's queues, sent when it connects and after every queue change."""

    type: Literal["queue"] = "queue"
    queue: Annotated[dict[str, Any], Field(json_schema_extra=rest_schema("QueueOut"))]


class Arrival(Event):
    """A session arrived that this technician may take (ATT-4): the console announces it."""

    type: Literal["notification"] = "notification"
    kind: Literal["session_arrived"] = "session_arrived"
    session: Annotated[dict[str, Any], Field(json_schema_extra=rest_schema("SessionOut"))]


# --- devices (UNA-5): org:{id} and the consoles whose scope reaches the device ----------------
class DeviceOnline(Event):
    """A device's agent connected (online since `at`) or its last link ended (last seen `at`)."""

    type: Literal["device.online"] = "device.online"
    device_id: int
    online: bool
    at: datetime
    # The device's group: the console delivers the event only where the scope reaches it.
    device_group_id: int | None


class DeviceChanged(Event):
    """A device was edited, moved, deleted, or its inventory arrived: the console reads it again
    (a device now out of its scope, or deleted, answers 404 and leaves the list)."""

    type: Literal["device.changed"] = "device.changed"
    device_id: int
    change: Literal["edited", "moved", "inventory", "removed"]
    device_group_id: int | None
    # Where it was before a move: consoles that saw it there learn that it left.
    previous_group_id: int | None = None


# --- ad hoc support (ADH-3, issue 14): org:{id}, to the technicians who see the session -------
AdHocState = Literal[
    "prepared",
    "emailed",
    "link_opened",
    "host_installed",
    "waiting_for_code",
    "activated",
    "ended",
    "expired",
]


class AdHocChanged(Event):
    """An ad hoc session moved on (link opened, host installed, waiting for the code, activated,
    connected, ended, expired): the Ad hoc page reads it again without reloading."""

    type: Literal["adhoc.changed"] = "adhoc.changed"
    ad_hoc_session_id: int
    state: AdHocState
    # Whose it is: the console delivers it to him (and to administrators, who see them all).
    technician_id: int | None
    device_id: int | None = None


OrgEvent = Annotated[
    QueueChanged
    | SessionChat
    | ChatSwitch
    | SessionOnline
    | SessionSysinfo
    | SessionScreen
    | DeviceOnline
    | DeviceChanged
    | AdHocChanged,
    Field(discriminator="type"),
]
ConsoleEvent = Annotated[
    QueueSnapshot
    | Arrival
    | SessionChat
    | ChatSwitch
    | SessionOnline
    | SessionSysinfo
    | SessionScreen
    | DeviceOnline
    | DeviceChanged
    | AdHocChanged,
    Field(discriminator="type"),
]


# --- session:{id} (broker) and the portal page's socket ---------------------------------------
class SessionState(Event):
    """The session's status (or the organisation's chat switch) changed: the portal page gets a
    fresh snapshot."""

    type: Literal["state"] = "state"
    status: SessionStatus | None = None
    technician: str = ""


class CustomerChat(ChatLine):
    type: Literal["chat"] = "chat"


class CustomerScreen(Event):
    type: Literal["screen"] = "screen"
    state: ScreenState
    requested: ScreenRequest
    technician: str = ""


class ToolOpened(Event):
    """The technician opened a tool on the customer's computer (the page says so)."""

    type: Literal["tool"] = "tool"
    kind: Literal["shell", "files"]
    state: Literal["opened"] = "opened"


class PortalSnapshot(Event):
    type: Literal["snapshot"] = "snapshot"
    status: CustomerStatus
    technician: Annotated[
        dict[str, Any] | None,
        Field(json_schema_extra=rest_schema("TechnicianOut", nullable=True)),
    ]
    chat: list[ChatLine]
    chat_enabled: bool
    # The technician asks to install a permanent (Jump) client: the page asks too (UNA-1).
    jump_client_request_id: int | None = None
    jump_client_technician: str = ""


class PortalError(Event):
    """The page's session cannot be followed (e.g. the key is gone); the socket closes after."""

    type: Literal["error"] = "error"
    code: str
    detail: str


SessionEvent = Annotated[
    SessionState | CustomerChat | CustomerScreen | ToolOpened, Field(discriminator="type")
]
PortalEvent = Annotated[
    PortalSnapshot | CustomerChat | CustomerScreen | ToolOpened | PortalError,
    Field(discriminator="type"),
]


# --- device:{id} (broker): commands for the device's agent -----------------------------------
class CloseTunnels(Event):
    """Close the agent's open tunnels of a kind (the channel sends one tunnel_close each)."""

    type: Literal["close_tunnels"] = "close_tunnels"
    kind: TunnelKind


# What the server tells an agent through the broker (also part of BrokerEvent below).
AgentCommands = (
    EndSession
    | SysinfoRequest
    | TunnelOpen
    | InputPolicy
    | CloseTunnels
    | Uninstall
    | JumpStart
    | JumpEnd
    | AdHocConnect
    | JumpClientAsk
    | JumpClientInstall
)
AgentCommand = Annotated[AgentCommands, Field(discriminator="type")]


# --- live-sockets (broker) -------------------------------------------------------------------
class SocketsEnd(Event):
    """A user's live sockets end (signed out, credentials or rights changed)."""

    type: Literal["sockets.end"] = "sockets.end"
    user_id: int
    because: str
    login_id: int | None = None
    keep_login_id: int | None = None


BrokerEvent = Annotated[
    QueueChanged
    | SessionChat
    | ChatSwitch
    | SessionOnline
    | SessionSysinfo
    | SessionScreen
    | DeviceOnline
    | DeviceChanged
    | AdHocChanged
    | SessionState
    | CustomerChat
    | CustomerScreen
    | ToolOpened
    | AgentCommands
    | SocketsEnd,
    Field(discriminator="type"),
]

BROKER_EVENTS: TypeAdapter[BrokerEvent] = TypeAdapter(BrokerEvent)
CONSOLE_EVENTS: TypeAdapter[ConsoleEvent] = TypeAdapter(ConsoleEvent)
PORTAL_EVENTS: TypeAdapter[PortalEvent] = TypeAdapter(PortalEvent)
AGENT_COMMANDS: TypeAdapter[AgentCommand] = TypeAdapter(AgentCommand)


def events_schema() -> dict[str, Any]:
    """The JSON Schema of what the web app receives: `ConsoleEvent` and `PortalEvent`."""
    defs: dict[str, Any] = {}
    roots: dict[str, Any] = {}
    for name, adapter in (("ConsoleEvent", CONSOLE_EVENTS), ("PortalEvent", PORTAL_EVENTS)):
        schema = adapter.json_schema(ref_template="#/definitions/{model}", mode="serialization")
        defs.update(schema.pop("$defs", {}))
        roots[name] = schema
    for definition in defs.values():
        # Field titles would become one named alias per field in the generated TypeScript.
        for field in definition.get("properties", {}).values():
            field.pop("title", None)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "RealtimeEvents",
        "description": "Generated by `relaydesk events-schema`; do not edit.",
        "type": "object",
        "properties": {name: {"$ref": f"#/definitions/{name}"} for name in roots},
        "required": list(roots),
        "additionalProperties": False,
        "definitions": {**dict(sorted(defs.items())), **roots},
    }
