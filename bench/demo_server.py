"""What the benchmarks share: a `relaydesk demo` server process on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`relaydesk demo` with its own data folder; ready (and its first administrator's
    credentials read) once constructed. `port` defaults to a free one."""

    def __init__(
        self, data_dir: Path, port: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        port = free_port() if port is None else port
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("RELAYDESK_")}
        env = {**inherited, **(env or {}), "RELAYDESK_DATA_DIR": str(data_dir)}
        self.process = subprocess.Popen(
            [str(BIN / "relaydesk"), "demo", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.url = f"http://127.0.0.1:{port}"
        self.admin_email = self.admin_password = ""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("Administrator e-mail: "):
                self.admin_email = line.split(": ", 1)[1].strip()
            if line.startswith("One-time password: "):
                self.admin_password = line.split(": ", 1)[1].strip()
            if "Uvicorn running" in line:
                break
        subprocess.Popen(["cat"], stdin=self.process.stdout, stdout=subprocess.DEVNULL)

    def stop(self, timeout: float = 15) -> None:
        self.process.terminate()
        self.process.wait(timeout)
