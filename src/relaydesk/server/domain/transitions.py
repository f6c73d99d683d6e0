"""Who may move a support session, and its screen sharing, from which state to which: one table
each. Every rule in support_sessions.py, screen.py and the lifecycle modules asks these tables
instead of comparing strings; a move the table does not hold is refused with the move's own
error (tests/unit/test_transitions.py lists every case)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from relaydesk.protocol.states import ScreenState, SessionStatus
from relaydesk.server.domain.errors import Conflict, Forbidden


class Party(StrEnum):
    """Who asks for a move. Whether a technician is the session's owner is checked before
    (require_owner); the tables say what the owner, the customer, the agent or the server itself
    (system: timeouts, hold's side effects, retention) may do."""

    TECHNICIAN = "technician"
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class SessionMove(StrEnum):
    ACCEPT = "accept"
    HOLD = "hold"
    END = "end"


class ScreenMove(StrEnum):
    ASK_VIEW = "ask_view"
    ASK_CONTROL = "ask_control"
    ALLOW_VIEW = "allow_view"  # the customer allows a view-only request
    ALLOW_CONTROL = "allow_control"  # the customer allows a control request
    DENY = "deny"
    GIVE_UP_CONTROL = "give_up_control"  # the technician steps down to view only
    REVOKE_CONTROL = "revoke_control"  # the customer takes control back
    STOP = "stop"  # sharing ends (either side, or the server on hold or end)
    # A jump (UNA-6): its policy, or the user on the device, allowed it; nobody else is asked.
    JUMP_VIEW = "jump_view"
    JUMP_CONTROL = "jump_control"


S = TypeVar("S", SessionStatus, ScreenState)


@dataclass(frozen=True)
class Rule(Generic[S]):
    """One move: who may make it, from which state to which, and the error for any other
    state (a party not listed gets `not_yours`)."""

    parties: frozenset[Party]
    moves: dict[S, S]
    wrong_state: tuple[str, str]

    def target(self, state: S, party: Party, move: StrEnum) -> S:
        if party not in self.parties:
            raise Forbidden(
                "move_not_allowed", f"The {party.value} may not {move.value.replace('_', ' ')}."
            )
        if state not in self.moves:
            code, message = self.wrong_state
            raise Conflict(code, message)
        return self.moves[state]


_OPEN = (SessionStatus.WAITING, SessionStatus.ACTIVE, SessionStatus.HELD)
_TECHNICIAN = frozenset({Party.TECHNICIAN})
_CUSTOMER = frozenset({Party.CUSTOMER})

SESSION_TABLE: dict[SessionMove, Rule[SessionStatus]] = {
    SessionMove.ACCEPT: Rule(
        _TECHNICIAN,
        {
            SessionStatus.WAITING: SessionStatus.ACTIVE,
            SessionStatus.HELD: SessionStatus.ACTIVE,
        },
        ("session_not_waiting", "This session is not waiting in a queue any more."),
    ),
    SessionMove.HOLD: Rule(
        _TECHNICIAN,
        {SessionStatus.ACTIVE: SessionStatus.HELD},
        ("session_not_active", "Only a session being worked can be put on hold."),
    ),
    SessionMove.END: Rule(
        frozenset(Party),
        {status: SessionStatus.ENDED for status in _OPEN},
        ("session_ended", "This session has already ended."),
    ),
}

_SHARED = (ScreenState.VIEW, ScreenState.CONTROL)
SCREEN_TABLE: dict[ScreenMove, Rule[ScreenState]] = {
    # A request waits in screen_requested; asking for what is already granted changes nothing.
    ScreenMove.ASK_VIEW: Rule(
        _TECHNICIAN,
        {
            ScreenState.OFF: ScreenState.REQUESTED,
            ScreenState.REQUESTED: ScreenState.REQUESTED,
            ScreenState.VIEW: ScreenState.VIEW,
            ScreenState.CONTROL: ScreenState.CONTROL,
        },
        ("screen_not_requestable", "The screen cannot be asked for now."),
    ),
    ScreenMove.ASK_CONTROL: Rule(
        _TECHNICIAN,
        {
            ScreenState.OFF: ScreenState.REQUESTED,
            ScreenState.REQUESTED: ScreenState.REQUESTED,
            ScreenState.VIEW: ScreenState.VIEW,  # view goes on until the customer answers
            ScreenState.CONTROL: ScreenState.CONTROL,
        },
        ("screen_not_requestable", "The screen cannot be asked for now."),
    ),
    ScreenMove.ALLOW_VIEW: Rule(
        _CUSTOMER,
        {ScreenState.REQUESTED: ScreenState.VIEW},
        ("no_screen_request", "There is no request to answer."),
    ),
    ScreenMove.ALLOW_CONTROL: Rule(
        _CUSTOMER,
        {ScreenState.REQUESTED: ScreenState.CONTROL, ScreenState.VIEW: ScreenState.CONTROL},
        ("no_screen_request", "There is no request to answer."),
    ),
    ScreenMove.DENY: Rule(
        _CUSTOMER,
        {ScreenState.REQUESTED: ScreenState.OFF, ScreenState.VIEW: ScreenState.VIEW},
        ("no_screen_request", "There is no request to answer."),
    ),
    ScreenMove.GIVE_UP_CONTROL: Rule(
        _TECHNICIAN,
        {ScreenState.CONTROL: ScreenState.VIEW},
        ("not_in_control", "You do not have control of this screen."),
    ),
    ScreenMove.REVOKE_CONTROL: Rule(
        _CUSTOMER,
        {ScreenState.CONTROL: ScreenState.VIEW},
        ("not_in_control", "The technician does not have control."),
    ),
    ScreenMove.JUMP_VIEW: Rule(
        frozenset({Party.SYSTEM}),
        {ScreenState.OFF: ScreenState.VIEW, ScreenState.REQUESTED: ScreenState.VIEW},
        ("screen_already_shared", "The screen is already shared."),
    ),
    ScreenMove.JUMP_CONTROL: Rule(
        frozenset({Party.SYSTEM}),
        {
            ScreenState.OFF: ScreenState.CONTROL,
            ScreenState.REQUESTED: ScreenState.CONTROL,
            ScreenState.VIEW: ScreenState.CONTROL,
        },
        ("screen_already_shared", "The screen is already shared with control."),
    ),
    ScreenMove.STOP: Rule(
        frozenset(Party),
        {state: ScreenState.OFF for state in ScreenState},
        ("screen_not_shared", "The screen is not shared."),
    ),
}


def session_move(status: str, move: SessionMove, party: Party) -> SessionStatus:
    """The status `move` by `party` leads to from `status`, or the move's refusal."""
    return SESSION_TABLE[move].target(SessionStatus(status), party, move)


def screen_move(state: str, move: ScreenMove, party: Party) -> ScreenState:
    """The screen state `move` by `party` leads to from `state`, or the move's refusal."""
    return SCREEN_TABLE[move].target(ScreenState(state), party, move)
