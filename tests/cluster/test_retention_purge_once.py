"""The retention purge runs once per interval for the whole cluster, not once per node
(runtime.housekeeping, RedisNode.take_turn): three nodes with a 2-second interval purge, together,
at most once in each 2 seconds that pass, and keep purging whichever node takes the turn."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from tests.fixtures.cluster import Cluster, pause

INTERVAL_S = 2.0
WATCHED_S = 20.0
PURGED = re.compile(r"retention purge done")


def _purges(cluster: Cluster) -> dict[str, int]:
    return {
        node.node_id: len(PURGED.findall(node.output()))  # type: ignore[attr-defined]
        for node in cluster.nodes
    }


def test_one_purge_per_interval_across_nodes(cluster_factory: Callable[..., Cluster]) -> None:
    cluster = cluster_factory(
        nodes=3, env={"RELAYDESK_HOUSEKEEPING_INTERVAL_SECONDS": str(INTERVAL_S)}
    )
    before = _purges(cluster)
    started = time.monotonic()
    pause(WATCHED_S)
    after = _purges(cluster)
    watched = time.monotonic() - started
    runs = sum(after.values()) - sum(before.values())
    # The turn is a key in Redis that expires after the interval: no two purges in one interval,
    # whatever the load (before: each node purged every interval, three times as many). One more
    # for a purge whose turn was taken just before the watch and logged just after it.
    assert 1 <= runs <= watched / INTERVAL_S + 2, (runs, watched, before, after)
    print(f"{runs} purges in {watched:.1f} s by {after} (before the watch: {before})")
