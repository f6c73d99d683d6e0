"""Idle installed agents spread over several nodes (issue 15): bench/idle_agents.py's simulated
agents (the real control protocol: installer enrolment, Ed25519 proof, then only the keepalive),
over N real `relaydesk serve` nodes on one PostgreSQL database and one Redis (the rig of
tests/fixtures/cluster.py). Agent i connects to node i mod N directly (the machine's descriptor
limit, 20,000, is too small for HAProxy to carry 10,000 of them as well: two descriptors each).

Reports, per node: its share of the agents, RSS, CPU over the idle window; and the enrolment time.

    .venv/bin/python bench/idle_agents_nodes.py --agents 10000 [--nodes 2] [--idle 60]"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.idle_agents import Fleet, server_usage, wait_for  # noqa: E402
from bench.shared import running_cluster  # noqa: E402
from tests.fixtures.cluster import Cluster  # noqa: E402
from tests.integration.technician import Technician  # noqa: E402


class SpreadFleet(Fleet):
    """Fleet whose agent n talks to urls[n % len(urls)]."""

    urls: list[str]

    async def _converse(self, n: int, connection: Any, turn: Any) -> int:
        self.url = self.urls[n % len(self.urls)]
        return await super()._converse(n, connection, turn)


async def measure(cluster: Cluster, agents: int, idle: float) -> dict[str, Any]:
    technician = Technician(cluster).sign_in_first_time()
    installer = technician.post(
        "/api/v1/installers", json={"company": "Bench", "max_installations": agents}
    )
    assert installer.status_code == 201, installer.text
    urls = [node.url.replace("http://", "ws://") + "/agent/ws" for node in cluster.nodes]
    fleet = SpreadFleet(urls[0], str(installer.json()["token"]), agents)
    fleet.urls = urls
    pids = [node.process.pid for node in cluster.nodes if node.process is not None]
    before = [server_usage(pid)[1] for pid in pids]
    tasks = [asyncio.create_task(fleet.agent(i)) for i in range(agents)]
    try:
        enrol_s = await wait_for(lambda: len(fleet.connected) == agents, 3600, "all enrolled")
        assert not fleet.refused, fleet.refused[:5]
        await asyncio.sleep(5)
        start = [server_usage(pid) for pid in pids]
        t0 = time.perf_counter()
        await asyncio.sleep(idle)
        end = [server_usage(pid) for pid in pids]
        window = time.perf_counter() - t0
        assert len(fleet.connected) == agents, "agents dropped while idle"
    finally:
        fleet.stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    nodes = []
    for index, node in enumerate(cluster.nodes):
        share = len([n for n in range(agents) if n % len(urls) == index])
        nodes.append(
            {
                "node": node.node_id,  # type: ignore[attr-defined]
                "agents": share,
                "rss_mib_before": round(before[index] / 2**20, 1),
                "rss_mib_idle": round(end[index][1] / 2**20, 1),
                "rss_kib_per_agent": round((end[index][1] - before[index]) / 1024 / share, 1),
                "idle_cpu_percent_of_one_core": round(
                    100 * (end[index][0] - start[index][0]) / window, 2
                ),
            }
        )
    return {
        "agents": agents,
        "enrol_s": round(enrol_s, 1),
        "idle_window_s": round(window, 1),
        "nodes": nodes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--idle", type=float, default=60.0)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with running_cluster(args.nodes, "relaydesk-idle-nodes-") as cluster:
        # the technician's API goes through HAProxy, the agents do not
        result = asyncio.run(measure(cluster, args.agents, args.idle))
        result["load_average"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
