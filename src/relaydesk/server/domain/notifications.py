"""What the rules announce after a change commits; the broker delivers it to the console, portal
and agent hubs (in-process, or through Redis with several nodes).

Topics:  org:{id}       queue changes and session updates, for the organisation's consoles
         session:{id}   what the customer's portal page of that session shows
         device:{id}    commands for the agent of that device (end, sysinfo, tunnels): an
                        agent listens on its device's topic, whichever session it serves"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.protocol.events import BrokerEvent


class FellBehind(Exception):  # noqa: N818 (a fact about the subscriber, not an error of ours)
    """A subscriber's queue passed its bound (events or bytes): its iteration ends with this, and
    whoever feeds a socket from it closes that socket; the other end reconnects."""

    def __init__(self, topic: str, events: int, size: int) -> None:
        super().__init__(
            f"a subscriber of {topic} fell behind ({events} events, {size} bytes waiting); cut off"
        )
        self.topic = topic


class Broker(Protocol):
    async def publish(self, topic: str, event: BrokerEvent) -> None: ...

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[BrokerEvent]]:
        """The topic's events in order; raises FellBehind once too many are waiting."""
        ...


def org_topic(organisation_id: int) -> str:
    return f"org:{organisation_id}"


def session_topic(session_id: int) -> str:
    return f"session:{session_id}"


def device_topic(device_id: int) -> str:
    return f"device:{device_id}"


def announce(db: AsyncSession, topic: str, event: BrokerEvent) -> None:
    """Queue an event (a typed model of protocol.events, validated as it was built) on the
    transaction; it is published only after the commit, so nobody hears of a change that was
    rolled back."""
    db.info.setdefault(_PENDING, []).append((topic, event))


async def publish_committed(db: AsyncSession, broker: Broker) -> None:
    pending: list[tuple[str, BrokerEvent]] = db.info.pop(_PENDING, [])
    for topic, event in pending:
        await broker.publish(topic, event)


_PENDING = "relaydesk.pending_events"
