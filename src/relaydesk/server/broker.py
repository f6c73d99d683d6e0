"""In-process publish/subscribe: the embedded default. Every subscriber gets every event of its
topic, through a queue bounded in events and in bytes (an event's size is its JSON). A subscriber
that falls further behind than that is cut off: its iteration raises FellBehind, and the edge
that feeds a socket from it closes that socket (the console and the portal page reconnect and
start again from a fresh snapshot; the agent reconnects). Nothing is dropped silently."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from relaydesk.protocol.events import BrokerEvent
from relaydesk.server.domain.notifications import Broker, FellBehind

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1000
QUEUE_BYTES = 4 * 1024 * 1024  # four of the largest messages an agent may send


def event_size(event: BrokerEvent) -> int:
    return len(event.model_dump_json().encode())


# An event with its id in the topic's catch-up stream (None where the topic has none).
Numbered = tuple[str | None, BrokerEvent]


class EventBroker(Broker, Protocol):
    """The broker as the server's edges use it: besides `subscribe`, `subscribe_from` gives each
    event with its id, and first, when `after` is the id of the last event a socket delivered
    before it dropped, the events it missed (RedisBroker keeps a stream for console-facing
    topics; the memory broker has none: a reconnecting console starts from a fresh snapshot)."""

    def subscribe_from(
        self, topic: str, after: str | None
    ) -> AbstractAsyncContextManager[AsyncIterator[Numbered]]: ...


class _Subscriber:
    """One subscription's queue: events waiting, their bytes, and whether it was cut off."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.events: deque[tuple[str | None, BrokerEvent, int]] = deque()
        self.bytes = 0
        self.fell_behind: FellBehind | None = None
        self.waiting = asyncio.Event()

    def put(self, event: BrokerEvent, size: int, event_id: str | None = None) -> None:
        if self.fell_behind is not None:
            return
        if len(self.events) >= QUEUE_LIMIT or self.bytes + size > QUEUE_BYTES:
            self.fell_behind = FellBehind(self.topic, len(self.events) + 1, self.bytes + size)
            self.events.clear()
            self.bytes = 0
            log.warning("%s", self.fell_behind)
        else:
            self.events.append((event_id, event, size))
            self.bytes += size
        self.waiting.set()

    def cut(self, reason: FellBehind) -> None:
        """Ends the subscription with `reason` (whoever feeds a socket from it closes it)."""
        if self.fell_behind is None:
            self.fell_behind = reason
            self.events.clear()
            self.bytes = 0
        self.waiting.set()

    async def get(self) -> Numbered:
        while not self.events:
            if self.fell_behind is not None:
                raise self.fell_behind
            self.waiting.clear()
            await self.waiting.wait()
        event_id, event, size = self.events.popleft()
        self.bytes -= size
        return event_id, event


class MemoryBroker:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[_Subscriber]] = {}

    async def publish(self, topic: str, event: BrokerEvent) -> None:
        subscribers = list(self._subscribers.get(topic, ()))
        if not subscribers:
            return
        size = event_size(event)
        for subscriber in subscribers:
            subscriber.put(event, size)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[BrokerEvent]]:
        async with self.subscribe_from(topic, None) as numbered:

            async def events() -> AsyncIterator[BrokerEvent]:
                async for _, event in numbered:
                    yield event

            yield events()

    @asynccontextmanager
    async def subscribe_from(
        self, topic: str, after: str | None
    ) -> AsyncIterator[AsyncIterator[Numbered]]:
        subscriber = _Subscriber(topic)
        self._subscribers.setdefault(topic, set()).add(subscriber)

        async def events() -> AsyncIterator[Numbered]:
            while True:
                yield await subscriber.get()

        try:
            yield events()
        finally:
            self._subscribers[topic].discard(subscriber)
            if not self._subscribers[topic]:
                del self._subscribers[topic]

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))
