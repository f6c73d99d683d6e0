"""The self-contained support client (ATT-2): the executable scripts/build_support_client.py
built from this server's source, served with this server's address and certificate pin appended
(relaydesk.protocol.support_client). One file per address and pin, prepared on first use; its
SHA-256 is what the portal page shows and the launcher checks."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from relaydesk.protocol.support_client import ClientConfig, trailer
from relaydesk.server.downloads.agent_wheel import SOURCE

BUILT = SOURCE / "build" / "support-client" / "relaydesk-support-linux-x86_64"
PLATFORM = "linux-x86_64"
# Copies kept at once (one per address and pin): without RELAYDESK_PUBLIC_URL the address comes
# from the request's Host header, so whoever sends requests could otherwise fill the disk.
KEPT = 4


@dataclass(frozen=True)
class ServedClient:
    path: Path
    sha256: str
    size: int


class SupportClient:
    def __init__(self, folder: Path, built: Path = BUILT) -> None:
        self.folder = folder
        self.built = built
        self._lock = asyncio.Lock()
        self._served: dict[tuple[ClientConfig, float], ServedClient] = {}

    async def served(self, server: str, pin_sha256: str | None) -> ServedClient | None:
        """The file to serve to customers of `server`; None when no executable was built."""
        try:
            built_at = self.built.stat().st_mtime
        except OSError:
            return None
        config = ClientConfig(server=server.rstrip("/"), pin_sha256=pin_sha256)
        async with self._lock:
            known = self._served.pop((config, built_at), None)
            if known is None or not known.path.exists():
                if not self._served:  # copies a previous run left behind
                    await asyncio.to_thread(shutil.rmtree, self.folder, True)
                known = await asyncio.to_thread(self._prepare, config)
            self._served[(config, built_at)] = known  # the most recently used last
            while len(self._served) > KEPT:
                oldest = self._served.pop(next(iter(self._served)))
                await asyncio.to_thread(shutil.rmtree, oldest.path.parent, True)
            return known

    def _prepare(self, config: ClientConfig) -> ServedClient:
        ending = trailer(config)
        digest = hashlib.sha256()
        with self.built.open("rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
        digest.update(ending)
        sha256 = digest.hexdigest()
        path = self.folder / sha256[:16] / f"relaydesk-support-{PLATFORM}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            shutil.copyfile(self.built, partial)
            with partial.open("ab") as target:
                target.write(ending)
            partial.chmod(0o755)
            partial.replace(path)
        return ServedClient(path, sha256, path.stat().st_size)
