"""Launcher scripts (ATT-2): a POSIX shell script for Linux and macOS, a PowerShell script for
Windows. Each makes a private virtual environment, installs the agent wheel from this server,
runs it for one session and removes everything when the session ends."""

from __future__ import annotations

import re

from relaydesk.server.downloads.agent_wheel import wheel_name
from relaydesk.server.tls import Pins

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
{install}exec "$dir/venv/bin/relaydesk-agent" --server "$SERVER"{pin} --remove-on-exit "$dir" "$@"
"""

# Without a pin: pip checks the server's certificate against the system's authorities.
POSIX_INSTALL = """"$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check \\
  "relaydesk[agent] @ $SERVER/portal/download/{wheel}"
"""

# With a pin (a self-signed certificate): curl fetches the wheel, accepting only this server's
# public key; pip installs the file (its dependencies come from the package index as usual).
POSIX_PINNED_INSTALL = """if ! command -v curl >/dev/null 2>&1; then
  echo "relaydesk: curl is needed to fetch the support client; please install it." >&2
  exit 1
fi
curl -fsS --insecure --pinnedpubkey '{curl_pin}' -o "$dir/{wheel}" \\
  "$SERVER/portal/download/{wheel}"
"$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check \\
  "relaydesk[agent] @ file://$dir/{wheel}"
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
& "$dir\\venv\\Scripts\\relaydesk-agent.exe" --server $server --key $Key{pin} --remove-on-exit $dir
exit $LASTEXITCODE
"""


def clean_key(key: str | None) -> str:
    """Only a key-shaped value is ever written into a script."""
    if key and KEY_SHAPE.match(key.upper()):
        return key.upper()
    return ""


def posix_script(server: str, key: str | None, pins: Pins | None = None) -> str:
    key = clean_key(key)
    preset = f"set -- --key '{key}' \"$@\"\n" if key else ""
    install = (
        POSIX_PINNED_INSTALL.format(curl_pin=pins.curl_pin, wheel=wheel_name())
        if pins
        else POSIX_INSTALL.format(wheel=wheel_name())
    )
    pin = f" --pin-sha256 '{pins.certificate_sha256}'" if pins else ""
    return POSIX.format(server=server.rstrip("/"), preset_key=preset, install=install, pin=pin)


def powershell_script(server: str, key: str | None, pins: Pins | None = None) -> str:
    """With a pin, the agent pins the certificate; fetching this script and the wheel still
    needs a certificate Windows trusts (see docs/deployment.md)."""
    pin = f" --pin-sha256 '{pins.certificate_sha256}'" if pins else ""
    return POWERSHELL.format(
        server=server.rstrip("/"), key=clean_key(key), wheel=wheel_name(), pin=pin
    )
