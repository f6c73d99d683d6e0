"""Installing the agent as a system service (UNA-2, UNA-4) and removing it again.

The layout (FHS; every path under `root`, "/" on a real computer, a scratch folder in tests):

    /opt/relaydesk-agent/relaydesk-agent           the self-contained executable (0755)
    /etc/relaydesk-agent/agent.conf                 the server's address and pinned fingerprint
    /var/lib/relaydesk-agent/                       0700: device.key (Ed25519, 0600), device (id)
    /etc/systemd/system/relaydesk-agent.service     the unit (Restart=always)
    /etc/systemd/system/multi-user.target.wants/relaydesk-agent.service   enabled (a link)

install() enrols first, in a staging state folder, and only then puts anything in place: a
refused installer (unknown, expired, revoked, cap reached) or an unreachable server leaves the
computer as it was. Run again, it keeps the enrolment (the same server: no second installation
is counted) and replaces the executable, configuration and unit. uninstall() stops and disables
the unit and removes all of it; the running agent calls it when the server sends `uninstall`
(the device was deleted), then exits 0. `relaydesk-agent uninstall` on the computer
(uninstall_and_tell) first tells the server, over the device's own authenticated connection,
that it is going away (`uninstalled`), so that the device leaves the device list and the audit
log has it; a server it cannot reach within a few seconds does not stop the uninstall."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from relaydesk.agent.installed import DEVICE_FILE, KEY_FILE, InstalledMode, StateFolderError
from relaydesk.agent.link import Backoff, control_url
from relaydesk.agent.modes import hello_of
from relaydesk.agent.server_tls import ServerTls, TlsMismatch, normalised_pin
from relaydesk.protocol import control, identity
from relaydesk.protocol.messages import MAX_FRAME_BYTES, DeviceCredential

SERVICE = "relaydesk-agent.service"
EXECUTABLE = Path("opt/relaydesk-agent/relaydesk-agent")
CONFIG = Path("etc/relaydesk-agent/agent.conf")
STATE_DIR = Path("var/lib/relaydesk-agent")
UNIT = Path("etc/systemd/system") / SERVICE
WANTED_BY = Path("etc/systemd/system/multi-user.target.wants") / SERVICE
# How long install keeps trying a server it cannot reach before giving up.
ENROL_PATIENCE_SECONDS = 60.0
# How long uninstall waits for the server to hear it (one attempt) before removing anyway.
UNINSTALL_REPORT_SECONDS = 10.0

UNIT_TEXT = """# relaydesk agent: unattended access to this computer.
# Written by "relaydesk-agent install"; removed by "/opt/relaydesk-agent/relaydesk-agent uninstall".
[Unit]
Description=relaydesk agent (unattended access)
Wants=network-online.target
After=network-online.target
# Never give up restarting (the default limit stops a unit restarted 5 times in 10 s).
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=/{executable} run
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
"""

Say = Callable[[str], None]


@dataclass(frozen=True)
class Flavour:
    """One kind of system service with its own layout: the permanent agent (`relaydesk-agent`)
    or the ad hoc support's temporary host (`relaydesk-adhoc`, agent/ad_hoc_host.py). `name` is
    the folder under /opt, /etc and /var/lib and the unit's name; `run` what the unit starts."""

    name: str
    description: str
    run: str = "run"
    unit_comment: str = ""

    @property
    def service(self) -> str:
        return f"{self.name}.service"

    def executable(self) -> Path:
        return Path("opt") / self.name / "relaydesk-agent"

    def unit_text(self) -> str:
        """The agent's unit with this flavour's header comment, description and command."""
        header, unit = UNIT_TEXT.split("[Unit]\n", 1)
        return (
            (self.unit_comment or header)
            + "[Unit]\n"
            + (
                unit.replace(
                    "Description=relaydesk agent (unattended access)",
                    f"Description={self.description}",
                ).replace(
                    "ExecStart=/{executable} run", f"ExecStart=/{self.executable()} {self.run}"
                )
            )
        )


