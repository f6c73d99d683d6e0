"""What the customer sees, as a pure model fed by the control channel's messages (no I/O, no
Tk): the window and the terminal only render it, so the rules are unit-tested here."""

from __future__ import annotations

from dataclasses import dataclass, field

from relaydesk.protocol.messages import (
    ChatEntry,
    ConsentAnswer,
    CustomerState,
    Helper,
    JumpClientAnswer,
    JumpClientAsk,
    JumpClientInstall,
)

ASKS = {
    "view": "{name} asks to see your screen. They will see everything on it, but cannot "
    "use your mouse or keyboard.",
    "control": "{name} asks to control your computer. They will see your screen and can use "
    "your mouse and keyboard as if they sat at it.",
    # Turning this support client into an installed Jump client (UNA-1, TOOL-9).
    "install": "{name} wants to install a permanent remote access client on this computer. "
    "Your help desk could then connect to it later, also when you are not there.",
}


@dataclass(frozen=True)
class ConsentPrompt:
    mode: str  # "view" or "control"
    question: str


@dataclass
class CustomerDesk:
    status: str = "connecting"
    helper: Helper | None = None
    screen_state: str = "off"
    screen_requested: str = ""
    chat_enabled: bool = True
    chat: list[ChatEntry] = field(default_factory=list)
    connected: bool = False
    problem: str = ""
    install_ask: JumpClientAsk | None = None

    def apply_state(self, state: CustomerState) -> None:
        self.status = state.status
        self.helper = state.helper
        self.screen_state = state.screen_state
        self.screen_requested = state.screen_requested
        self.chat_enabled = state.chat_enabled
        self.chat = list(state.chat)
        self.connected = True
        self.problem = ""

    def add_chat(self, line: ChatEntry) -> None:
        if all(known.id != line.id for known in self.chat):
            self.chat.append(line)

    def disconnected(self) -> None:
        self.connected = False

    @property
    def helper_name(self) -> str:
        return self.helper.name if self.helper else "The technician"

    @property
    def headline(self) -> str:
        """The session's state in one line."""
        name = self.helper_name
        if self.status == "ended":
            return "The support session has ended."
        if not self.connected and self.status != "connecting":
            return "Connection lost; reconnecting…"
        if self.status == "connecting":
            return "Connecting to the support server…"
        if self.status == "waiting":
            return "Waiting in the queue for a technician."
        if self.status == "held":
            return f"{name} put the session on hold."
        if self.screen_state == "control":
            return f"{name} controls your screen."
        if self.screen_state == "view":
            return f"{name} is viewing your screen."
        return f"{name} joined the session."

    def jump_client(self, item: JumpClientAsk | JumpClientInstall) -> None:
        """The technician's request to install a permanent client (asked), or its installation
        starting (answered meanwhile on the portal page): the question goes."""
        if isinstance(item, JumpClientAsk):
            self.install_ask = item
        elif self.install_ask is not None and self.install_ask.request_id == item.request_id:
            self.install_ask = None

    def answer(self, allow: bool) -> ConsentAnswer | JumpClientAnswer | None:
        """The customer's Allow or Deny to the question shown, as the message that says it."""
        prompt = self.prompt
        if prompt is None:
            return None
        if prompt.mode == "install" and self.install_ask is not None:
            ask, self.install_ask = self.install_ask, None
            return JumpClientAnswer(
                type="jump_client_answer", request_id=ask.request_id, allow=allow
            )
        return ConsentAnswer(type="consent", mode=prompt.mode, allow=allow)  # type: ignore[arg-type]

    @property
    def prompt(self) -> ConsentPrompt | None:
        """The question waiting for the customer's answer, if any."""
        if self.status == "active" and self.install_ask is not None:
            name = self.install_ask.technician or self.helper_name
            return ConsentPrompt("install", ASKS["install"].format(name=name))
        if self.status != "active" or self.screen_requested not in ASKS:
            return None
        mode = self.screen_requested
        return ConsentPrompt(mode, ASKS[mode].format(name=self.helper_name))

    @property
    def sharing(self) -> bool:
        return self.status in ("active", "held") and self.screen_state in ("view", "control")

    @property
    def indicator(self) -> str | None:
        """What the sign on the screen's edge says while the screen is shared."""
        if not self.sharing:
            return None
        verb = "Controlled" if self.screen_state == "control" else "Viewed"
        return f"{verb} by {self.helper_name}"

    @property
    def may_take_control_back(self) -> bool:
        return self.sharing and self.screen_state == "control"

    @property
    def may_chat(self) -> bool:
        return self.connected and self.chat_enabled and self.status in ("waiting", "active", "held")

    @property
    def helper_lines(self) -> list[str]:
        """Who is helping: name, then title and company, then the verified domain."""
        if self.helper is None:
            return ["No technician yet."]
        lines = [self.helper.name]
        role = ", ".join(part for part in (self.helper.title, self.helper.company) if part)
        if role:
            lines.append(role)
        if self.helper.verified_domain:
            lines.append(f"✔ verified: {self.helper.verified_domain}")
        return lines


def chat_text(line: ChatEntry) -> str:
    who = "You" if line.sender == "customer" else line.sender_name
    return f"{who}: {line.text}"
