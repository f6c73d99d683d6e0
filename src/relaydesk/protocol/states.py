"""The states a support session and its screen sharing go through, as every side spells them
(server rules, console and portal events, the agent). Which party may move them from which state
to which is the server's rule: relaydesk.server.domain.transitions."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    WAITING = "waiting"  # in a queue, nobody has accepted it yet
    ACTIVE = "active"  # a technician owns it and works it
    HELD = "held"  # its technician put it back in his personal queue
    ENDED = "ended"  # over for good


OPEN_STATUSES = (SessionStatus.WAITING, SessionStatus.ACTIVE, SessionStatus.HELD)


class ScreenState(StrEnum):
    OFF = "off"  # not shared
    REQUESTED = "requested"  # the technician asked, the customer has not answered
    VIEW = "view"  # shared, view only
    CONTROL = "control"  # shared with full control


class ScreenMode(StrEnum):
    """What a technician asks for (the request waits in SupportSession.screen_requested)."""

    VIEW = "view"
    CONTROL = "control"