AGENT = Flavour(
    name="relaydesk-agent",
    description="relaydesk agent (unattended access)",
    unit_comment="",  # UNIT_TEXT's own
)


class InstallError(Exception):
    """The install (or uninstall) could not be done; the message says why, for the person."""


class EnrolmentRefused(InstallError):
    """The server refused the installer: `code` is its refusal code (installer_expired, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AgentConfig:
    server: str
    pin_sha256: str | None


@dataclass(frozen=True)
class InstalledPaths:
    root: Path
    executable: Path
    config: Path
    state_dir: Path
    unit: Path
    wanted_by: Path
    device_id: int | None = None
    started: bool = False


def paths(root: Path = Path("/"), flavour: Flavour = AGENT) -> InstalledPaths:
    """Where everything of an installed agent (or temporary host) lives under `root`."""
    return InstalledPaths(
        root=root,
        executable=root / flavour.executable(),
        config=root / "etc" / flavour.name / "agent.conf",
        state_dir=root / "var/lib" / flavour.name,
        unit=root / "etc/systemd/system" / flavour.service,
        wanted_by=root / "etc/systemd/system/multi-user.target.wants" / flavour.service,
    )


def is_installed(root: Path = Path("/"), flavour: Flavour = AGENT) -> bool:
    where = paths(root, flavour)
    return any(p.exists() or p.is_symlink() for p in (where.unit, where.config, where.executable))


# --- the configuration file -------------------------------------------------------------------
def config_text(config: AgentConfig) -> str:
    lines = [
        '# relaydesk agent (written by "relaydesk-agent install"; see docs/deployment.md)',
        f"server = {config.server}",
    ]
    if config.pin_sha256:
        lines.append(f"pin_sha256 = {config.pin_sha256}")
    return "\n".join(lines) + "\n"


def read_config(path: Path) -> AgentConfig:
    """agent.conf: `name = value` lines (server, pin_sha256), comments with #."""
    try:
        text = path.read_text()
    except OSError as error:
        raise InstallError(f"cannot read {path}: {error.strerror or error}") from error
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or name not in {"server", "pin_sha256"}:
            raise InstallError(f"{path}, line {number}: expected 'server = …' or 'pin_sha256 = …'")
        values[name] = value.strip()
    if not values.get("server"):
        raise InstallError(f"{path} names no server ('server = https://…')")
    try:
        control_url(values["server"])
        pin = normalised_pin(values["pin_sha256"]) if values.get("pin_sha256") else None
    except ValueError as error:
        raise InstallError(f"{path}: {error}") from error
    return AgentConfig(values["server"], pin)


# --- enrolment --------------------------------------------------------------------------------
async def _enrol(server: str, pin_sha256: str | None, mode: InstalledMode, say: Say) -> int:
    """One conversation with the server: the installer credential, the welcome (the device id,
    kept in the state folder), goodbye. Retries an unreachable server for a while."""
    url = control_url(server)
    tls = ServerTls(pin_sha256)
    backoff = Backoff()
    attempt = 0
    started = time.monotonic()
    while True:
        try:
            async with tls.open(
                url,
                compression=None,
                max_size=MAX_FRAME_BYTES,
                open_timeout=10,
                ping_interval=None,
                close_timeout=5,
            ) as ws:
                connection = control.AgentConnection(mode.hello(), mode.key)
                connection.start()
                while True:
                    for frame in connection.data_to_send():
                        await ws.send(frame)
                    received = await asyncio.wait_for(ws.recv(), 30)
                    for event in connection.receive(received):
                        if isinstance(event, control.Established):
                            mode.established(event.device_id, event.session_id)
                            return event.device_id
                        if isinstance(event, control.RefusedByServer):
                            raise EnrolmentRefused(event.code, event.message)
                        if isinstance(event, control.UninstallRequested):
                            raise EnrolmentRefused("uninstall", event.reason)
        except TlsMismatch as error:
            raise InstallError(
                f"{error} Check the install command (the fingerprint in it is this server's)."
            ) from error
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError, ConnectionClosed) as error:
            if time.monotonic() - started >= ENROL_PATIENCE_SECONDS:
                raise InstallError(
                    f"Could not reach the server at {server} ({error or type(error).__name__})."
                ) from error
            say(f"Cannot reach the server yet ({error or type(error).__name__}); retrying.")
        await asyncio.sleep(backoff.delay(attempt))
        attempt += 1


