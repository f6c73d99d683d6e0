"""Control-channel messages (JSON text frames). Version 1.

A frame is one JSON object with a "type", sent as a WebSocket text frame. Unknown types, missing
or extra fields, wrong types, binary frames and oversized frames (over HANDSHAKE_FRAME_BYTES
before the handshake is over, MAX_FRAME_BYTES after) are protocol errors: they are answered with
an "error" message (a "refused" one before the handshake) and never raise out of the parser."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 1024 * 1024
# Until the handshake is over a peer has proved nothing: `hello` and `proof` (and the server's
# `challenge`/`welcome`/`refused`) fit in a few KiB even with every text field at its longest.
HANDSHAKE_FRAME_BYTES = 16 * 1024
# System reports the server asked for and has not received yet; older requests are forgotten.
MAX_PENDING_SYSINFO = 4

Text = Annotated[str, StringConstraints(max_length=500)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
B64 = Annotated[str, StringConstraints(min_length=1, max_length=200)]
RequestId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Mode = Literal["attended", "adhoc", "unattended"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceFacts(Message):
    hostname: Text
    os: Text
    os_version: Text = ""
    username: Text = ""
    # The device's own addresses on its networks (the device list searches them, UNA-5); optional
    # so that older agents, which do not send them, still connect.
    private_ips: Annotated[
        list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=16)
    ] = []


class SessionKeyCredential(Message):
    kind: Literal["session_key"]
    key: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ResumeCredential(Message):
    """A device that enrolled before and is coming back to its session."""

    kind: Literal["resume"]
    device_id: Annotated[int, Field(ge=1)]
    session_id: Annotated[int, Field(ge=1)]


class InstallerCredential(Message):
    """An installed agent enrolling for the first time with its installer's token (UNA-2)."""

    kind: Literal["installer"]
    token: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class DeviceCredential(Message):
    """An installed (permanent) device coming back: its id, proved by its key pair."""

    kind: Literal["device"]
    device_id: Annotated[int, Field(ge=1)]


class AdHocCredential(Message):
    """A temporary host (ad hoc support, ADH-2) with its session's deployment token: the first
    time (the host arrives) and every time after, proved by the key pair it arrived with."""

    kind: Literal["adhoc"]
    token: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    # The recipient's language (en, fr, de: the server's refusals are worded in it), and what the
    # host found on this computer: the public key of an earlier temporary host and of a permanent
    # agent, so that the server can say "a previous session is still open (whose)" or "this
    # organisation's agent is already installed" (ADH-7).
    language: Annotated[str, StringConstraints(max_length=16)] = ""
    previous_device_key: B64 | None = None
    permanent_agent_key: B64 | None = None


Credential = Annotated[
    SessionKeyCredential
    | ResumeCredential
    | InstallerCredential
    | DeviceCredential
    | AdHocCredential,
    Field(discriminator="kind"),
]


# --- agent → server -------------------------------------------------------------------------
class Hello(Message):
    type: Literal["hello"]
    protocol: int
    agent_version: Text
    mode: Mode
    public_key: B64
    credential: Credential
    device: DeviceFacts


class Proof(Message):
    type: Literal["proof"]
    signature: B64


class SysinfoReport(Message):
    type: Literal["sysinfo"]
    request_id: RequestId
    info: dict[str, Any]


class Ended(Message):
    """The agent has cleaned up after the end of its session and is about to exit."""

    type: Literal["ended"]
    cleaned_up: bool


class Pong(Message):
    type: Literal["pong"]


class FileTransferred(Message):
    """A transfer over a files tunnel completed and was verified (for events and the audit)."""

    type: Literal["file_transfer"]
    tunnel_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
    direction: Literal["upload", "download"]
    kind: Literal["file", "archive"] = "file"
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    size: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class FileChanged(Message):
    """A change over a files tunnel other than a transfer succeeded on the device: a new folder,
    a rename (`to` is the new path), a deletion (for events and the audit)."""

    type: Literal["file_change"]
    tunnel_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
    action: Literal["folder_created", "renamed", "deleted"]
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    to: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None


FileReport = FileTransferred | FileChanged


class ConsentAnswer(Message):
    """The customer answered the technician's request in the window on his desktop; `mode` is
    the request he saw, so that an answer to an older request is not taken for a newer one."""

    type: Literal["consent"]
    mode: Literal["view", "control"]
    allow: bool


class CustomerAction(Message):
    """A button in the customer's window: the same rules as the portal page's buttons."""

    type: Literal["customer_action"]
    action: Literal["stop_sharing", "take_control_back", "end_session"]


