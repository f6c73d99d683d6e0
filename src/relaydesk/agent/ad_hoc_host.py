"""The temporary host of ad hoc support (ADH-2 … ADH-7): the support client in ad hoc mode.

Started from the deployment link's download (`relaydesk-adhoc-<TOKEN>.bin`: the token is in the
saved file's name only, as the attended key is), it installs itself as the system service
`relaydesk-adhoc.service` (agent/system_install.py's layout, flavour ADHOC: /opt/relaydesk-adhoc,
/etc/relaydesk-adhoc/agent.conf, /var/lib/relaydesk-adhoc, the unit enabled so that it survives
a reboot), then runs as the host in the foreground with the recipient's window (or terminal);
the service waits for the foreground host's lock and takes over when it exits, and runs the host
at every boot until the session ends. Elevation as for Jump clients (agent/jump_client.py):
pkexec with a desktop, else sudo in a terminal, else it says it cannot.

The host keeps in its state folder (0700; files 0600): its Ed25519 key, the deployment token (its
credential on every connection, proved by the key), and once activated `host.json`: the
organisation, the technician, the expiry and the access password's salted argon2id hash. Every
connection (`adhoc_connect`) carries the password the technician typed; the host checks it
against its own hash and serves no tunnel of a connection it refused, so a server in someone
else's hands cannot connect without the password. It removes itself (unit, files, key, state)
when the server ends the session (`uninstall`), when the recipient presses "End session", and
when its own clock passes the expiry, online or not."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from relaydesk.agent.ad_hoc_texts import language, text
from relaydesk.agent.installed import StateFolderError, _own_folder
from relaydesk.agent.modes import EXIT_ERROR, EXIT_KEY_REFUSED, EXIT_OK, Outcome, hello_of
from relaydesk.agent.private_folder import _write_private
from relaydesk.agent.system_install import AGENT, Flavour
from relaydesk.protocol import identity
from relaydesk.protocol.codes import ErrorCode, RefusalCode
from relaydesk.protocol.messages import (
    AdHocCode,
    AdHocConnect,
    AdHocConnectAnswer,
    AdHocCredential,
    AdHocEnd,
    AdHocStatus,
    Hello,
    Mode,
)

ADHOC = Flavour(
    name="relaydesk-adhoc",
    description="relaydesk temporary host (ad hoc support; removes itself when the session ends)",
    run="adhoc-run",
    unit_comment=(
        "# relaydesk temporary host (ad hoc support): for the life of one support session.\n"
        "# Written by the support client in ad hoc mode; it removes itself when the session ends.\n"
    ),
)
KEY_FILE = "device.key"
TOKEN_FILE = "token"
HOST_FILE = "host.json"
LOCK_FILE = "lock"
# Refusals after which this computer has nothing more to do with the session: the host goes.
FINAL_REFUSALS = frozenset(
    {
        RefusalCode.ADHOC_LINK_UNKNOWN,
        RefusalCode.ADHOC_LINK_EXPIRED,
        RefusalCode.ADHOC_SESSION_ENDED,
        RefusalCode.ADHOC_LINK_USED,
        RefusalCode.ADHOC_PREVIOUS_SESSION_OPEN,
        RefusalCode.ADHOC_PERMANENT_AGENT,
        RefusalCode.SESSION_ENDED,
        RefusalCode.DEVICE_UNKNOWN,
    }
)
_HASHER = PasswordHasher()


# --- what the recipient sees (the window or the terminal) ----------------------------------
@dataclass(frozen=True)
class AskCode:
    """The host is installed and waits for the security code."""


@dataclass(frozen=True)
class Activated:
    organisation: str
    until: datetime


@dataclass(frozen=True)
class Connected:
    technician: str
    company: str
    at: datetime
    accepted: bool


@dataclass(frozen=True)
class Said:
    """Something for the recipient to read (a refusal, the state of the connection)."""

    text: str
    problem: bool = False


class Typing(Protocol):
    """What the recipient typed or pressed (the code, "End session"), for the channel to send."""

    def bind(self) -> None: ...

    async def next_typed(self) -> AdHocCode | AdHocEnd: ...

    def put_back(self, item: AdHocCode | AdHocEnd) -> None: ...

    def type(self, item: AdHocCode | AdHocEnd) -> None: ...


class Face(Protocol):
    """Where the host's news goes: the window, the terminal, or nowhere (the service)."""

    def show(self, item: AskCode | Activated | Connected | Said) -> None: ...


