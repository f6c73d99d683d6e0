"""Launcher scripts (ATT-2): a POSIX shell script for Linux and macOS, a PowerShell script for
Windows. Each makes a private virtual environment, installs the agent wheel from this server,
runs it for one session and removes everything when the session ends."""

from __future__ import annotations

import re

from relaydesk.server.downloads.agent_wheel import wheel_name

KEY_SHAPE = re.compile(r"^[A-Z0-9-]{4,32}$")

POSIX = """#!/bin/sh
# relaydesk support client: runs for one support session, then removes itself.
set -eu
SERVER='{server}'
{preset_key}if ! command -v python3 >/dev/null 2>&1; then
  echo "relaydesk: Python 3 is needed to run the support client; please install it." >&2
  exit 1
fi
dir=$(mktemp -d "${{TMPDIR:-/tmp}}/relaydesk.XXXXXX")
echo "Preparing the relaydesk support client in $dir ..."
python3 -m venv "$dir/venv"
"$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check \\
  "relaydesk[agent] @ $SERVER/portal/download/{wheel}"
exec "$dir/venv/bin/relaydesk-agent" --server "$SERVER" --remove-on-exit "$dir" "$@"
"""

POWERSHELL = """# relaydesk support client: runs for one support session, then removes itself.
param([string]$Key = '{key}')
$ErrorActionPreference = 'Stop'
$server = '{server}'
if (-not $Key) {{ Write-Error 'relaydesk: give the session key: -Key ABCD-EFGH-JKMN'; exit 1 }}
$dir = Join-Path $env:TEMP ('relaydesk-' + [guid]::NewGuid())
Write-Host "Preparing the relaydesk support client in $dir ..."
python -m venv "$dir\\venv"
& "$dir\\venv\\Scripts\\python.exe" -m pip install --quiet --disable-pip-version-check `
  "relaydesk[agent] @ $server/portal/download/{wheel}"
& "$dir\\venv\\Scripts\\relaydesk-agent.exe" --server $server --key $Key --remove-on-exit $dir
exit $LASTEXITCODE
"""


def clean_key(key: str | None) -> str:
    """Only a key-shaped value is ever written into a script."""
    if key and KEY_SHAPE.match(key.upper()):
        return key.upper()
    return ""


def posix_script(server: str, key: str | None) -> str:
    key = clean_key(key)
    preset = f"set -- --key '{key}' \"$@\"\n" if key else ""
    return POSIX.format(server=server.rstrip("/"), preset_key=preset, wheel=wheel_name())


def powershell_script(server: str, key: str | None) -> str:
    return POWERSHELL.format(server=server.rstrip("/"), key=clean_key(key), wheel=wheel_name())