def _enrolled_device(where: InstalledPaths, server: str) -> int | None:
    """The device id this computer already has on `server` (a re-run), else None."""
    try:
        if read_config(where.config).server.rstrip("/") != server.rstrip("/"):
            return None
        return int((where.state_dir / DEVICE_FILE).read_text().strip())
    except (InstallError, OSError, ValueError):
        return None


# --- systemd ----------------------------------------------------------------------------------
def _systemd_running(root: Path) -> bool:
    return root == Path("/") and Path("/run/systemd/system").is_dir()


def _systemctl(*args: str, check: bool = True) -> None:
    done = subprocess.run(
        ["systemctl", *args], capture_output=True, text=True, timeout=120, check=False
    )
    if check and done.returncode != 0:
        raise InstallError(
            f"systemctl {' '.join(args)} failed: {(done.stderr or done.stdout).strip()}"
        )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Written beside and renamed into place: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    partial = path.with_name(f".{path.name}.new")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    partial.chmod(mode)
    partial.replace(path)


def _copy_executable(source: Path, target: Path) -> None:
    if target.exists() and source.resolve() == target.resolve():
        return
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    partial = target.with_name(f".{target.name}.new")
    partial.unlink(missing_ok=True)
    shutil.copyfile(source, partial)
    partial.chmod(0o755)
    partial.replace(target)  # a running copy keeps its own (now unlinked) file


def _enable(where: InstalledPaths) -> None:
    """What `systemctl enable` does for WantedBy=multi-user.target, also with no systemd."""
    where.wanted_by.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    where.wanted_by.unlink(missing_ok=True)
    where.wanted_by.symlink_to(Path("/") / where.unit.relative_to(where.root))


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


# --- install and uninstall --------------------------------------------------------------------
def install(
    executable: Path,
    server_url: str,
    pin_sha256: str | None,
    installer_token: str,
    *,
    root: Path = Path("/"),
    start: bool = True,
    say: Say = lambda line: None,
) -> InstalledPaths:
    """Installs the agent under `root` and enrols it with the installer token (no questions).
    Raises EnrolmentRefused (the server's code and message) or InstallError; in both cases
    nothing was installed (or an earlier installation is left as it was). Blocking: it runs its
    own event loop for the enrolment, so async code calls it in a thread (asyncio.to_thread).
    Needs root when `root` is "/"."""
    if root == Path("/") and os.geteuid() != 0:
        raise InstallError(
            "The agent is installed as a system service: run this as root (for example with sudo)."
        )
    server = server_url.rstrip("/")
    try:
        control_url(server)
        pin = normalised_pin(pin_sha256) if pin_sha256 else None
        if pin and not server.startswith("https://"):
            raise ValueError("a pinned certificate needs an https:// server address")
    except ValueError as error:
        raise InstallError(str(error)) from error
    if not executable.is_file():
        raise InstallError(f"{executable} is not the agent's executable (no such file).")
    where = paths(root)

    device_id = _enrolled_device(where, server)
    rerun = device_id is not None
    if device_id is None:
        if not installer_token:
            raise InstallError("Give the installer token: --installer TOKEN.")
        staging = where.state_dir.with_name(f".{where.state_dir.name}.enrolling")
        _remove(staging)
        staging.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        try:
            mode = InstalledMode(staging, installer_token)
            say(f"Enrolling this computer with {server} ...")
            device_id = asyncio.run(_enrol(server, pin, mode, say))
        except StateFolderError as error:
            _remove(staging)
            raise InstallError(str(error)) from error
        except BaseException:
            _remove(staging)
            raise
        _remove(where.state_dir)
        staging.replace(where.state_dir)
        say(f"Enrolled as device {device_id}.")
    else:
        say(f"Already enrolled with {server} as device {device_id}; updating the installation.")

    try:
        _copy_executable(executable, where.executable)
        where.executable.parent.chmod(0o755)
        _write(where.config, config_text(AgentConfig(server, pin)).encode(), 0o644)
        _write(where.unit, UNIT_TEXT.format(executable=EXECUTABLE).encode(), 0o644)
        _enable(where)
    except OSError as error:
        if not rerun:
            uninstall(root=root)  # half an installation is worse than none
        raise InstallError(f"Could not install the agent: {error}") from error
    started = False
    if _systemd_running(root):
        _systemctl("daemon-reload")
        if start:
            _systemctl("restart", SERVICE)  # started, or restarted on the new executable
            started = True
    return InstalledPaths(
        root=root,
        executable=where.executable,
        config=where.config,
        state_dir=where.state_dir,
        unit=where.unit,
        wanted_by=where.wanted_by,
        device_id=device_id,
        started=started,
    )


