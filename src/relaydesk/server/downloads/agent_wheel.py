"""The agent as a wheel, built once from this server's own source so that the launcher installs
exactly the version the server speaks."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import relaydesk
from relaydesk import __version__
from relaydesk.server.domain.errors import Unavailable

log = logging.getLogger(__name__)

SOURCE = Path(relaydesk.__file__).resolve().parents[2]


def wheel_name() -> str:
    return f"relaydesk-{__version__}-py3-none-any.whl"


class AgentWheel:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = asyncio.Lock()

    @property
    def path(self) -> Path:
        return self.folder / wheel_name()

    async def ensure(self) -> Path | None:
        """The wheel, building it on first use; None when this installation has no source."""
        async with self._lock:
            if self.path.exists():
                return self.path
            if not (SOURCE / "pyproject.toml").exists():
                return None
            self.folder.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
            command += ["--no-build-isolation", "-w", str(self.folder), str(SOURCE)]
            build = await asyncio.to_thread(
                subprocess.run, command, capture_output=True, text=True, timeout=300
            )
            if build.returncode != 0:
                log.error("building the agent wheel failed:\n%s", build.stderr[-4000:])
                raise Unavailable(
                    "agent_package_build_failed",
                    "The server could not prepare the support client package; see its log.",
                )
            return self.path if self.path.exists() else None
