"""The support client becoming an installed Jump client (UNA-1, TOOL-9): the server asks the
customer's consent (`jump_client_ask`: the question goes to his window, or his terminal, whose
Allow/Deny answer goes back as `jump_client_answer`); once he allowed, the server sends a
single-use installer token (`jump_client_install`) and this agent installs its own executable
as the system service with agent/system_install.py's install() — no new download — and reports
how it went (`jump_client_result`).

Which executable: the one-file support client itself (sys.executable when frozen); a
development agent (not frozen) installs its `relaydesk-agent` console script, which keeps
using the virtual environment it was installed from (as `relaydesk-agent install` does).

Elevation: the service is installed as root. An agent that is not root runs
`pkexec <executable> install --installer TOKEN --server URL` when pkexec is there and a
graphical session is (polkit's agent asks the customer for an administrator's password in a
window), else `sudo` with the same command when the agent has a terminal (sudo asks there);
with neither it reports that it cannot install. RELAYDESK_AGENT_INSTALL_ROOT installs under
another root folder instead, with no elevation and nothing started (disk images, tests)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from relaydesk.agent import system_install
from relaydesk.agent.desktop.channel import CustomerChannel, Told
from relaydesk.agent.installed import DEVICE_FILE
from relaydesk.protocol.messages import (
    JumpClientAsk,
    JumpClientInstall,
    JumpClientResult,
)

INSTALL_ROOT_VARIABLE = "RELAYDESK_AGENT_INSTALL_ROOT"
ELEVATED_INSTALL_SECONDS = 300
Status = Callable[[str], None]


def own_executable() -> Path:
    """What gets installed: the one-file executable, or this console script."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable)
    return Path(sys.argv[0]).resolve()


def elevation() -> list[str] | None:
    """How to become root for the installation: pkexec with a graphical session, else sudo in a
    terminal; None: no way (the customer would have nothing to type a password into)."""
    graphical = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    pkexec = shutil.which("pkexec")
    if pkexec and graphical:
        return [pkexec]
    sudo = shutil.which("sudo")
    if sudo and sys.stdin is not None and sys.stdin.isatty():
        return [sudo]
    return None


class JumpClientInstaller:
    def __init__(
        self,
        server: str,
        pin_sha256: str | None,
        status: Status,
        install_root: Path | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.pin_sha256 = pin_sha256
        self.status = status
        configured = os.environ.get(INSTALL_ROOT_VARIABLE)
        self.root = install_root or (Path(configured) if configured else Path("/"))

    async def command(
        self, message: JumpClientAsk | JumpClientInstall, customer: CustomerChannel | None
    ) -> JumpClientResult | None:
        """What to send back: None while the customer is asked (in the window, whose answer
        goes out as he gives it, and on his portal page, whose answer reaches the server
        directly); the installation's result."""
        if isinstance(message, JumpClientAsk):
            if customer is None:
                self.status(
                    f"{message.technician} asks to install a permanent remote access client on "
                    "this computer; answer on the support page in your browser."
                )
                return None
            customer.show(message)
            return None
        self.status("Installing the permanent remote access client (the customer allowed it).")
        if customer is not None:
            customer.show(message)  # allowed on the portal page: the window's question goes
            customer.show(Told("Installing the permanent remote access client…"))
        result = await asyncio.to_thread(self.install, message)
        self.status(result.message)
        if customer is not None:
            customer.show(Told(result.message))
        return result

    def install(self, message: JumpClientInstall) -> JumpClientResult:
        def result(installed: bool, text: str, device_id: int | None = None) -> JumpClientResult:
            return JumpClientResult(
                type="jump_client_result",
                request_id=message.request_id,
                installed=installed,
                device_id=device_id,
                message=text[:500],
            )

        executable = own_executable()
        try:
            if self.root == Path("/") and os.geteuid() != 0:
                device_id = self._install_elevated(executable, message.token)
            else:
                done = system_install.install(
                    executable,
                    self.server,
                    self.pin_sha256,
                    message.token,
                    root=self.root,
                    start=self.root == Path("/"),
                    say=self.status,
                )
                device_id = done.device_id
        except system_install.InstallError as error:
            return result(False, f"The installation failed: {error}")
        except OSError as error:
            return result(False, f"The installation failed: {error}")
        return result(True, "The permanent remote access client is installed.", device_id)

    def _install_elevated(self, executable: Path, token: str) -> int | None:
        elevate = elevation()
        if elevate is None:
            raise system_install.InstallError(
                "it must run as root, and there is no way to ask for an administrator's "
                "password here (no pkexec with a desktop, no terminal for sudo)."
            )
        command = [*elevate, str(executable), "install", "--installer", token]
        command += ["--server", self.server, "--quiet"]
        if self.pin_sha256:
            command += ["--pin-sha256", self.pin_sha256]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=ELEVATED_INSTALL_SECONDS, check=False
        )
        if done.returncode != 0:
            raise system_install.InstallError(
                (done.stderr or done.stdout).strip() or f"{elevate[0]} exited {done.returncode}"
            )
        state = system_install.paths().state_dir / DEVICE_FILE
        try:
            return int(state.read_text().strip())
        except (OSError, ValueError):
            return None  # installed; the server knows the device by its installer