def place(
    executable: Path,
    config: AgentConfig,
    flavour: Flavour,
    *,
    root: Path = Path("/"),
    start: bool = True,
) -> InstalledPaths:
    """Puts a flavour's executable, configuration and unit in place and enables the unit (its
    state folder is the caller's: the ad hoc host fills it itself); starts it when asked and
    systemd runs. Half a layout is removed again on failure. Needs root when `root` is "/"."""
    if root == Path("/") and os.geteuid() != 0:
        raise InstallError("Installing a system service needs root (for example with sudo).")
    if not executable.is_file():
        raise InstallError(f"{executable} is not the agent's executable (no such file).")
    where = paths(root, flavour)
    try:
        _copy_executable(executable, where.executable)
        where.executable.parent.chmod(0o755)
        _write(where.config, config_text(config).encode(), 0o644)
        _write(where.unit, flavour.unit_text().encode(), 0o644)
        _enable(where)
    except OSError as error:
        uninstall(root=root, flavour=flavour)
        raise InstallError(f"Could not install {flavour.name}: {error}") from error
    started = False
    if _systemd_running(root):
        _systemctl("daemon-reload")
        if start:
            _systemctl("restart", flavour.service)
            started = True
    return InstalledPaths(
        root=root,
        executable=where.executable,
        config=where.config,
        state_dir=where.state_dir,
        unit=where.unit,
        wanted_by=where.wanted_by,
        started=started,
    )


def uninstall(
    *,
    root: Path = Path("/"),
    from_service: bool = False,
    flavour: Flavour = AGENT,
    before_removing: Callable[[InstalledPaths], None] | None = None,
) -> None:
    """Stops and disables the unit and removes it, the executable, the configuration and the
    key. `from_service`: called by the running agent itself (the server's `uninstall`), which
    must not stop its own unit (that would kill it half way); it exits 0 right after, and
    systemd does not restart a unit whose file is gone. `before_removing`: called once the
    service is stopped, while the key is still there (uninstall_and_tell)."""
    if root == Path("/") and os.geteuid() != 0:
        raise InstallError("Removing the agent's system service needs root (for example sudo).")
    where = paths(root, flavour)
    systemd = _systemd_running(root)
    if systemd and not from_service and (where.unit.exists() or where.wanted_by.is_symlink()):
        _systemctl("disable", "--now", flavour.service, check=False)
    if before_removing is not None:
        before_removing(where)
    for path in (where.wanted_by, where.unit, where.config.parent, where.state_dir):
        _remove(path)
    _remove(where.state_dir.with_name(f".{where.state_dir.name}.enrolling"))
    _remove(where.executable.parent)
    if systemd:
        _systemctl("daemon-reload", check=False)


