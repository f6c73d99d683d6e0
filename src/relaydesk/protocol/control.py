"""The control channel's two ends as sans-I/O state machines: frames in, events out, frames to
send queued. The asyncio code around them only moves frames.

Handshake:  agent → hello;  server → challenge (or refused);  agent → proof;
            server → welcome (or refused).  Then requests both ways until end or close.

Frames are text; until the handshake is over they may be HANDSHAKE_FRAME_BYTES at most, then
MAX_FRAME_BYTES (`max_frame_bytes` says which applies now, so that the transport can refuse a
larger message as its header arrives). The server accepts a system report only in answer to a
request it made; anything else is the peer's fault and answered per the protocol's rules."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum, auto
from typing import Any, Literal

from relaydesk.protocol import identity
from relaydesk.protocol.codec import (
    ProtocolError,
    encode,
    parse_agent_message,
    parse_server_message,
)
from relaydesk.protocol.codes import ErrorCode, RefusalCode
from relaydesk.protocol.messages import (
    HANDSHAKE_FRAME_BYTES,
    MAX_FRAME_BYTES,
    MAX_PENDING_SYSINFO,
    PROTOCOL_VERSION,
    AdHocCode,
    AdHocConnect,
    AdHocConnectAnswer,
    AdHocEnd,
    AdHocStatus,
    Challenge,
    ChatEntry,
    ChatSend,
    ConsentAnswer,
    CustomerAction,
    CustomerChatLine,
    CustomerState,
    Ended,
    EndSession,
    Error,
    FileChanged,
    FileGrant,
    FileReport,
    FileTransferred,
    Hello,
    InputPolicy,
    JumpAnswer,
    JumpClientAnswer,
    JumpClientAsk,
    JumpClientInstall,
    JumpClientResult,
    JumpEnd,
    JumpStart,
    Message,
    Ping,
    Pong,
    Proof,
    Refused,
    SysinfoReport,
    SysinfoRequest,
    TunnelClose,
    TunnelOpen,
    Uninstall,
    Uninstalled,
    Welcome,
)

# The keepalive's two frames, encoded once: an idle link sends or receives nothing else, and a
# frame equal to one of these is that message without going through the parser.
PING_FRAME = encode(Ping(type="ping"))
PONG_FRAME = encode(Pong(type="pong"))


class State(Enum):
    IDLE = auto()
    HELLO_SENT = auto()
    AWAIT_HELLO = auto()
    AWAIT_PROOF = auto()
    AUTHENTICATED = auto()
    ESTABLISHED = auto()
    # The server told the agent to uninstall and waits a moment for its `uninstalled`.
    UNINSTALLING = auto()
    CLOSED = auto()


# --- events --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class BadFrame(Event):
    """The peer sent something unusable; an error went back and the channel stays open."""

    code: str
    message: str


@dataclass(frozen=True)
class PeerError(Event):
    code: str
    message: str


@dataclass(frozen=True)
class Established(Event):
    device_id: int
    session_id: int | None
    heartbeat_seconds: int


@dataclass(frozen=True)
class RefusedByServer(Event):
    code: str
    message: str


@dataclass(frozen=True)
class SysinfoWanted(Event):
    request_id: str


@dataclass(frozen=True)
class EndRequested(Event):
    reason: str


@dataclass(frozen=True)
class TunnelRequested(Event):
    tunnel_id: str
    kind: str
    token: str
    input_allowed: bool
    files: FileGrant | None = None


@dataclass(frozen=True)
class TunnelClosing(Event):
    tunnel_id: str


@dataclass(frozen=True)
class InputPolicyChanged(Event):
    allowed: bool


@dataclass(frozen=True)
class UninstallRequested(Event):
    """The device was deleted: an installed agent removes itself (service, files, key)."""

    reason: str


@dataclass(frozen=True)
class DeviceUninstalled(Event):
    """The installed agent says it is going away (server side): removed on the device by an
    administrator (`on_device`), or done obeying the server's `uninstall` (`deleted`)."""

    reason: str


