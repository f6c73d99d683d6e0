"""The session's and the screen's transition tables, case by case: every (state, move, party)
either leads where this test says, or is refused with the error it names."""

from __future__ import annotations

import itertools

import pytest

from relaydesk.protocol.states import ScreenState, SessionStatus
from relaydesk.server.domain.errors import Conflict, DomainError, Forbidden
from relaydesk.server.domain.transitions import (
    Party,
    ScreenMove,
    SessionMove,
    screen_move,
    session_move,
)

W, A, H, E = SessionStatus
T, C, G, S = Party.TECHNICIAN, Party.CUSTOMER, Party.AGENT, Party.SYSTEM

# (from, move, party) -> to; everything not listed is refused.
SESSION_ALLOWED: dict[tuple[SessionStatus, SessionMove, Party], SessionStatus] = {
    (W, SessionMove.ACCEPT, T): A,
    (H, SessionMove.ACCEPT, T): A,
    (A, SessionMove.HOLD, T): H,
    **{(s, SessionMove.END, p): E for s in (W, A, H) for p in (T, C, G, S)},
}
# The error of a refused move by a party that may make it, in a state it cannot be made from.
SESSION_WRONG_STATE = {
    SessionMove.ACCEPT: "session_not_waiting",
    SessionMove.HOLD: "session_not_active",
    SessionMove.END: "session_ended",
}
SESSION_PARTIES = {
    SessionMove.ACCEPT: {T},
    SessionMove.HOLD: {T},
    SessionMove.END: {T, C, G, S},
}

OFF, REQ, VIEW, CTRL = ScreenState
M = ScreenMove
SCREEN_ALLOWED: dict[tuple[ScreenState, ScreenMove, Party], ScreenState] = {
    (OFF, M.ASK_VIEW, T): REQ,
    (REQ, M.ASK_VIEW, T): REQ,
    (VIEW, M.ASK_VIEW, T): VIEW,
    (CTRL, M.ASK_VIEW, T): CTRL,
    (OFF, M.ASK_CONTROL, T): REQ,
    (REQ, M.ASK_CONTROL, T): REQ,
    (VIEW, M.ASK_CONTROL, T): VIEW,
    (CTRL, M.ASK_CONTROL, T): CTRL,
    (REQ, M.ALLOW_VIEW, C): VIEW,
    (REQ, M.ALLOW_CONTROL, C): CTRL,
    (VIEW, M.ALLOW_CONTROL, C): CTRL,
    (REQ, M.DENY, C): OFF,
    (VIEW, M.DENY, C): VIEW,
    (CTRL, M.GIVE_UP_CONTROL, T): VIEW,
    (CTRL, M.REVOKE_CONTROL, C): VIEW,
    **{(s, M.STOP, p): OFF for s in ScreenState for p in Party},
    (OFF, M.JUMP_VIEW, S): VIEW,
    (REQ, M.JUMP_VIEW, S): VIEW,
    (OFF, M.JUMP_CONTROL, S): CTRL,
    (REQ, M.JUMP_CONTROL, S): CTRL,
    (VIEW, M.JUMP_CONTROL, S): CTRL,
}
SCREEN_WRONG_STATE = {
    M.ASK_VIEW: "screen_not_requestable",
    M.ASK_CONTROL: "screen_not_requestable",
    M.ALLOW_VIEW: "no_screen_request",
    M.ALLOW_CONTROL: "no_screen_request",
    M.DENY: "no_screen_request",
    M.GIVE_UP_CONTROL: "not_in_control",
    M.REVOKE_CONTROL: "not_in_control",
    M.STOP: "screen_not_shared",
    M.JUMP_VIEW: "screen_already_shared",
    M.JUMP_CONTROL: "screen_already_shared",
}
SCREEN_PARTIES = {
    M.ASK_VIEW: {T},
    M.ASK_CONTROL: {T},
    M.ALLOW_VIEW: {C},
    M.ALLOW_CONTROL: {C},
    M.DENY: {C},
    M.GIVE_UP_CONTROL: {T},
    M.REVOKE_CONTROL: {C},
    M.STOP: {T, C, G, S},
    M.JUMP_VIEW: {S},
    M.JUMP_CONTROL: {S},
}


def _refusal(error: type[DomainError], code: str) -> tuple[type[DomainError], str]:
    return error, code


@pytest.mark.parametrize(
    ("state", "move", "party"), list(itertools.product(SessionStatus, SessionMove, Party))
)
def test_session_table(state: SessionStatus, move: SessionMove, party: Party) -> None:
    expected = SESSION_ALLOWED.get((state, move, party))
    if expected is not None:
        assert session_move(state.value, move, party) is expected
        return
    if party not in SESSION_PARTIES[move]:
        refusal = _refusal(Forbidden, "move_not_allowed")
    else:
        refusal = _refusal(Conflict, SESSION_WRONG_STATE[move])
    with pytest.raises(refusal[0]) as raised:
        session_move(state.value, move, party)
    assert raised.value.code == refusal[1]
    assert raised.value.message  # a sentence for people, not only the code


@pytest.mark.parametrize(
    ("state", "move", "party"), list(itertools.product(ScreenState, ScreenMove, Party))
)
def test_screen_table(state: ScreenState, move: ScreenMove, party: Party) -> None:
    expected = SCREEN_ALLOWED.get((state, move, party))
    if expected is not None:
        assert screen_move(state.value, move, party) is expected
        return
    if party not in SCREEN_PARTIES[move]:
        refusal = _refusal(Forbidden, "move_not_allowed")
    else:
        refusal = _refusal(Conflict, SCREEN_WRONG_STATE[move])
    with pytest.raises(refusal[0]) as raised:
        screen_move(state.value, move, party)
    assert raised.value.code == refusal[1]
    assert raised.value.message


def test_a_party_that_may_not_move_is_told_which_move() -> None:
    with pytest.raises(Forbidden, match="customer may not accept"):
        session_move("waiting", SessionMove.ACCEPT, Party.CUSTOMER)


def test_an_unknown_stored_state_is_our_bug_not_a_refusal() -> None:
    with pytest.raises(ValueError):
        session_move("paused", SessionMove.END, Party.SYSTEM)
