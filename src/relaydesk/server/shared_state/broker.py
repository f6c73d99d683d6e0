"""The event broker through Redis: every node hears every event of the topics it has
subscribers for, whichever node published it.

- Live events go through Redis pub/sub, one channel per topic. A node subscribes to a topic's
  channel while it has at least one local subscriber (a console, a portal page, an agent's link)
  and hands each message to them through the same bounded queues as the memory broker: a
  subscriber that falls behind is cut off (FellBehind; its socket closes with 1013).
- Agent commands (topic device:{id}) reach the node that holds the agent's link this way: that
  node is the one subscribed to the device's channel. PUBLISH answers how many nodes heard it;
  nobody (the agent is not connected anywhere) is logged.
- Console-facing topics (org:{id}) are also appended to a Redis stream, capped at
  STREAM_LENGTH entries, in the same atomic step as the PUBLISH (a Lua script), so the
  stream's order is the order in which the channel delivers. A console that reconnects names
  the id of the last event it got; it is given what the stream holds after it, then the live
  events (those it was given already are skipped by id)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from relaydesk.protocol.events import BROKER_EVENTS, BrokerEvent
from relaydesk.server.broker import Numbered, _Subscriber
from relaydesk.server.domain.notifications import FellBehind
from relaydesk.server.shared_state.node import RedisNode

log = logging.getLogger(__name__)

STREAM_LENGTH = 10_000  # per console-facing topic (XADD MAXLEN ~)
STREAMED_PREFIXES = ("org:",)
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
NO_ID = b"-"
CONFIRM_SECONDS = 10.0
BATCH = 500

# XADD and PUBLISH as one step: the stream and the channel see events in the same order.
_PUBLISH_STREAMED = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[1])
return id
"""


def streamed(topic: str) -> bool:
    return topic.startswith(STREAMED_PREFIXES)


def valid_stream_id(value: str | None) -> str | None:
    """The id a console sent back, when it is one (anything else: no catch-up)."""
    return value if value is not None and STREAM_ID.match(value) else None


def _order(stream_id: str) -> tuple[int, int]:
    millis, _, sequence = stream_id.partition("-")
    return int(millis), int(sequence)