class ChatSend(Message):
    """A chat line the customer typed in the window on his desktop."""

    type: Literal["chat_send"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class JumpAnswer(Message):
    """An installed agent's answer to a jump (UNA-6): what the user logged in on the device said
    (`allowed`, `denied`), that nobody answered in time (`no_answer`), or that nobody was asked
    (`not_asked`: the policy asks nobody, or nobody is logged in); `user` is who answered, and
    `desktop` whether a logged-in user's display was found (`user`) or not (`none`: no screen)."""

    type: Literal["jump_answer"]
    session_id: Annotated[int, Field(ge=1)]
    outcome: Literal["allowed", "denied", "no_answer", "not_asked"]
    user: Text = ""
    desktop: Literal["user", "none"]


# --- server → agent -------------------------------------------------------------------------
class Challenge(Message):
    type: Literal["challenge"]
    nonce: B64


class Welcome(Message):
    type: Literal["welcome"]
    device_id: int
    # None: an installed device with no session yet (it stays connected and online).
    session_id: int | None = None
    heartbeat_seconds: int = 20


class Helper(Message):
    """Who is helping, as the server knows the technician and his organisation."""

    name: Text
    title: Text = ""
    company: Text = ""
    verified_domain: Text = ""
    # A data: URL or an address on the server; the window shows it when it can (PNG, GIF).
    picture: Annotated[str, StringConstraints(max_length=200_000)] | None = None


class ChatEntry(Message):
    id: int
    at: Text
    sender: Literal["technician", "customer", "system"]
    sender_name: Text
    text: Annotated[str, StringConstraints(max_length=4000)]


class CustomerState(Message):
    """What the customer's window shows, sent after the welcome and whenever it changes: the
    same state as the portal page (the server is the single source)."""

    type: Literal["customer_state"]
    status: Literal["waiting", "active", "held", "ended"]
    helper: Helper | None = None
    screen_state: Literal["off", "requested", "view", "control"] = "off"
    screen_requested: Literal["", "view", "control"] = ""
    chat_enabled: bool = True
    chat: Annotated[list[ChatEntry], Field(max_length=200)] = []


class CustomerChatLine(Message):
    """A new chat line in the session (either side's)."""

    type: Literal["chat"]
    line: ChatEntry


class Refused(Message):
    """The server will not serve this agent; the connection closes after it."""

    type: Literal["refused"]
    code: Code
    message: Text


class SysinfoRequest(Message):
    type: Literal["sysinfo_request"]
    request_id: RequestId


class EndSession(Message):
    type: Literal["end"]
    reason: Text


class Ping(Message):
    type: Literal["ping"]


TunnelKind = Literal["screen", "shell", "files"]
TunnelId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class FileGrant(Message):
    """What the technician behind a files tunnel may do; the agent enforces it (the relay does not
    read the tunnel's bytes). No roots: the whole device."""

    technician: Text
    upload: bool
    download: bool
    roots: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=4096)]],
        Field(max_length=50),
    ] = []


class TunnelOpen(Message):
    """Open /relay/{tunnel_id}, offering `token` as a subprotocol (relaydesk.protocol.bearer),
    and serve `kind` on it."""

    type: Literal["tunnel_open"]
    tunnel_id: TunnelId
    kind: TunnelKind
    token: B64
    input_allowed: bool = False
    files: FileGrant | None = None


class TunnelClose(Message):
    type: Literal["tunnel_close"]
    tunnel_id: TunnelId


class InputPolicy(Message):
    """Whether remote input may reach this device now (consent given or revoked)."""

    type: Literal["input_policy"]
    allowed: bool


class Uninstall(Message):
    """The device was deleted from the device list (UNA-5): an installed agent removes its
    service, files and key, then exits; sent again at its next hello until it has done so."""

    type: Literal["uninstall"]
    reason: Text


class JumpStart(Message):
    """A technician jumps to this installed device (UNA-6): ask the logged-in user (prompt
    `ask`: allow or deny within `answer_seconds`, after which `when_nobody_answers` applies on the
    server) or not (`none`), and say whether a desktop was found (JumpAnswer)."""

    type: Literal["jump_start"]
    session_id: Annotated[int, Field(ge=1)]
    technician: Text
    company: Text = ""
    prompt: Literal["none", "ask"]
    answer_seconds: Annotated[int, Field(ge=1, le=3600)] = 30
    when_nobody_answers: Literal["deny", "allow"] = "deny"


class JumpEnd(Message):
    """The jump session ended: the installed agent closes its tools and any open prompt, and
    stays connected (it is a permanent device)."""

    type: Literal["jump_end"]
    session_id: Annotated[int, Field(ge=1)]
    reason: Text