# --- telling the server -----------------------------------------------------------------------
async def _report_uninstalled(config: AgentConfig, key: identity.DeviceKey, device_id: int) -> None:
    """One conversation with the server as the device (its id, proved by its key): `uninstalled`
    once welcomed, until the server's `uninstall` acknowledges it. A device already deleted on
    the server is told `uninstall` after its proof instead of a welcome: it answers `uninstalled`
    there (the server notes it and closes)."""
    hello = hello_of("unattended", key, DeviceCredential(kind="device", device_id=device_id))
    async with ServerTls(config.pin_sha256).open(
        control_url(config.server),
        compression=None,
        max_size=MAX_FRAME_BYTES,
        open_timeout=UNINSTALL_REPORT_SECONDS,
        ping_interval=None,
        close_timeout=2,
    ) as ws:
        connection = control.AgentConnection(hello, key)
        connection.start()
        told = False
        while True:
            for frame in connection.data_to_send():
                await ws.send(frame)
            for event in connection.receive(await ws.recv()):
                if isinstance(event, control.Established):
                    connection.send_uninstalled("on_device")
                    told = True
                elif isinstance(event, control.UninstallRequested):
                    if not told:  # deleted on the server already: it still hears the uninstall
                        connection.send_uninstalled("on_device")
                        for frame in connection.data_to_send():
                            await ws.send(frame)
                    return
                elif isinstance(event, control.RefusedByServer):
                    raise InstallError(f"the server refused the device: {event.message}")


def tell_server_uninstalled(
    root: Path = Path("/"), *, patience: float = UNINSTALL_REPORT_SECONDS
) -> str | None:
    """Tells the server of the agent installed under `root` that it is being uninstalled on the
    computer (before its key is removed). None when the server acknowledged it, else why not, in
    a few words for the terminal. One attempt, `patience` seconds at most."""
    where = paths(root)
    try:
        config = read_config(where.config)
        key = identity.DeviceKey.from_bytes((where.state_dir / KEY_FILE).read_bytes())
        device_id = int((where.state_dir / DEVICE_FILE).read_text().strip())
    except (InstallError, OSError, ValueError) as error:
        return f"this computer's enrolment could not be read: {error}"
    try:
        asyncio.run(asyncio.wait_for(_report_uninstalled(config, key, device_id), patience))
    except TimeoutError:
        return f"the server at {config.server} did not answer within {patience:.0f} s"
    except TlsMismatch as error:
        return str(error)
    except InstallError as error:
        return str(error)
    except (OSError, InvalidHandshake, InvalidURI, ConnectionClosed) as error:
        return f"could not reach the server at {config.server} ({error or type(error).__name__})"
    return None


def uninstall_and_tell(
    *,
    root: Path = Path("/"),
    say: Say = lambda line: None,
    warn: Say = lambda line: None,
    patience: float = UNINSTALL_REPORT_SECONDS,
) -> bool:
    """What `relaydesk-agent uninstall` does: stops the service, tells the server (the device
    leaves its device list; the audit log has device.uninstalled), then removes the unit, files,
    configuration and key. A server that cannot be told does not stop the uninstall: `warn`
    says so (the device then stays in the list, offline, until someone deletes it there).
    Returns whether the server heard it."""
    heard: list[bool] = []

    def tell(where: InstalledPaths) -> None:
        if not where.config.exists():
            return
        problem = tell_server_uninstalled(where.root, patience=patience)
        heard.append(problem is None)
        if problem is None:
            say("The server was told: this device is removed from its device list.")
        else:
            warn(
                f"The server was not told ({problem}); uninstalling anyway. The device stays in "
                "the device list, offline: delete it there."
            )

    uninstall(root=root, before_removing=tell)
    return heard == [True]
