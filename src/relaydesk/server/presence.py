"""Which technicians have a console open on this node (for the portal's list of available
technicians). With several nodes this moves to the broker."""

from __future__ import annotations

from collections import Counter


class Presence:
    def __init__(self) -> None:
        self._connections: Counter[int] = Counter()

    def arrive(self, user_id: int) -> None:
        self._connections[user_id] += 1

    def leave(self, user_id: int) -> None:
        self._connections[user_id] -= 1
        if self._connections[user_id] <= 0:
            del self._connections[user_id]

    def online(self) -> set[int]:
        return set(self._connections)