@dataclass(frozen=True)
class JumpCommanded(Event):
    """The server starts a jump to this installed device, or ends one (UNA-6)."""

    message: JumpStart | JumpEnd


@dataclass(frozen=True)
class JumpAnswered(Event):
    """The installed agent said what happened on the device when a technician jumped."""

    answer: JumpAnswer


@dataclass(frozen=True)
class HelloReceived(Event):
    hello: Hello


@dataclass(frozen=True)
class ProofAccepted(Event):
    pass


@dataclass(frozen=True)
class SysinfoReceived(Event):
    request_id: str
    info: dict[str, Any]


@dataclass(frozen=True)
class FileTransferReported(Event):
    report: FileTransferred


@dataclass(frozen=True)
class FileChangeReported(Event):
    report: FileChanged


@dataclass(frozen=True)
class AgentEnded(Event):
    cleaned_up: bool


@dataclass(frozen=True)
class CustomerStateChanged(Event):
    """What the customer's window shows changed (agent side)."""

    state: CustomerState


@dataclass(frozen=True)
class ChatArrived(Event):
    line: ChatEntry


@dataclass(frozen=True)
class CustomerSpoke(Event):
    """The customer answered, pressed a button or chatted in his window (server side)."""

    message: ConsentAnswer | CustomerAction | ChatSend


@dataclass(frozen=True)
class JumpClientCommanded(Event):
    """The server asks the customer's consent to install a Jump client, or, consent given, says
    to install it (agent side; UNA-1, TOOL-9)."""

    message: JumpClientAsk | JumpClientInstall


@dataclass(frozen=True)
class JumpClientReported(Event):
    """The customer's answer about the Jump client, or the installation's result (server side)."""

    message: JumpClientAnswer | JumpClientResult


@dataclass(frozen=True)
class AdHocCommanded(Event):
    """A temporary host hears its ad hoc session's state (waiting for the code, activated with
    the access password's hash) or a technician connecting with the password he typed."""

    message: AdHocStatus | AdHocConnect


@dataclass(frozen=True)
class AdHocReported(Event):
    """The temporary host sent the typed security code, its answer to a connection, or that the
    recipient (or its own clock) ended the session (server side)."""

    message: AdHocCode | AdHocConnectAnswer | AdHocEnd


@dataclass(frozen=True)
class Closed(Event):
    """This side decided the channel is over (after a refusal)."""

    code: str
    message: str


class _Connection:
    def __init__(self, state: State) -> None:
        self.state = state
        self._outgoing: list[str] = []

    def _send(self, message: Message) -> None:
        self._outgoing.append(encode(message))

    def data_to_send(self) -> list[str]:
        frames, self._outgoing = self._outgoing, []
        return frames

    @property
    def has_data_to_send(self) -> bool:
        return bool(self._outgoing)

    def _bad(self, code: str, message: str) -> list[Event]:
        self._send(Error(type="error", code=code, message=message[:500]))
        return [BadFrame(code, message)]

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    @property
    def established(self) -> bool:
        return self.state is State.ESTABLISHED

    @property
    def max_frame_bytes(self) -> int:
        """The largest frame the peer may send now: the handshake's few KiB until it is over."""
        return MAX_FRAME_BYTES if self.state is State.ESTABLISHED else HANDSHAKE_FRAME_BYTES

    def _unusable(self, frame: str | bytes) -> ProtocolError | None:
        """What the transport's frame itself breaks, before its content is parsed."""
        if isinstance(frame, bytes):
            return ProtocolError(
                ErrorCode.BINARY_FRAME,
                "Control messages are JSON text frames; a binary frame is not one.",
            )
        limit = self.max_frame_bytes
        if len(frame) > limit or len(frame.encode()) > limit:
            return ProtocolError(
                ErrorCode.FRAME_TOO_LARGE,
                f"A frame of {len(frame.encode())} bytes exceeds {limit} bytes"
                + ("" if limit == MAX_FRAME_BYTES else " (the limit before the handshake)")
                + ".",
            )
        return None


