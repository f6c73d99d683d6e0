"""Who is here right now: technicians with a console open (keyed by user), devices whose agent
holds a control channel (keyed by device). A node counts its own connections; a Redis
implementation would count every node's. The rules ask through this interface only."""

from __future__ import annotations

from typing import Protocol


class Presence(Protocol):
    def arrive(self, key: int) -> None:
        """One more connection of `key` (a user or a device) on this node."""
        ...

    def leave(self, key: int) -> None:
        """One connection of `key` ended; gone when it was the last."""
        ...

    def is_online(self, key: int) -> bool: ...

    def online(self) -> set[int]: ...
