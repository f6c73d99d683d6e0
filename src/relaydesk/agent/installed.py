"""The installed agent (UNA-2): enrolled once with an installer token, it is a permanent device
that stays connected and comes back by its device credential. Its key pair and device id live in
its state folder (`--state-dir`; /var/lib/relaydesk-agent for root): the folder 0700, the files
0600; the key never leaves the device."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from relaydesk.agent.modes import (
    EXIT_ERROR,
    EXIT_KEY_REFUSED,
    EXIT_OK,
    EXIT_PROTOCOL_MISMATCH,
    Outcome,
    hello_of,
)
from relaydesk.agent.private_folder import _write_private
from relaydesk.protocol import identity
from relaydesk.protocol.codes import RefusalCode
from relaydesk.protocol.messages import (
    Credential,
    DeviceCredential,
    Hello,
    InstallerCredential,
    Mode,
)

KEY_FILE = "device.key"
DEVICE_FILE = "device"
ROOT_STATE_DIR = Path("/var/lib/relaydesk-agent")
INSTALLER_REFUSALS = frozenset(
    {
        RefusalCode.INSTALLER_UNKNOWN,
        RefusalCode.INSTALLER_EXPIRED,
        RefusalCode.INSTALLER_REVOKED,
        RefusalCode.INSTALLER_CAP_REACHED,
        RefusalCode.DEVICE_UNKNOWN,
    }
)


class StateFolderError(Exception):
    pass


def default_state_dir() -> Path:
    if os.geteuid() == 0:
        return ROOT_STATE_DIR
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "relaydesk-agent"


def _own_folder(path: Path) -> Path:
    """The state folder, made 0700; a link or someone else's folder is refused."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if path.is_symlink() or info.st_uid != os.geteuid():
        raise StateFolderError(
            f"{path} is not a folder of this user's own; not keeping keys there."
        )
    path.chmod(0o700)
    return path


class InstalledMode:
    name: Mode = "unattended"

    def __init__(
        self, state_dir: Path, installer_token: str | None, system_root: Path | None = None
    ) -> None:
        # system_root: this agent is the system service installed under that root
        # (agent/system_install.py), which the server's `uninstall` removes whole.
        self.system_root = system_root
        self.folder = _own_folder(state_dir)
        self.installer_token = installer_token
        key_file = self.folder / KEY_FILE
        if key_file.exists():
            self.key = identity.DeviceKey.from_bytes(key_file.read_bytes())
        else:
            self.key = identity.DeviceKey.generate()
            _write_private(key_file, self.key.private_bytes())
        device_file = self.folder / DEVICE_FILE
        self.device_id: int | None = (
            int(device_file.read_text().strip()) if device_file.exists() else None
        )
        if self.device_id is None and not installer_token:
            raise StateFolderError(
                f"This computer is not enrolled yet ({self.folder} has no device): give "
                "--installer TOKEN from your administrator's install command."
            )

    def _credential(self) -> Credential:
        if self.device_id is not None:
            return DeviceCredential(kind="device", device_id=self.device_id)
        assert self.installer_token is not None
        return InstallerCredential(kind="installer", token=self.installer_token)

    def hello(self) -> Hello:
        return hello_of(self.name, self.key, self._credential())

    def established(self, device_id: int, session_id: int | None) -> None:
        if self.device_id != device_id:
            self.device_id = device_id
            _write_private(self.folder / DEVICE_FILE, f"{device_id}\n".encode())

    def refused(self, code: str, message: str) -> Outcome:
        if code in INSTALLER_REFUSALS:
            return Outcome(EXIT_KEY_REFUSED, message)
        if code == RefusalCode.PROTOCOL_MISMATCH:
            return Outcome(EXIT_PROTOCOL_MISMATCH, message)
        return Outcome(EXIT_ERROR, message)

    def end(self, reason: str) -> tuple[bool, Outcome]:
        return True, Outcome(EXIT_OK, reason)

    def uninstall(self, reason: str) -> Outcome:
        """The device was deleted on the server: the service, its files and the key go (an agent
        started by hand with --state-dir removes that folder), and the agent exits 0."""
        from relaydesk.agent import system_install

        try:
            if self.system_root is not None:
                system_install.uninstall(root=self.system_root, from_service=True)
            else:
                shutil.rmtree(self.folder, ignore_errors=True)
        except (OSError, system_install.InstallError) as error:
            return Outcome(EXIT_ERROR, f"Told to uninstall ({reason}), but could not: {error}")
        return Outcome(
            EXIT_OK, f"This device was removed on the server ({reason}); the agent uninstalled."
        )