class AgentConnection(_Connection):
    def __init__(self, hello: Hello, key: identity.DeviceKey) -> None:
        super().__init__(State.IDLE)
        self.hello = hello
        self._key = key
        self.uninstall_requested = False

    def start(self) -> None:
        self._send(self.hello)
        self.state = State.HELLO_SENT

    def receive(self, frame: str | bytes) -> list[Event]:
        if self.closed:
            return []
        if frame == PING_FRAME:  # the server's heartbeat, answered at once
            self._outgoing.append(PONG_FRAME)
            return []
        try:
            problem = self._unusable(frame)
            if problem is not None:
                raise problem
            message = parse_server_message(frame)
        except ProtocolError as error:
            return self._bad(error.code, error.message)
        if isinstance(message, Refused):
            self.state = State.CLOSED
            return [RefusedByServer(message.code, message.message)]
        if isinstance(message, Error):
            return [PeerError(message.code, message.message)]
        if isinstance(message, Ping):
            self._outgoing.append(PONG_FRAME)
            return []
        if isinstance(message, Uninstall) and self.state is not State.IDLE:
            # In answer to the hello of a deleted device as well as once established.
            self.state = State.CLOSED
            self.uninstall_requested = True
            return [UninstallRequested(message.reason)]
        if isinstance(message, Challenge) and self.state is State.HELLO_SENT:
            self._send(Proof(type="proof", signature=self._key.sign(message.nonce)))
            self.state = State.AWAIT_PROOF
            return []
        if isinstance(message, Welcome) and self.state is State.AWAIT_PROOF:
            self.state = State.ESTABLISHED
            return [Established(message.device_id, message.session_id, message.heartbeat_seconds)]
        if self.state is State.ESTABLISHED:
            if isinstance(message, SysinfoRequest):
                return [SysinfoWanted(message.request_id)]
            if isinstance(message, EndSession):
                return [EndRequested(message.reason)]
            if isinstance(message, TunnelOpen):
                return [
                    TunnelRequested(
                        message.tunnel_id,
                        message.kind,
                        message.token,
                        message.input_allowed,
                        message.files,
                    )
                ]
            if isinstance(message, TunnelClose):
                return [TunnelClosing(message.tunnel_id)]
            if isinstance(message, InputPolicy):
                return [InputPolicyChanged(message.allowed)]
            if isinstance(message, CustomerState):
                return [CustomerStateChanged(message)]
            if isinstance(message, CustomerChatLine):
                return [ChatArrived(message.line)]
            if isinstance(message, JumpStart | JumpEnd):
                return [JumpCommanded(message)]
            if isinstance(message, JumpClientAsk | JumpClientInstall):
                return [JumpClientCommanded(message)]
            if isinstance(message, AdHocStatus | AdHocConnect):
                return [AdHocCommanded(message)]
        return self._bad(ErrorCode.UNEXPECTED_MESSAGE, f"'{message.type}' is not expected now.")

    def send_sysinfo(self, request_id: str, info: dict[str, Any]) -> None:
        self._send(SysinfoReport(type="sysinfo", request_id=request_id, info=info))

    def send_file_report(self, report: FileReport) -> None:
        """A completed transfer or change over a files tunnel."""
        self._send(report)

    def send_customer(
        self, message: ConsentAnswer | CustomerAction | ChatSend | JumpClientAnswer
    ) -> None:
        """What the customer did in his window; only once the handshake is over."""
        if self.state is State.ESTABLISHED:
            self._send(message)

    def send_jump_answer(self, answer: JumpAnswer) -> None:
        if self.state is State.ESTABLISHED:
            self._send(answer)

    def send_jump_client(self, message: JumpClientAnswer | JumpClientResult) -> None:
        """The customer's answer about the Jump client, or how its installation went."""
        if self.state is State.ESTABLISHED:
            self._send(message)

    def send_ad_hoc(self, message: AdHocCode | AdHocConnectAnswer | AdHocEnd) -> None:
        """The temporary host's code, its answer to a connection, or the end by the recipient."""
        if self.state is State.ESTABLISHED:
            self._send(message)

    def send_uninstalled(self, reason: Literal["on_device", "deleted"]) -> None:
        """This installed agent is going away (see Uninstalled): once welcomed, or in answer to
        the server's `uninstall` (after the hello of a deleted device as well)."""
        if self.state is State.ESTABLISHED or self.uninstall_requested:
            self._send(Uninstalled(type="uninstalled", reason=reason))

    def send_ended(self, cleaned_up: bool) -> None:
        self._send(Ended(type="ended", cleaned_up=cleaned_up))
        self.state = State.CLOSED


