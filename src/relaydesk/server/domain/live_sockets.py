"""Who is connected as which user and sign-in, and which live sockets end when that user's
credentials or rights change (SEC-1, GOV-3).

A live socket is a console WebSocket or the console's side of a relay tunnel (screen, shell,
files). The rules here decide which of them an ending closes; the registry (`LiveSockets`,
in-memory on each node in `server/live_sockets.py`) only keeps the sockets and closes what the
rule names. Endings travel as events on `LIVE_SOCKETS_TOPIC`, announced on the transaction of the
change and published after its commit, so every node closes its own sockets, and nobody's socket
closes for a change that was rolled back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.events import SocketsEnd
from relaydesk.server.domain.notifications import announce

LIVE_SOCKETS_TOPIC = "live-sockets"

# WebSocket close codes the console understands: 4401 means signed out for good (do not try
# again), RIGHTS_CHANGED asks it to connect again and be authorised afresh.
SIGNED_OUT = 4401
RIGHTS_CHANGED = 4001


class Because(StrEnum):
    """Why sockets end; also the reason written in the audit log and the close frame."""

    SIGNED_OUT = "signed_out"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    TOTP_DISABLED = "totp_disabled"
    DEACTIVATED = "deactivated"
    DELETED = "deleted"
    RIGHTS_CHANGED = "rights_changed"


CLOSE_REASONS: dict[Because, str] = {
    Because.SIGNED_OUT: "signed out",
    Because.PASSWORD_CHANGED: "the password was changed; sign in again",
    Because.PASSWORD_RESET: "an administrator reset the password; sign in again",
    Because.TOTP_DISABLED: "the authenticator was turned off; sign in again",
    Because.DEACTIVATED: "the account was deactivated",
    Because.DELETED: "the account was deleted",
    Because.RIGHTS_CHANGED: "your rights changed; connect again",
}


@dataclass(frozen=True)
class LiveSocket:
    """One open socket: whose, through which browser sign-in (None: an API token), what kind."""

    user_id: int
    login_id: int | None
    kind: str  # "console", or the tunnel's tool: "screen", "shell", "files"


@dataclass(frozen=True)
class Ending:
    """Sockets of `user_id` to close: only those of `login_id` when it is set (signing out one
    browser), all but those of `keep_login_id` when that is set (the sign-in that made the
    change stays), else all of them."""

    user_id: int
    because: Because
    login_id: int | None = None
    keep_login_id: int | None = None

    def as_event(self) -> SocketsEnd:
        return SocketsEnd(
            user_id=self.user_id,
            because=self.because.value,
            login_id=self.login_id,
            keep_login_id=self.keep_login_id,
        )

    @classmethod
    def from_event(cls, event: SocketsEnd) -> Ending:
        return cls(
            user_id=event.user_id,
            because=Because(event.because),
            login_id=event.login_id,
            keep_login_id=event.keep_login_id,
        )

    @property
    def close_code(self) -> int:
        return RIGHTS_CHANGED if self.because == Because.RIGHTS_CHANGED else SIGNED_OUT

    @property
    def close_reason(self) -> str:
        return CLOSE_REASONS[self.because]


def ends(socket: LiveSocket, ending: Ending) -> bool:
    """The rule: does this ending close this socket? A rights change closes every socket of the
    user (the console connects again and is authorised with the new rights; a tool asks for a
    new tunnel, which is refused without the permission); a credential change or sign-out closes
    the sockets of the sign-ins it ended."""
    if socket.user_id != ending.user_id:
        return False
    if ending.login_id is not None:
        return socket.login_id == ending.login_id
    if ending.keep_login_id is not None:
        return socket.login_id != ending.keep_login_id
    return True


def announce_ending(db: AsyncSession, ending: Ending) -> None:
    """Close the sockets once the transaction that made the change commits."""
    announce(db, LIVE_SOCKETS_TOPIC, ending.as_event())


Close = Callable[[int, str], Awaitable[None]]


class LiveSockets(Protocol):
    """The registry of this node's live sockets (in memory now; the multi-node work shares the
    endings through the broker, which this interface already takes them from)."""

    def connected(self, socket: LiveSocket, close: Close) -> AbstractContextManager[None]:
        """Registers the socket for the life of the block; `close(code, reason)` ends it."""
        ...

    async def end(self, ending: Ending) -> int:
        """Closes this node's sockets that the ending names; returns how many."""
        ...

    def sockets_of(self, user_id: int) -> list[LiveSocket]: ...
