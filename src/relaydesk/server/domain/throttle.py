"""Per-address attempt counting for anything guessable (passwords, codes, keys): SEC-2."""

from __future__ import annotations

import time
from collections import defaultdict, deque

from relaydesk.server.domain.errors import RateLimited


class AttemptThrottle:
    """Counts failures per key in a sliding window, in this process's memory."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _prune(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return deque()
        return failures

    def check(self, key: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        failures = self._prune(key, moment)
        if len(failures) >= self.limit:
            retry_after = max(1, int(failures[0] + self.window - moment) + 1)
            raise RateLimited(
                "too_many_attempts",
                f"Too many failed attempts from your address. Try again in {retry_after} seconds.",
                retry_after=retry_after,
            )

    def delay(self, key: str, now: float | None = None) -> float:
        """How long to make the next answer wait: each recent failure slows it a little more."""
        failures = self._prune(key, time.monotonic() if now is None else now)
        return min(2.0, 0.1 * len(failures))

    def fail(self, key: str, now: float | None = None) -> None:
        self._failures[key].append(time.monotonic() if now is None else now)