class ServerConnection(_Connection):
    def __init__(self) -> None:
        super().__init__(State.AWAIT_HELLO)
        self.hello: Hello | None = None
        self._nonce = ""
        # Requests for a system report not answered yet (oldest first), to tell an answer from
        # a report nobody asked for.
        self._sysinfo_asked: OrderedDict[str, None] = OrderedDict()

    def receive(self, frame: str | bytes) -> list[Event]:
        if self.closed:
            return []
        if frame == PONG_FRAME:  # the answer to the heartbeat: nothing to do
            return []
        try:
            problem = self._unusable(frame)
            if problem is not None:
                raise problem
            message = parse_agent_message(frame)
        except ProtocolError as error:
            if self.state in (State.AWAIT_HELLO, State.AWAIT_PROOF):
                return self.refuse(error.code, error.message)
            return self._bad(error.code, error.message)
        if isinstance(message, Error):
            return [PeerError(message.code, message.message)]
        if isinstance(message, Pong):
            return []
        if isinstance(message, Hello) and self.state is State.AWAIT_HELLO:
            if message.protocol != PROTOCOL_VERSION:
                return self.refuse(
                    RefusalCode.PROTOCOL_MISMATCH,
                    f"This server speaks protocol version {PROTOCOL_VERSION}; the agent speaks "
                    f"{message.protocol}. Download the agent again from the portal.",
                )
            if not identity.valid_public_key(message.public_key):
                return self.refuse(
                    RefusalCode.BAD_PUBLIC_KEY, "The agent's public key is not Ed25519."
                )
            self.hello = message
            return [HelloReceived(message)]
        if isinstance(message, Proof) and self.state is State.AWAIT_PROOF:
            assert self.hello is not None
            if not identity.verify(self.hello.public_key, self._nonce, message.signature):
                return self.refuse(RefusalCode.BAD_PROOF, "The agent could not prove its identity.")
            self.state = State.AUTHENTICATED
            return [ProofAccepted()]
        if self.state is State.ESTABLISHED:
            if isinstance(message, SysinfoReport):
                if message.request_id not in self._sysinfo_asked:
                    return self._bad(
                        ErrorCode.UNSOLICITED_REPORT,
                        f"No system report was asked for with id '{message.request_id}'; "
                        "it was dropped.",
                    )
                del self._sysinfo_asked[message.request_id]
                return [SysinfoReceived(message.request_id, message.info)]
            if isinstance(message, FileTransferred):
                return [FileTransferReported(message)]
            if isinstance(message, FileChanged):
                return [FileChangeReported(message)]
            if isinstance(message, Ended):
                self.state = State.CLOSED
                return [AgentEnded(message.cleaned_up)]
            if isinstance(message, ConsentAnswer | CustomerAction | ChatSend):
                return [CustomerSpoke(message)]
            if isinstance(message, JumpAnswer):
                return [JumpAnswered(message)]
            if isinstance(message, JumpClientAnswer | JumpClientResult):
                return [JumpClientReported(message)]
            if isinstance(message, AdHocCode | AdHocConnectAnswer | AdHocEnd):
                return [AdHocReported(message)]
            if isinstance(message, Uninstalled):
                return [DeviceUninstalled(message.reason)]
        if self.state is State.UNINSTALLING and isinstance(message, Uninstalled):
            self.state = State.CLOSED
            return [DeviceUninstalled(message.reason)]
        if self.state in (State.AWAIT_HELLO, State.AWAIT_PROOF):
            return self.refuse(
                RefusalCode.UNEXPECTED_MESSAGE, f"'{message.type}' before the handshake."
            )
        return self._bad(ErrorCode.UNEXPECTED_MESSAGE, f"'{message.type}' is not expected now.")

    def challenge(self) -> None:
        self._nonce = identity.new_nonce()
        self._send(Challenge(type="challenge", nonce=self._nonce))
        self.state = State.AWAIT_PROOF

    def welcome(self, device_id: int, session_id: int | None, heartbeat_seconds: int) -> None:
        self._send(
            Welcome(
                type="welcome",
                device_id=device_id,
                session_id=session_id,
                heartbeat_seconds=heartbeat_seconds,
            )
        )
        self.state = State.ESTABLISHED

    def refuse(self, code: str, message: str) -> list[Event]:
        self._send(Refused(type="refused", code=code, message=message[:500]))
        self.state = State.CLOSED
        return [Closed(code, message)]

    def request_sysinfo(self, request_id: str) -> None:
        self._sysinfo_asked[request_id] = None
        while len(self._sysinfo_asked) > MAX_PENDING_SYSINFO:
            self._sysinfo_asked.popitem(last=False)
        self._send(SysinfoRequest(type="sysinfo_request", request_id=request_id))

    def end_session(self, reason: str) -> None:
        self._send(EndSession(type="end", reason=reason[:500]))

    def ping(self) -> None:
        self._outgoing.append(PING_FRAME)

    def open_tunnel(
        self,
        tunnel_id: str,
        kind: str,
        token: str,
        input_allowed: bool,
        files: FileGrant | None = None,
    ) -> None:
        self._send(
            TunnelOpen(
                type="tunnel_open",
                tunnel_id=tunnel_id,
                kind=kind,  # type: ignore[arg-type]
                token=token,
                input_allowed=input_allowed,
                files=files,
            )
        )

    def close_tunnel(self, tunnel_id: str) -> None:
        self._send(TunnelClose(type="tunnel_close", tunnel_id=tunnel_id))

    def show_customer(self, state: CustomerState) -> None:
        self._send(state)

    def chat_to_customer(self, line: ChatEntry) -> None:
        self._send(CustomerChatLine(type="chat", line=line))

    def jump(self, message: JumpStart | JumpEnd) -> None:
        """Start or end a jump on this installed device (UNA-6)."""
        self._send(message)

    def jump_client(self, message: JumpClientAsk | JumpClientInstall) -> None:
        """Ask the customer's consent to a Jump client, or have the agent install it."""
        self._send(message)

    def ad_hoc(self, message: AdHocStatus | AdHocConnect) -> None:
        """The temporary host's state (activated: with the access password's hash), or a
        technician connecting with the password he typed."""
        self._send(message)

    def tell(self, code: str, message: str) -> None:
        """The agent's request was refused by a rule (it stays connected)."""
        self._send(Error(type="error", code=code, message=message[:500]))

    def set_input_policy(self, allowed: bool) -> None:
        self._send(InputPolicy(type="input_policy", allowed=allowed))

    def uninstall(self, reason: str) -> None:
        """The device was deleted (UNA-5): its agent removes itself. Sent to a welcomed agent, or
        to a deleted one that has just proved its key (it is never welcomed again); the
        connection is over after it, but for the agent's `uninstalled` (which a current agent sends
        once it has removed itself; older ones just close)."""
        self._send(Uninstall(type="uninstall", reason=reason[:500]))
        self.state = State.UNINSTALLING

    def uninstall_noted(self, reason: str) -> None:
        """The answer to an agent's `uninstalled` (on the device): the device is removed here too;
        the connection is over."""
        self._send(Uninstall(type="uninstall", reason=reason[:500]))
        self.state = State.CLOSED
