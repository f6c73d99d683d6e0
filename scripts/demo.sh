#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), then runs `relaydesk demo` in the foreground:
# it prints where to sign in, the administrator's e-mail and (first time) one-time password.
# Data lives in ./data unless RELAYDESK_DATA_DIR says otherwise. Arguments go to
# `relaydesk demo`, e.g. scripts/demo.sh --host 0.0.0.0 --port 8080
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/setup.sh
export RELAYDESK_DATA_DIR="${RELAYDESK_DATA_DIR:-$ROOT/data}"
exec .venv/bin/relaydesk demo "$@"
