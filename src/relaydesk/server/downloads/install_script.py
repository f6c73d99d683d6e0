"""The install script of installed agents (UNA-2, UNA-4): `/portal/install.sh`, the same for every
installer (the token is its argument, never in its address). Run as root, it fetches the
self-contained agent this server serves, checks its SHA-256 (and, for a self-signed server, only
this server's public key is accepted: curl's --pinnedpubkey), and hands over to the executable's
own `install` subcommand (agent/system_install.py), which enrols, installs and starts the
service. Nothing is asked: `--quiet` prints only errors (mass deployment)."""

from __future__ import annotations

import shlex

from relaydesk.server.downloads.support_client import ServedClient
from relaydesk.server.tls import Pins

PATH = "/portal/install.sh"

SCRIPT = """#!/bin/sh
# relaydesk agent: installs this computer as a permanent device of the server below
# (unattended access): /opt/relaydesk-agent, /etc/relaydesk-agent/agent.conf,
# /var/lib/relaydesk-agent and the systemd service relaydesk-agent.
#   as root:   sh install.sh --installer TOKEN [--quiet] [--no-start]
#   remove:    /opt/relaydesk-agent/relaydesk-agent uninstall
set -eu
SERVER={server}
quiet=0
token=0
for argument in "$@"; do
  case "$argument" in
    --quiet) quiet=1 ;;
    --installer|--installer=*) token=1 ;;
  esac
done
say() {{
  if [ "$quiet" != 1 ]; then echo "$@"; fi
}}
if [ "$token" != 1 ]; then
  echo "relaydesk: give the installer token: sh -s -- --installer TOKEN" \\
    "(your administrator's install command has it)." >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "relaydesk: the agent is installed as a system service: run this as root" \\
    "(curl ... | sudo sh -s -- --installer TOKEN)." >&2
  exit 1
fi
{body}"""

BODY = """if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
  echo "relaydesk: the agent is available for Linux x86_64 only; this is $(uname -sm)." >&2
  exit 1
fi
for tool in curl sha256sum systemctl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "relaydesk: $tool is needed to install the agent; please install it." >&2
    exit 1
  fi
done
dir=$(mktemp -d "${{TMPDIR:-/tmp}}/relaydesk-install.XXXXXX")
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
agent="$dir/relaydesk-agent"
say "Fetching the relaydesk agent ({size_mb} MB) ..."
curl -fsS {curl_pin}-o "$agent" "$SERVER/portal/download/support-client"
if ! echo "{sha256}  $agent" | sha256sum -c --status; then
  echo "relaydesk: the downloaded agent is not the one this server published; not installed." >&2
  exit 1
fi
chmod 0755 "$agent"
"$agent" install --server "$SERVER"{pin} "$@" </dev/null
"""

NO_CLIENT = """echo "relaydesk: this server has no agent to install (it was not built there)." >&2
exit 1
"""


def install_script(server: str, pins: Pins | None, client: ServedClient | None) -> str:
    if client is None:
        body = NO_CLIENT
    else:
        body = BODY.format(
            size_mb=max(1, round(client.size / 1e6)),
            curl_pin=f"--insecure --pinnedpubkey '{pins.curl_pin}' " if pins else "",
            sha256=client.sha256,
            pin=f" --pin-sha256 '{pins.certificate_sha256}'" if pins else "",
        )
    return SCRIPT.format(server=shlex.quote(server.rstrip("/")), body=body)
