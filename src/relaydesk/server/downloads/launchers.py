"""Launcher scripts (ATT-2), each run for one session and removing everything when it ends. The
POSIX shell script fetches the self-contained support client (Linux x86_64), checks its SHA-256
and runs it: nothing is installed. The PowerShell script (Windows, untested: there is no Windows
build of the client) still makes a private virtual environment and installs the agent wheel.

Both are the same for every customer: the session key is never in their URL (a proxy's log would
keep it). It is the script's argument (`… | sh -s -- --key KEY`, `-Key KEY`), or, for a script
the portal page saved, its file name (`relaydesk-support-<KEY>.sh` / `.ps1`, as the support
client's own download). A link of the old form (`?key=…`) gets a script that only says where to
get the new command (outdated_posix_script, outdated_powershell_script): the key in it is not
used."""

from __future__ import annotations

from relaydesk.server.downloads.agent_wheel import wheel_name
from relaydesk.server.downloads.support_client import ServedClient
from relaydesk.server.tls import Pins

POSIX = """#!/bin/sh
# relaydesk support client: runs for one support session, then removes itself.
# The session key: sh relaydesk-support.sh --key ABCD-EFGH-JKMN, or in this file's name as the
# support page saves it (relaydesk-support-ABCD-EFGH-JKMN.sh).
set -eu
SERVER='{server}'
case " $* " in
  *" --key "*) ;;
  *)
    name=$(basename -- "$0")
    key=$(echo "$name" | sed -n 's/^relaydesk-support-\\([A-Za-z0-9-]*[A-Za-z0-9]\\).*[.]sh$/\\1/p')
    if [ -z "$key" ]; then
      echo "relaydesk: give your session key: sh $0 --key ABCD-EFGH-JKMN" >&2
      exit 1
    fi
    set -- --key "$key" "$@"
    ;;
esac
{body}"""

OUTDATED_POSIX = """#!/bin/sh
# relaydesk: this script came from an outdated link.
echo "relaydesk: this link is outdated (it carried your session key in its address)." >&2
echo "Open the support page again, enter your session key and use the command or the" >&2
echo "download it shows now: {server}/" >&2
exit 1
"""

OUTDATED_POWERSHELL = """# relaydesk: this script came from an outdated link.
Write-Error ('relaydesk: this link is outdated (it carried your session key in its address). ' +
  'Open the support page again, enter your session key and use the command or the download it ' +
  'shows now: {server}/')
exit 1
"""

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
# The session key: -Key ABCD-EFGH-JKMN, or in this file's name as the support page saves it
# (relaydesk-support-ABCD-EFGH-JKMN.ps1).
param([string]$Key = '')
$ErrorActionPreference = 'Stop'
$server = '{server}'
if (-not $Key -and $PSCommandPath) {{
  $name = Split-Path -Leaf $PSCommandPath
  if ($name -match '^relaydesk-support-([A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]).*[.]ps1$') {{
    $Key = $Matches[1]
  }}
}}
if (-not $Key) {{ Write-Error 'relaydesk: give the session key: -Key ABCD-EFGH-JKMN'; exit 1 }}
$dir = Join-Path $env:TEMP ('relaydesk-' + [guid]::NewGuid())
Write-Host "Preparing the relaydesk support client in $dir ..."
python -m venv "$dir\\venv"
& "$dir\\venv\\Scripts\\python.exe" -m pip install --quiet --disable-pip-version-check `
  "relaydesk[agent] @ $server/portal/download/{wheel}"
& "$dir\\venv\\Scripts\\relaydesk-agent.exe" --server $server --key $Key{pin} --remove-on-exit $dir
exit $LASTEXITCODE
"""


def script_file_name(key: str, extension: str) -> str:
    """What the portal page saves a launcher as: the key in the name, never in the URL."""
    return f"relaydesk-support-{key}.{extension}"


def posix_script(server: str, pins: Pins | None = None, client: ServedClient | None = None) -> str:
    if client is None:
        body = POSIX_NO_CLIENT
    else:
        body = POSIX_CLIENT.format(
            size_mb=max(1, round(client.size / 1e6)),
            curl_pin=f"--insecure --pinnedpubkey '{pins.curl_pin}' " if pins else "",
            sha256=client.sha256,
            pin=f" --pin-sha256 '{pins.certificate_sha256}'" if pins else "",
        )
    return POSIX.format(server=server.rstrip("/"), body=body)


def outdated_posix_script(server: str) -> str:
    return OUTDATED_POSIX.format(server=server.rstrip("/"))


def outdated_powershell_script(server: str) -> str:
    return OUTDATED_POWERSHELL.format(server=server.rstrip("/"))


def powershell_script(server: str, pins: Pins | None = None) -> str:
    """With a pin, the agent pins the certificate; fetching this script and the wheel still
    needs a certificate Windows trusts (see docs/deployment.md)."""
    pin = f" --pin-sha256 '{pins.certificate_sha256}'" if pins else ""
    return POWERSHELL.format(server=server.rstrip("/"), wheel=wheel_name(), pin=pin)
