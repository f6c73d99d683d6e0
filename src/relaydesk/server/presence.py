"""Presence (domain/presence.py) in this process's memory: connections counted per key, so that
a device or technician on two connections at once (a reconnection that overtook the old link)
stays online until the last one ends."""

from __future__ import annotations

from collections import Counter


class MemoryPresence:
    def __init__(self) -> None:
        self._connections: Counter[int] = Counter()

    def arrive(self, key: int) -> None:
        self._connections[key] += 1

    def leave(self, key: int) -> None:
        self._connections[key] -= 1
        if self._connections[key] <= 0:
            del self._connections[key]

    def is_online(self, key: int) -> bool:
        return key in self._connections

    def online(self) -> set[int]:
        return set(self._connections)
