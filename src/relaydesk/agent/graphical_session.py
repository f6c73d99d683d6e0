"""The logged-in user's graphical session, as the installed agent (a root service) finds it for a
jump (UNA-6): the display the jump prompt opens on and the screen tool shares, its X authority
file, and whose it is.

Where it looks, in order:
1. logind: `loginctl` sessions of type x11 with a Display (the active one first) — a desktop
   started by a display manager;
2. the agent's own environment (DISPLAY, XAUTHORITY): an agent started inside a session;
3. the X servers' sockets in /tmp/.X11-unix and the processes of people (uid ≥ 1000) whose
   environment names that display: their XAUTHORITY (a user who started X by hand).

None of them: nobody is logged in on the device, and there is no screen to share (a display
manager's own login screen is not looked for: its X authority belongs to the display manager)."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

X11_SOCKETS = Path("/tmp/.X11-unix")
PROC = Path("/proc")
FIRST_PERSON_UID = 1000
_DISPLAY = re.compile(r"^:(\d+)(\.\d+)?$")


@dataclass(frozen=True)
class Desktop:
    display: str  # ":0"
    xauthority: str | None  # the authority file, None: none needed (or the default one)
    user: str  # the login of the person whose desktop it is ("" unknown)
    uid: int | None
    language: str = "en"  # of the person's session (LC_ALL, LC_MESSAGES, LANG): en, fr, de

    def environment(self) -> dict[str, str]:
        """The environment a program needs to show itself on this desktop."""
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "XAUTHORITY")}
        env["DISPLAY"] = self.display
        if self.xauthority:
            env["XAUTHORITY"] = self.xauthority
        return env


def language_of(env: dict[str, str] | os._Environ[str]) -> str:
    """The language the person's programs speak, as far as the prompt knows one: fr, de or en."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            code = value[:2].lower()
            return code if code in ("fr", "de") else "en"
    return "en"


def _user_of(uid: int | None) -> str:
    if uid is None:
        return ""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _socket_exists(display: str) -> bool:
    match = _DISPLAY.match(display)
    return match is not None and (X11_SOCKETS / f"X{match.group(1)}").exists()


def _from_logind() -> Desktop | None:
    loginctl = shutil.which("loginctl")
    if loginctl is None:
        return None
    try:
        listed = subprocess.run(
            [loginctl, "list-sessions", "--no-legend"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found: list[tuple[bool, Desktop]] = []
    for line in listed.stdout.splitlines():
        fields = line.split()
        if not fields:
            continue
        try:
            shown = subprocess.run(
                [
                    loginctl,
                    "show-session",
                    fields[0],
                    "-p",
                    "Type",
                    "-p",
                    "Display",
                    "-p",
                    "Active",
                    "-p",
                    "User",
                    "-p",
                    "Name",
                    "-p",
                    "Leader",
                ],
                capture_output=True,
                text=True,
                timeout=5,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        props = dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)
        display = props.get("Display", "")
        if props.get("Type") != "x11" or not display:
            continue
        uid = int(props["User"]) if props.get("User", "").isdigit() else None
        leader = props.get("Leader", "")
        xauthority = _xauthority_of(int(leader), display) if leader.isdigit() else None
        if xauthority is None and uid is not None:
            xauthority = _xauthority_of_user(uid, display)
        language = language_of(_environ(int(leader))) if leader.isdigit() else "en"
        desktop = Desktop(display, xauthority, props.get("Name") or _user_of(uid), uid, language)
        found.append((props.get("Active") == "yes", desktop))
    found.sort(key=lambda item: not item[0])
    return found[0][1] if found else None


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return {}
    result = {}
    for entry in raw.split(b"\0"):
        key, sep, value = entry.partition(b"=")
        if sep:
            result[key.decode(errors="replace")] = value.decode(errors="replace")
    return result


def _uid_of(pid: int) -> int | None:
    try:
        return (PROC / str(pid)).stat().st_uid
    except OSError:
        return None


def _pids() -> list[int]:
    try:
        return sorted(int(p.name) for p in PROC.iterdir() if p.name.isdigit())
    except OSError:
        return []


def _xauthority_of(pid: int, display: str) -> str | None:
    env = _environ(pid)
    if env.get("DISPLAY") == display and env.get("XAUTHORITY"):
        return env["XAUTHORITY"]
    return None


def _xauthority_of_user(uid: int, display: str) -> str | None:
    for pid in _pids():
        if _uid_of(pid) == uid:
            found = _xauthority_of(pid, display)
            if found:
                return found
    return None


def _from_own_environment() -> Desktop | None:
    display = os.environ.get("DISPLAY", "")
    if not display:
        return None
    uid = os.getuid()
    xauthority = os.environ.get("XAUTHORITY") or None
    return Desktop(display, xauthority, _user_of(uid), uid, language_of(os.environ))


def _from_sockets() -> Desktop | None:
    """An X server's socket and a person's process on that display (its XAUTHORITY)."""
    try:
        sockets = sorted(X11_SOCKETS.iterdir()) if X11_SOCKETS.is_dir() else []
    except OSError:
        return None
    displays = {f":{s.name[1:]}" for s in sockets if s.name[1:].isdigit()}
    if not displays:
        return None
    for pid in _pids():
        uid = _uid_of(pid)
        if uid is None or uid < FIRST_PERSON_UID:
            continue
        env = _environ(pid)
        display = env.get("DISPLAY", "")
        if display.split(".")[0] in displays:
            xauthority = env.get("XAUTHORITY") or None
            return Desktop(display, xauthority, _user_of(uid), uid, language_of(env))
    return None


def find() -> Desktop | None:
    """The logged-in user's desktop, or None when nobody is logged in graphically."""
    for way in (_from_logind, _from_own_environment, _from_sockets):
        desktop = way()
        if desktop is not None and (_socket_exists(desktop.display) or way is _from_logind):
            return desktop
    return None
