"""Benchmark: events per second a console receives while 1,000 agents change state (issue 15),
through the memory broker and through the Redis broker, in the same run.

1,000 agents each announce device.online (true, then false, ...) on their organisation's topic
every `interval` seconds (start times spread over the interval), at several intervals, i.e.
offered rates of 1,000 to 20,000 events per second. One console subscribes to the topic and,
for each event, does what the console's socket does with a device event besides writing it to
the network: the scope check is skipped, the event is serialised to JSON. Measured per step:
events received per second, the latency from the announcement to the console's serialisation
(p50, p99) and whether the console was cut off (it fell more than 1,000 events behind).

Memory: one broker, publisher and console in one process (the embedded server). Redis: the
agents publish through one node's handle (RedisBroker: XADD to the catch-up stream and PUBLISH
in one Lua step, what the node publishes meanwhile pipelined together) and the console listens
through another node's handle (its own pub/sub connection), as an agent on node B and a console
on node A would; both in this one process and event loop, so the publishers' work is counted
against the console's.

    .venv/bin/python bench/broker_events.py --redis redis://127.0.0.1:6379/15 \\
        [--agents 1000] [--seconds 5] [--intervals 1,0.2,0.1,0.05]

The Redis database given is flushed first and afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from relaydesk.protocol.events import BrokerEvent, DeviceOnline  # noqa: E402
from relaydesk.server.broker import MemoryBroker  # noqa: E402
from relaydesk.server.domain.notifications import FellBehind  # noqa: E402
from relaydesk.server.shared_state.broker import RedisBroker  # noqa: E402
from relaydesk.server.shared_state.node import RedisNode  # noqa: E402

TOPIC = "org:1"


class AnyBroker(Protocol):
    async def publish(self, topic: str, event: BrokerEvent) -> None: ...

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[BrokerEvent]]: ...


async def agent(
    broker: AnyBroker, device_id: int, interval: float, offset: float, until: float
) -> int:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(offset)
    sent, online = 0, True
    next_at = loop.time()
    while loop.time() < until:
        event = DeviceOnline(
            device_id=device_id, online=online, at=datetime.now(UTC), device_group_id=None
        )
        await broker.publish(TOPIC, event)
        sent += 1
        online = not online
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - loop.time()))
    return sent


async def step(
    publisher: AnyBroker, listener: AnyBroker, agents: int, interval: float, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    received = 0
    cut = False
    ready = asyncio.Event()
    loop = asyncio.get_running_loop()
    last_at = loop.time()

    async def console() -> None:
        nonlocal received, cut, last_at
        try:
            async with listener.subscribe(TOPIC) as events:
                ready.set()
                async for event in events:
                    json.dumps(event.model_dump(mode="json"))
                    assert isinstance(event, DeviceOnline)
                    latencies.append((datetime.now(UTC) - event.at).total_seconds())
                    received += 1
                    last_at = loop.time()
        except FellBehind:
            cut = True

    listening = asyncio.create_task(console())
    await ready.wait()
    start = loop.time()
    until = start + seconds
    sent = await asyncio.gather(
        *(agent(publisher, n, interval, interval * n / agents, until) for n in range(agents))
    )
    published_in = loop.time() - start
    expected = sum(sent)
    deadline = loop.time() + 30
    while received < expected and not cut and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    listening.cancel()
    took = max(last_at, start + 1e-6) - start
    ordered = sorted(latencies)

    def pct(p: float) -> float | None:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else None

    return {
        "offered_per_s": round(agents / interval),
        "published": expected,
        "published_per_s": round(expected / published_in),
        "received": received,
        "received_per_s": round(received / took),
        "latency_ms_p50": round(pct(0.5) or 0, 1),
        "latency_ms_p99": round(pct(0.99) or 0, 1),
        "console_cut_off": cut,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", required=True, help="redis://host:port/db (flushed)")
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--intervals", default="1,0.2,0.1,0.05")
    options = parser.parse_args()
    intervals = [float(value) for value in options.intervals.split(",")]
    a = RedisNode.connect(options.redis, "bench-agents")
    b = RedisNode.connect(options.redis, "bench-console")
    await a.redis.flushdb()
    on_a, on_b = RedisBroker(a), RedisBroker(b)
    await on_a.start()
    await on_b.start()
    memory = MemoryBroker()
    results: list[dict[str, Any]] = []
    try:
        for interval in intervals:
            for name, publisher, listener in (
                ("memory", memory, memory),
                ("redis", on_a, on_b),
            ):
                result = {
                    "broker": name,
                    **await step(publisher, listener, options.agents, interval, options.seconds),
                }
                results.append(result)
                print(json.dumps(result), flush=True)
    finally:
        await on_a.close()
        await on_b.close()
        await a.redis.flushdb()
        await a.close()
        await b.close()
    print(
        json.dumps(
            {
                "agents": options.agents,
                "seconds_per_step": options.seconds,
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
                "python": sys.version.split()[0],
            }
        )
    )
    for memory_row, redis_row in zip(results[::2], results[1::2], strict=True):
        ratio = redis_row["received_per_s"] / max(1, memory_row["received_per_s"])
        offered, got = memory_row["offered_per_s"], memory_row["received_per_s"]
        print(
            f"offered {offered:>6}/s: memory {got:>6}/s"
            f" p99 {memory_row['latency_ms_p99']:>7} ms | redis {redis_row['received_per_s']:>6}/s"
            f" p99 {redis_row['latency_ms_p99']:>7} ms | redis/memory {ratio:.2f}"
            f"{' (redis console cut off)' if redis_row['console_cut_off'] else ''}"
            f"{' (memory console cut off)' if memory_row['console_cut_off'] else ''}"
        )


if __name__ == "__main__":
    asyncio.run(main())
