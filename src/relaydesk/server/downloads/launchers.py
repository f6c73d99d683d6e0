"""Launcher scripts (ATT-2), each run for one session and removing everything when it ends. The
POSIX shell script fetches the self-contained support client (Linux x86_64), checks its SHA-256
and runs it: nothing is installed. The PowerShell script (Windows, untested: there is no Windows
build of the client) still makes a private virtual environment and installs the agent wheel."""

from __future__ import annotations

import re

from relaydesk.server.downloads.agent_wheel import wheel_name
from relaydesk.server.downloads.support_client import ServedClient
from relaydesk.server.tls import Pins

KEY_SHAPE = re.compile(r"^[A-Z0-9-]{4,32}$")

POSIX = """#!/bin/sh
# relaydesk support client: runs for one support session, then removes itself.
set -eu
SERVER='{server}'
{preset_key}{body}"""

# The self-contained client (no Python needed): fetched, checked against the SHA-256 this server
# published, run. With a pin (a self-signed certificate) curl accepts only this server's public
# key and the client pins the certificate.
POSIX_CLIENT = """if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
  echo "relaydesk: the support client is available for Linux x86_64 only; this is $(uname -sm)." >&2
  exit 1
fi
for tool in curl sha256sum; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "relaydesk: $tool is needed to fetch the support client; please install it." >&2
    exit 1
  fi
done
dir=$(mktemp -d "${{TMPDIR:-/tmp}}/relaydesk.XXXXXX")
client="$dir/relaydesk-support"
echo "Fetching the relaydesk support client ({size_mb} MB) into $dir ..."
curl -fsS {curl_pin}-o "$client" "$SERVER/portal/download/support-client"
if ! echo "{sha256}  $client" | sha256sum -c --status; then
  echo "relaydesk: the downloaded support client is not the one this server published." >&2
  rm -rf "$dir"
  exit 1
fi
chmod +x "$client"
exec "$client" --server "$SERVER"{pin} --remove-on-exit "$dir" "$@"
"""

POSIX_NO_CLIENT = """echo "relaydesk: this server has no support client to offer." >&2
exit 1
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


def posix_script(
    server: str, key: str | None, pins: Pins | None = None, client: ServedClient | None = None
) -> str:
    key = clean_key(key)
    preset = f"set -- --key '{key}' \"$@\"\n" if key else ""
    if client is None:
        body = POSIX_NO_CLIENT
    else:
        body = POSIX_CLIENT.format(
            size_mb=max(1, round(client.size / 1e6)),
            curl_pin=f"--insecure --pinnedpubkey '{pins.curl_pin}' " if pins else "",
            sha256=client.sha256,
            pin=f" --pin-sha256 '{pins.certificate_sha256}'" if pins else "",
        )
    return POSIX.format(server=server.rstrip("/"), preset_key=preset, body=body)


def powershell_script(server: str, key: str | None, pins: Pins | None = None) -> str:
    """With a pin, the agent pins the certificate; fetching this script and the wheel still
    needs a certificate Windows trusts (see docs/deployment.md)."""
    pin = f" --pin-sha256 '{pins.certificate_sha256}'" if pins else ""
    return POWERSHELL.format(
        server=server.rstrip("/"), key=clean_key(key), wheel=wheel_name(), pin=pin
    )
