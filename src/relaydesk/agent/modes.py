"""How the agent behaves in each mode: which credential it presents, what a refusal means, what
to do when the session ends. The connection code knows nothing of modes."""

from __future__ import annotations

import getpass
import ipaddress
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import psutil

from relaydesk import __version__
from relaydesk.agent import sysinfo
from relaydesk.agent.private_folder import PrivateFolder
from relaydesk.protocol import identity
from relaydesk.protocol.codes import KEY_REFUSALS, RefusalCode

if TYPE_CHECKING:
    from relaydesk.agent.jump_client import JumpClientInstaller
from relaydesk.protocol.messages import (
    PROTOCOL_VERSION,
    Credential,
    DeviceFacts,
    Hello,
    Mode,
    ResumeCredential,
    SessionKeyCredential,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_KEY_REFUSED = 2
EXIT_UNREACHABLE = 3
EXIT_TLS_MISMATCH = 4
EXIT_PROTOCOL_MISMATCH = 5


def device_facts() -> DeviceFacts:
    try:
        username = getpass.getuser()
    except (KeyError, OSError):
        username = ""
    system = sysinfo.operating_system()  # "Debian GNU/Linux 12 (bookworm)", not the kernel
    return DeviceFacts(
        hostname=socket.gethostname()[:500],
        os=str(system["name"])[:500],
        os_version=str(system["version"])[:500],
        username=username[:500],
        private_ips=private_addresses(),
    )


def private_addresses(limit: int = 16) -> list[str]:
    """This computer's addresses on its networks, as the device list shows and searches them:
    IPv4 and IPv6, without loopback and IPv6 link-local ones."""
    found: list[str] = []
    try:
        interfaces = psutil.net_if_addrs()
    except OSError:
        return found
    for addresses in interfaces.values():
        for address in addresses:
            if address.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                ip = ipaddress.ip_address(address.address.split("%")[0])
            except ValueError:
                continue
            if ip.is_loopback or ip.is_link_local or str(ip) in found:
                continue
            found.append(str(ip))
    return found[:limit]


def hello_of(mode: Mode, key: identity.DeviceKey, credential: Credential) -> Hello:
    """The first message of every mode: who we are, this computer's key, and the credential."""
    return Hello(
        type="hello",
        protocol=PROTOCOL_VERSION,
        agent_version=__version__,
        mode=mode,
        public_key=key.public_key_b64,
        credential=credential,
        device=device_facts(),
    )


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    message: str


class AgentMode(Protocol):
    name: Mode
    key: identity.DeviceKey

    def hello(self) -> Hello: ...

    def established(self, device_id: int, session_id: int | None) -> None: ...

    def refused(self, code: str, message: str) -> Outcome: ...

    def end(self, reason: str) -> tuple[bool, Outcome]: ...

    def uninstall(self, reason: str) -> Outcome: ...


class AttendedMode:
    """A temporary agent for one session: it keeps its key pair and enrolment in its private
    folder (agent/private_folder.py), so that restarted during the session it resumes it, and
    removes that folder (and anything else it was told to) at the end."""

    name: Mode = "attended"

    def __init__(
        self,
        session_key: str,
        server_url: str,
        remove_on_exit: list[Path] | None = None,
        folder_base: Path | None = None,
    ) -> None:
        self.session_key = session_key
        self.folder = PrivateFolder.claim(server_url, session_key, folder_base)
        self.workdir = self.folder.path
        self.key = self.folder.device_key()
        self.remove_on_exit = list(remove_on_exit or [])
        # Set by the command line: becoming an installed Jump client (agent/jump_client.py).
        self.jump_client: JumpClientInstaller | None = None
        enrolment = self.folder.enrolment()
        self.device_id: int | None = enrolment[0] if enrolment else None
        self.session_id: int | None = enrolment[1] if enrolment else None

    def _credential(self) -> Credential:
        if self.device_id is not None and self.session_id is not None:
            return ResumeCredential(
                kind="resume", device_id=self.device_id, session_id=self.session_id
            )
        return SessionKeyCredential(kind="session_key", key=self.session_key)

    def hello(self) -> Hello:
        return hello_of(self.name, self.key, self._credential())

    def established(self, device_id: int, session_id: int | None) -> None:
        assert session_id is not None  # an attended agent always serves a session
        self.device_id, self.session_id = device_id, session_id
        self.folder.enrol(device_id, session_id)

    def cleanup(self) -> bool:
        removed = self.folder.remove()
        for path in self.remove_on_exit:
            shutil.rmtree(path, ignore_errors=True)
        return removed and not any(path.exists() for path in self.remove_on_exit)

    def refused(self, code: str, message: str) -> Outcome:
        self.cleanup()
        if code == RefusalCode.SESSION_ENDED:
            return Outcome(EXIT_OK, "The support session has ended.")
        if code in KEY_REFUSALS:
            return Outcome(EXIT_KEY_REFUSED, message)
        if code == RefusalCode.PROTOCOL_MISMATCH:
            return Outcome(EXIT_PROTOCOL_MISMATCH, message)
        return Outcome(EXIT_ERROR, message)

    def end(self, reason: str) -> tuple[bool, Outcome]:
        cleaned = self.cleanup()
        return cleaned, Outcome(EXIT_OK, reason)

    def uninstall(self, reason: str) -> Outcome:
        """Nothing is installed: the server's `uninstall` ends this agent like a session's end."""
        self.cleanup()
        return Outcome(EXIT_OK, reason)
