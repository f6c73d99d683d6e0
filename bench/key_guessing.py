"""Benchmark: a technician's request latency (GET /api/v1/queue) while ten addresses guess
session keys without pause, as a ratio against the same request with nobody guessing, measured
in one run on one server (issue 11, defect 3).

The guessers are those of the tests (tests/fixtures/guessing.py): 127.0.0.2 … 127.0.0.11, half on
the portal's key form, half as agents on /agent/ws. Two scenarios, each on its own server:
"default budget" (20 wrong keys per address and window, then every guess is refused at once) and
"unlimited budget" (RELAYDESK_KEY_FAILURES_PER_WINDOW raised so that no guess is ever refused:
every guess is looked up in the database, the worst case). Rounds alternate quiet and guessing.
Reference flood: the same ten addresses sending GET /api/v1/health without pause (no database, no
throttle), i.e. what sharing one server process with ten clients that never pause costs anyway.

With --base-src (e.g. /tmp/wt-base/src, the code before the fix) the same is measured on a second
server running that code, fewer samples (its requests take seconds).

    .venv/bin/python bench/key_guessing.py [--rounds 5 --samples 30] [--base-src PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.demo_server import Server  # noqa: E402
from tests.fixtures.guessing import KeyGuessers  # noqa: E402
from tests.integration.technician import Technician  # noqa: E402

EXPECTED = {"session_key_unknown", "too_many_attempts"}
SCENARIOS = {
    "default_budget": {},
    "unlimited_budget": {"RELAYDESK_KEY_FAILURES_PER_WINDOW": "100000000"},
}


class HealthFlood:
    """Ten addresses asking /api/v1/health without pause (the reference load)."""

    def __init__(self, url: str, count: int = 10, first_host: int = 2) -> None:
        self.url = url
        self.addresses = [f"127.0.0.{first_host + n}" for n in range(count)]
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(a,)) for a in self.addresses]
        self.answered = 0

    def _run(self, address: str) -> None:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=self.url, transport=transport, timeout=120) as client:
            while not self.stop.is_set():
                client.get("/api/v1/health").raise_for_status()
                self.answered += 1

    def __enter__(self) -> HealthFlood:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


FAILED_REQUESTS: Counter[str] = Counter()  # the technician's requests that did not answer 200


def queue_latencies(technician: Technician, samples: int) -> list[float]:
    """The time each request took to answer, whatever it answered (the code before the fix
    answered some with a 500 after 30 s: "database is locked"); failures are counted apart."""
    latencies = []
    for _ in range(samples):
        started = time.perf_counter()
        response = technician.http.get("/api/v1/queue")
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            FAILED_REQUESTS[f"{response.status_code} {response.text[:60]}"] += 1
    return latencies


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(0.95 * len(ordered)) - 1)]


def measure(server: Server, rounds: int, samples: int, reference: bool) -> dict[str, Any]:
    FAILED_REQUESTS.clear()
    technician = Technician(server).sign_in_first_time()
    technician.http.timeout = None  # type: ignore[assignment]  # the old code takes seconds
    queue_latencies(technician, 5)  # warm-up
    quiet: list[float] = []
    guessing: list[float] = []
    flooded: list[float] = []
    guesses = 0
    odd: Counter[str] = Counter()  # answers that are not ours: the server failed a guesser
    for _ in range(rounds):
        quiet += queue_latencies(technician, samples)
        with KeyGuessers(server.url) as guessers:
            time.sleep(1)  # every guesser under way
            guessing += queue_latencies(technician, samples)
        guesses += sum(guessers.total().values())
        odd.update({k: v for k, v in guessers.total().items() if k not in EXPECTED})
        if reference:
            with HealthFlood(server.url):
                time.sleep(1)
                flooded += queue_latencies(technician, samples)
    reference_figures = (
        {
            "health_flood_median_ms": round(1000 * statistics.median(flooded), 1),
            "health_flood_p95_ms": round(1000 * p95(flooded), 1),
            "ratio_median_vs_health_flood": round(
                statistics.median(guessing) / statistics.median(flooded), 2
            ),
        }
        if flooded
        else {}
    )
    return {
        **reference_figures,
        "samples_each": len(quiet),
        "quiet_median_ms": round(1000 * statistics.median(quiet), 1),
        "quiet_p95_ms": round(1000 * p95(quiet), 1),
        "guessing_median_ms": round(1000 * statistics.median(guessing), 1),
        "guessing_p95_ms": round(1000 * p95(guessing), 1),
        "ratio_median": round(statistics.median(guessing) / statistics.median(quiet), 2),
        "ratio_p95": round(p95(guessing) / p95(quiet), 2),
        "guesses_answered": guesses,
        "other_answers": dict(odd),
        "technician_failures": dict(FAILED_REQUESTS),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--base-src", type=Path, help="source tree of the code before the fix")
    parser.add_argument("--base-rounds", type=int, default=1)
    parser.add_argument("--base-only", action="store_true", help="measure only --base-src")
    parser.add_argument("--base-samples", type=int, default=5)
    args = parser.parse_args()
    runs = [
        (name, env, args.rounds, args.samples, True)
        for name, env in SCENARIOS.items()
        if not args.base_only
    ]
    if args.base_src:
        base = {**SCENARIOS["default_budget"], "PYTHONPATH": str(args.base_src)}
        runs.append(("before_fix_default_budget", base, args.base_rounds, args.base_samples, False))
    results: dict[str, Any] = {}
    for name, env, rounds, samples, reference in runs:
        with tempfile.TemporaryDirectory() as data:
            server = Server(Path(data), env=env)
            try:
                results[name] = measure(server, rounds, samples, reference)
                print(name, json.dumps(results[name]), file=sys.stderr, flush=True)
            finally:
                server.stop(15)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