# --- turning an attended session's agent into an installed Jump client (UNA-1, TOOL-9) ---------
class JumpClientAsk(Message):
    """server → agent: ask the customer whether the technician may install a permanent remote
    access client on this computer (the window's consent question)."""

    type: Literal["jump_client_ask"]
    request_id: Annotated[int, Field(ge=1)]
    technician: Text


class JumpClientAnswer(Message):
    """agent → server: the customer's answer to that question."""

    type: Literal["jump_client_answer"]
    request_id: Annotated[int, Field(ge=1)]
    allow: bool


class JumpClientInstall(Message):
    """server → agent, after the customer allowed: install this very executable as the system
    service, enrolling with this single-use installer token."""

    type: Literal["jump_client_install"]
    request_id: Annotated[int, Field(ge=1)]
    token: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class JumpClientResult(Message):
    """agent → server: whether the installation succeeded (then the device id it enrolled as)."""

    type: Literal["jump_client_result"]
    request_id: Annotated[int, Field(ge=1)]
    installed: bool
    device_id: Annotated[int, Field(ge=1)] | None = None
    message: Text = ""


# --- ad hoc support: the temporary host (ADH-2 ... ADH-7) -----------------------------------
class AdHocStatus(Message):
    """server → host, after the welcome and when it changes: waiting for the security code, or
    activated: for whom (the organisation, the technician), until when (ISO 8601, UTC), and the
    access password's salted argon2id hash, which the host keeps and checks every connection
    against (the server keeps its own copy; only the host's check is out of the server's hands)."""

    type: Literal["adhoc_status"]
    state: Literal["waiting_for_code", "activated"]
    organisation: Text = ""
    technician: Text = ""
    expires_at: Text = ""
    password_hash: Annotated[str, StringConstraints(max_length=500)] = ""


class AdHocCode(Message):
    """host → server: the security code the recipient typed into the host's window. A wrong or
    older code is answered with an `error` (adhoc_code_invalid); the right one with an
    `adhoc_status` activated."""

    type: Literal["adhoc_code"]
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AdHocConnect(Message):
    """server → host: a technician connects (a session to this device, `session_id`); `password`
    is the access password he typed, which the host checks against its own hash before it serves
    anything (AdHocConnectAnswer). The password is never logged nor kept."""

    type: Literal["adhoc_connect"]
    session_id: Annotated[int, Field(ge=1)]
    technician: Text
    company: Text = ""
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class AdHocConnectAnswer(Message):
    """host → server: whether the password matched the host's hash (refused: the host serves no
    tunnel of that session)."""

    type: Literal["adhoc_connect_answer"]
    session_id: Annotated[int, Field(ge=1)]
    accepted: bool


class AdHocEnd(Message):
    """host → server: the recipient pressed "End session" in the host's window (the server ends
    the ad hoc session and answers `uninstall`), or the host's own clock passed the expiry."""

    type: Literal["adhoc_end"]
    reason: Literal["recipient", "expired"] = "recipient"


class Uninstalled(Message):
    """agent → server: this installed agent is going away. `on_device`: an administrator ran
    `relaydesk-agent uninstall` on the computer (sent after the proof, before the key is
    removed; the server removes the device and answers `uninstall`); `deleted`: the agent obeyed
    the server's `uninstall` and has removed its service, files and key."""

    type: Literal["uninstalled"]
    reason: Literal["on_device", "deleted"]


# --- both ways ------------------------------------------------------------------------------
class Error(Message):
    """The peer sent something this side cannot use; the connection stays open."""

    type: Literal["error"]
    code: Code
    message: Text


AgentMessage = Annotated[
    Hello
    | Proof
    | SysinfoReport
    | Ended
    | Pong
    | FileTransferred
    | FileChanged
    | ConsentAnswer
    | CustomerAction
    | ChatSend
    | JumpAnswer
    | JumpClientAnswer
    | JumpClientResult
    | AdHocCode
    | AdHocConnectAnswer
    | AdHocEnd
    | Uninstalled
    | Error,
    Field(discriminator="type"),
]
ServerMessage = Annotated[
    Challenge
    | Welcome
    | Refused
    | SysinfoRequest
    | EndSession
    | Ping
    | TunnelOpen
    | TunnelClose
    | InputPolicy
    | Uninstall
    | CustomerState
    | CustomerChatLine
    | JumpStart
    | JumpEnd
    | JumpClientAsk
    | JumpClientInstall
    | AdHocStatus
    | AdHocConnect
    | Error,
    Field(discriminator="type"),
]

AGENT_MESSAGES: TypeAdapter[AgentMessage] = TypeAdapter(AgentMessage)
SERVER_MESSAGES: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)
