"""Builds the self-contained support client (ATT-2): the agent and its interpreter in one Linux
x86_64 executable (PyInstaller, one-file mode), into build/support-client/, which the server
serves at /portal/download/support-client. Rebuilt only when its inputs changed (the agent's and
protocol's source, pyproject.toml, this script, the Python and PyInstaller versions): the hash of
the inputs is kept beside the executable. Builds are also kept, by that hash, in the user's cache
(~/.cache/relaydesk/support-client/, or $XDG_CACHE_HOME, or RELAYDESK_BUILD_CACHE; the newest
KEEP of them), so that a fresh clone of the same code (CI) copies it instead of building it
again. Quiet: prints one line; PyInstaller's output only when it fails.

Run by scripts/setup.sh and the tests' session fixture:
    .venv/bin/python scripts/build_support_client.py
"""

from __future__ import annotations

import hashlib
import os
import platform
import pwd
import shutil
import subprocess
import sys
import time
from importlib.metadata import distributions, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "build" / "support-client"
EXECUTABLE = OUTPUT / "relaydesk-support-linux-x86_64"
STAMP = OUTPUT / "inputs.sha256"
WORK = ROOT / "build" / "support-client-work"
INPUTS = ["src/relaydesk/__init__.py", "src/relaydesk/agent", "src/relaydesk/protocol"]
ENTRY = "from relaydesk.agent.main import main\n\nraise SystemExit(main())\n"
KEEP = 3  # builds kept in the cache (about 100 MB each)


def cache_dir() -> Path:
    """The user's build cache, from the account's home (the tests run with a HOME of their own)."""
    if os.environ.get("RELAYDESK_BUILD_CACHE"):
        return Path(os.environ["RELAYDESK_BUILD_CACHE"]) / "support-client"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path(pwd.getpwuid(os.getuid()).pw_dir, ".cache"))
    return Path(base) / "relaydesk" / "support-client"


def inputs_hash() -> str:
    digest = hashlib.sha256()
    digest.update(f"{sys.version}|{version('pyinstaller')}|{ENTRY}".encode())
    # What gets bundled besides our sources: every installed distribution, by version.
    installed = sorted(f"{d.metadata['Name']}=={d.version}" for d in distributions())
    digest.update("|".join(installed).encode())
    files = [ROOT / "pyproject.toml", Path(__file__).resolve()]
    for name in INPUTS:
        path = ROOT / name
        files += sorted(p for p in path.rglob("*.py")) if path.is_dir() else [path]
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build(state: str) -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    entry = WORK / "relaydesk_support.py"
    entry.write_text(ENTRY)
    command = [sys.executable, "-m", "PyInstaller", "--onefile", "--noconfirm", "--clean"]
    command += ["--log-level", "WARN", "--name", EXECUTABLE.name]
    command += ["--distpath", str(OUTPUT), "--workpath", str(WORK), "--specpath", str(WORK)]
    command += ["--paths", str(ROOT / "src")]
    command += ["--collect-submodules", "relaydesk.agent"]
    command += ["--collect-submodules", "relaydesk.protocol"]
    # The customer's window is Tk: bundled when the building interpreter has it.
    command += ["--hidden-import", "tkinter", "--hidden-import", "tkinter.ttk"]
    command += ["--exclude-module", "relaydesk.server"]
    command.append(str(entry))
    STAMP.unlink(missing_ok=True)
    started = time.monotonic()
    done = subprocess.run(command, cwd=WORK, capture_output=True, text=True)
    if done.returncode != 0 or not EXECUTABLE.exists():
        print(done.stdout[-4000:] + done.stderr[-8000:], file=sys.stderr)
        print("support client: PyInstaller failed", file=sys.stderr)
        return 1
    STAMP.write_text(state + "\n")
    keep_in_cache(state)
    size = EXECUTABLE.stat().st_size / 1e6
    print(f"support client: built {EXECUTABLE} ({size:.0f} MB, {time.monotonic() - started:.0f} s)")
    return 0


def from_cache(state: str) -> bool:
    """The executable copied from the cache, when a build of these inputs is there."""
    cached = cache_dir() / state / EXECUTABLE.name
    if not cached.is_file():
        return False
    OUTPUT.mkdir(parents=True, exist_ok=True)
    STAMP.unlink(missing_ok=True)
    partial = EXECUTABLE.with_name(EXECUTABLE.name + ".partial")
    shutil.copy2(cached, partial)
    partial.replace(EXECUTABLE)
    STAMP.write_text(state + "\n")
    os.utime(cached.parent)  # recently used: kept
    print(f"support client: copied from the build cache {cached.parent}")
    return True


def keep_in_cache(state: str) -> None:
    """Puts this build in the cache (a failure only says so) and keeps the newest KEEP there."""
    cache = cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if not (cache / state).is_dir():
            partial = cache / f".{state}.{os.getpid()}.partial"
            partial.mkdir()
            shutil.copy2(EXECUTABLE, partial / EXECUTABLE.name)
            partial.rename(cache / state)
        builds = sorted(
            (entry for entry in cache.iterdir() if not entry.name.startswith(".")),
            key=lambda entry: entry.stat().st_mtime,
            reverse=True,
        )
        for old in builds[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as error:
        print(f"support client: not kept in the build cache {cache} ({error})", file=sys.stderr)


def main() -> int:
    if sys.platform != "linux" or platform.machine() != "x86_64":
        here = f"{sys.platform} {platform.machine()}"
        print(f"support client: only built on Linux x86_64 (this is {here})")
        return 0
    state = inputs_hash()
    if EXECUTABLE.exists() and STAMP.exists() and STAMP.read_text().strip() == state:
        print("support client: up to date")
        return 0
    if from_cache(state):
        return 0
    return build(state)


if __name__ == "__main__":
    raise SystemExit(main())