def activated_text(organisation: str, until: datetime) -> str:
    local = until.astimezone()
    return text("activated", organisation=organisation, until=f"{local:%Y-%m-%d %H:%M}")


def connected_text(item: Connected) -> str:
    who = f"{item.technician} ({item.company})" if item.company else item.technician
    at = f"{item.at.astimezone():%H:%M:%S}"
    return text("connected" if item.accepted else "refused", who=who, at=at)


# --- the host's state ------------------------------------------------------------------------
@dataclass(frozen=True)
class HostFacts:
    """What activation gave this host (host.json, 0600)."""

    organisation: str
    technician: str
    expires_at: datetime
    password_hash: str


def read_facts(folder: Path) -> HostFacts | None:
    try:
        data = json.loads((folder / HOST_FILE).read_text())
        return HostFacts(
            organisation=str(data["organisation"]),
            technician=str(data["technician"]),
            expires_at=datetime.fromisoformat(str(data["expires_at"])),
            password_hash=str(data["password_hash"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def password_matches(password_hash: str, password: str) -> bool:
    """The typed password against the host's own argon2id hash (anything but argon2id fails)."""
    if not password_hash.startswith("$argon2id$"):
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def previous_session(folder: Path, now: datetime) -> HostFacts | None:
    """An activated, unexpired session of another host found in `folder` (ADH-7)."""
    facts = read_facts(folder)
    return facts if facts is not None and facts.expires_at > now else None


def public_key_in(folder: Path) -> str | None:
    """The public key of the key pair kept in a state folder (another host's, an agent's)."""
    try:
        return identity.DeviceKey.from_bytes((folder / KEY_FILE).read_bytes()).public_key_b64
    except (OSError, ValueError):
        return None


def permanent_agent_key(root: Path = Path("/")) -> str | None:
    """The key of a permanent agent installed on this computer (the server says whether it is
    the organisation's: "use the device list instead")."""
    from relaydesk.agent import system_install

    return public_key_in(system_install.paths(root, AGENT).state_dir)


class AdHocMode:
    """The host's credential, state and decisions; link.py moves its messages."""

    name: Mode = "adhoc"

    def __init__(
        self,
        state_dir: Path,
        token: str | None,
        face: Face,
        typed: Typing | None = None,
        system_root: Path | None = None,
        from_service: bool = False,
        clock: type[datetime] = datetime,
        found: dict[str, str] | None = None,
    ) -> None:
        self.folder = _own_folder(state_dir)
        self.face = face
        self.typed = typed
        # What the host found on this computer (language, previous and permanent keys).
        self.found = dict(found or {})
        self.system_root = system_root
        self.from_service = from_service
        self.clock = clock
        token_file = self.folder / TOKEN_FILE
        if token:
            if not token_file.exists():
                _write_private(token_file, token.encode())
            self.token = token
        elif token_file.exists():
            self.token = token_file.read_text().strip()
        else:
            raise StateFolderError(f"{self.folder} holds no ad hoc session (no deployment token).")
        key_file = self.folder / KEY_FILE
        if key_file.exists():
            self.key = identity.DeviceKey.from_bytes(key_file.read_bytes())
        else:
            self.key = identity.DeviceKey.generate()
            _write_private(key_file, self.key.private_bytes())
        self.facts = read_facts(self.folder)
        self.device_id: int | None = None
        # Connections (session ids) whose password matched: only their tunnels are served.
        self.serving: set[int] = set()
        self.end_asked = False
        self.removed = False

    def now(self) -> datetime:
        return self.clock.now(UTC)

    def hello(self) -> Hello:
        return hello_of(
            self.name,
            self.key,
            AdHocCredential(
                kind="adhoc",
                token=self.token,
                language=language(),
                previous_device_key=self.found.get("previous_device_key"),
                permanent_agent_key=self.found.get("permanent_agent_key"),
            ),
        )

    def established(self, device_id: int, session_id: int | None) -> None:
        self.device_id = device_id
        self.face.show(Said(text("online")))

    def expired(self) -> bool:
        return self.facts is not None and self.now() >= self.facts.expires_at

    # --- the server's messages ---
    def command(self, message: AdHocStatus | AdHocConnect) -> AdHocConnectAnswer | None:
        if isinstance(message, AdHocStatus):
            if message.state == "waiting_for_code":
                self.face.show(AskCode())
                return None
            until = datetime.fromisoformat(message.expires_at)
            if until.tzinfo is None:
                until = until.replace(tzinfo=UTC)
            self.facts = HostFacts(
                message.organisation, message.technician, until, message.password_hash
            )
            _write_private(
                self.folder / HOST_FILE,
                json.dumps(
                    {
                        "organisation": message.organisation,
                        "technician": message.technician,
                        "expires_at": until.isoformat(),
                        "password_hash": message.password_hash,
                    }
                ).encode(),
            )
            self.face.show(Activated(message.organisation, until))
            return None
        accepted = (
            self.facts is not None
            and not self.expired()
            and password_matches(self.facts.password_hash, message.password)
        )
        if accepted:
            self.serving.add(message.session_id)
        self.face.show(Connected(message.technician, message.company, self.now(), accepted))
        return AdHocConnectAnswer(
            type="adhoc_connect_answer", session_id=message.session_id, accepted=accepted
        )

    def may_serve(self) -> bool:
        """A tunnel is served only within a connection whose password the host checked."""
        return bool(self.serving) and not self.expired()

    def connection_over(self, session_id: int) -> None:
        if session_id in self.serving:
            self.serving.discard(session_id)
            self.face.show(Said(text("disconnected")))

    def told(self, code: str, message: str) -> None:
        if code == ErrorCode.ADHOC_CODE_INVALID:
            self.face.show(Said(text("invalid_code"), problem=True))
            self.face.show(AskCode())
        else:
            self.face.show(Said(message, problem=True))

    # --- endings ---
    def refused(self, code: str, message: str) -> Outcome:
        if code in FINAL_REFUSALS:
            self.remove()
            return Outcome(EXIT_KEY_REFUSED, message)
        return Outcome(EXIT_ERROR, message)

    def end(self, reason: str) -> tuple[bool, Outcome]:
        return self.remove(), Outcome(EXIT_OK, reason)

    def uninstall(self, reason: str) -> Outcome:
        if not self.remove():
            return Outcome(EXIT_ERROR, f"The session ended ({reason}); the host could not go.")
        return Outcome(EXIT_OK, f"The support session has ended ({reason}); the host is removed.")

    def remove(self) -> bool:
        """Unit, files, key and state go; True when nothing is left."""
        from relaydesk.agent import system_install

        if self.removed:
            return True
        try:
            if self.system_root is not None:
                system_install.uninstall(
                    root=self.system_root, from_service=self.from_service, flavour=ADHOC
                )
            shutil.rmtree(self.folder, ignore_errors=True)
        except (OSError, system_install.InstallError):
            return False
        self.removed = not self.folder.exists()
        return self.removed


def hold_lock(folder: Path, wait: bool) -> int | None:
    """The host's lock in its state folder: one host at a time (the service waits for the
    foreground host). None when `wait` is False and another holds it."""
    import fcntl

    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def release_lock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