class RedisBroker:
    def __init__(self, node: RedisNode) -> None:
        self._node = node
        self._redis = node.redis
        self._subscribers: dict[str, set[_Subscriber]] = {}
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._commands = asyncio.Lock()
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._publish_streamed = self._redis.register_script(_PUBLISH_STREAMED)
        # The node's own channel keeps the pub/sub connection subscribed at all times.
        self._own_channel = node.key("node", node.node_id)
        self.unheard_commands = 0
        self._outbox: list[tuple[str, BrokerEvent, asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None

    def channel(self, topic: str) -> str:
        return self._node.key("topic", topic)

    def stream(self, topic: str) -> str:
        return self._node.key("stream", topic)

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub()
        await self._pubsub.subscribe(self._own_channel)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            # redis-py (8.1) leaves PubSub.aclose unannotated: name the type relied on.
            aclose: Callable[[], Awaitable[None]] = self._pubsub.aclose
            with contextlib.suppress(RedisError, OSError):
                await aclose()

    async def publish(self, topic: str, event: BrokerEvent) -> None:
        """Returns once Redis has the event. Events published meanwhile by this node go
        together, in the order published, one round trip for up to BATCH of them."""
        sent = asyncio.get_running_loop().create_future()
        self._outbox.append((topic, event, sent))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())
        await sent

    async def _send(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox[:BATCH], self._outbox[BATCH:]
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for topic, event, _ in batch:
                        data = event.model_dump_json()
                        if streamed(topic):
                            await self._publish_streamed(
                                keys=[self.stream(topic), self.channel(topic)],
                                args=[data, STREAM_LENGTH],
                                client=pipe,
                            )
                        else:
                            pipe.publish(self.channel(topic), b"- " + data.encode())
                    results = await pipe.execute(raise_on_error=False)
            except Exception as error:  # noqa: BLE001 - told to each publisher
                for _, _, sent in batch:
                    if not sent.done():
                        sent.set_exception(error)
                continue
            for (topic, event, sent), result in zip(batch, results, strict=True):
                if sent.done():
                    continue
                if isinstance(result, Exception):
                    sent.set_exception(result)
                    continue
                if result == 0 and topic.startswith("device:"):
                    self.unheard_commands += 1
                    log.info("%s for %s: no node holds that agent's link", event.type, topic)
                sent.set_result(None)

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
        local = self._subscribers.setdefault(topic, set())
        local.add(subscriber)
        try:
            await self._listen_to(topic)
            after = valid_stream_id(after)
            missed = await self._missed(topic, after)

            async def events() -> AsyncIterator[Numbered]:
                last = after
                for numbered in missed:
                    last = numbered[0]
                    yield numbered
                while True:
                    event_id, event = await subscriber.get()
                    if (
                        last is not None
                        and event_id is not None
                        and _order(event_id) <= _order(last)
                    ):
                        continue  # given already from the stream
                    yield event_id, event

            yield events()
        finally:
            local.discard(subscriber)
            if not local and self._subscribers.get(topic) is local:
                del self._subscribers[topic]
                await self._stop_listening(topic)

    async def _listen_to(self, topic: str) -> None:
        """Subscribes this node to the topic's channel and waits until Redis confirms it, so
        nothing published from then on is missed."""
        confirmed = self._confirmed.get(topic)
        if confirmed is None:
            confirmed = asyncio.get_running_loop().create_future()
            self._confirmed[topic] = confirmed
            assert self._pubsub is not None, "RedisBroker.start() first"
            async with self._commands:  # SUBSCRIBE and UNSUBSCRIBE leave in the order decided
                await self._pubsub.subscribe(self.channel(topic))
        await asyncio.wait_for(asyncio.shield(confirmed), CONFIRM_SECONDS)

    async def _stop_listening(self, topic: str) -> None:
        async with self._commands:
            if topic in self._subscribers or self._pubsub is None:
                return  # subscribed again meanwhile
            self._confirmed.pop(topic, None)
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(self.channel(topic))

    async def _missed(self, topic: str, after: str | None) -> list[Numbered]:
        if after is None or not streamed(topic):
            return []
        entries = await self._redis.xrange(self.stream(topic), min=f"({after}", max="+")
        missed: list[Numbered] = []
        for entry_id, fields in entries or []:
            assert isinstance(entry_id, bytes) and fields is not None
            event = BROKER_EVENTS.validate_json(fields[b"e"])
            missed.append((entry_id.decode(), event))
        return missed

    async def _read(self) -> None:
        """Runs for the life of the node: hands each message to the local subscribers. Should
        the connection to Redis fail, every subscriber is cut off (their sockets reconnect and
        catch up) and the reader starts again."""
        while True:
            try:
                assert self._pubsub is not None
                async for message in self._pubsub.listen():
                    self._handle(message)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the node must keep hearing events
                log.error("the Redis event reader failed (%s); subscribers cut off", error)
                for topic, subscribers in list(self._subscribers.items()):
                    for subscriber in subscribers:
                        subscriber.cut(FellBehind(topic, 0, 0))
                await asyncio.sleep(1.0)

    def _handle(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
        topic = channel.removeprefix(self._node.key("topic", ""))
        if message["type"] == "subscribe":
            confirmed = self._confirmed.get(topic)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
            return
        if message["type"] != "message":
            return
        subscribers = self._subscribers.get(topic)
        if not subscribers:
            return
        raw: bytes = message["data"]
        head, _, data = raw.partition(b" ")
        event = BROKER_EVENTS.validate_json(data)
        event_id = None if head == NO_ID else head.decode()
        for subscriber in list(subscribers):
            subscriber.put(event, len(data), event_id)

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))
