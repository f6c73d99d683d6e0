"""Benchmark: from starting `relaydesk-agent` to the session being visible in the technician's
console (its notification on the console WebSocket). Median of N runs.

The reference, measured in the same run on the same machine, is starting the agent program to
print its version: the cost of starting a Python process with the agent's imports. The ratio
says how much the connection, enrolment and queue push add on top of that unavoidable start.

    .venv/bin/python bench/agent_arrival.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.demo_server import BIN, Server  # noqa: E402
from tests.integration.technician import Technician  # noqa: E402


def agent_version_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([str(BIN / "relaydesk-agent"), "--version"], check=True, capture_output=True)
    return time.perf_counter() - started


def arrival_seconds(technician: Technician, server: Server) -> float:
    key = technician.new_key()
    with technician.console() as console:
        json.loads(console.recv(timeout=10))  # the initial queue
        started = time.perf_counter()
        agent = subprocess.Popen(
            [str(BIN / "relaydesk-agent"), "--server", server.url, "--key", key],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while True:
            event = json.loads(console.recv(timeout=30))
            if event["type"] == "notification":
                elapsed = time.perf_counter() - started
                break
    session_id = event["session"]["id"]
    technician.post(f"/api/v1/sessions/{session_id}/accept")
    technician.post(f"/api/v1/sessions/{session_id}/end")
    agent.wait(30)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        server = Server(Path(data), args.port)
        try:
            technician = Technician(server).sign_in_first_time()
            arrival_seconds(technician, server)  # warm-up
            arrivals, references = [], []
            for _ in range(args.runs):
                references.append(agent_version_seconds())
                arrivals.append(arrival_seconds(technician, server))
        finally:
            server.stop(10)
    arrival, reference = statistics.median(arrivals), statistics.median(references)
    print(
        json.dumps(
            {
                "runs": args.runs,
                "arrival_median_s": round(arrival, 3),
                "arrival_p90_s": round(sorted(arrivals)[int(0.9 * len(arrivals)) - 1], 3),
                "reference_agent_start_median_s": round(reference, 3),
                "ratio_arrival_to_reference": round(arrival / reference, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
