#!/usr/bin/env bash
# One-stop, idempotent set-up of a development/test machine (Debian 12):
#   Debian packages (only those missing), .venv with the project and its dev tools,
#   the web app's node modules and build, the self-contained support client.
# Never downloads a browser: the tests use Debian's /usr/bin/chromium.
# Quiet: one line per step; the full output of a failing step is shown.
#
# Environment: PYTHON (interpreter for a new .venv, default python3 >= 3.11),
#              RELAYDESK_SETUP_SKIP_APT=1 (do not touch Debian packages),
#              RELAYDESK_SETUP_SKIP_WEB=1 (skip npm).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
export PIP_DISABLE_PIP_VERSION_CHECK=1 npm_config_fund=false npm_config_audit=false
export npm_config_update_notifier=false

LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/relaydesk-setup.XXXXXX")"
trap 'rm -rf "$LOG_DIR"' EXIT

say() { printf '==> %s\n' "$*"; }

# step "description" command...: runs quietly; on failure prints its output and stops.
step() {
  local what="$1"; shift
  local log="$LOG_DIR/step.log"
  say "$what"
  if ! "$@" >"$log" 2>&1; then
    printf '!!! %s failed; its output:\n' "$what" >&2
    cat "$log" >&2
    exit 1
  fi
}

sha() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }
in_web() { (cd web && "$@"); }

# --- Debian packages ------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

pick_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3 /usr/bin/python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

missing=()
want() { installed "$1" || missing+=("$1"); }

if [ "${RELAYDESK_SETUP_SKIP_APT:-0}" != 1 ] && command -v dpkg-query >/dev/null 2>&1; then
  PY="$(pick_python || true)"
  if [ -z "$PY" ]; then
    want python3
    want python3-venv
  elif [ ! -x .venv/bin/python ] && ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    want python3-venv  # Debian's python3 has venv's pip only with python3-venv
  fi
  want chromium
  want fonts-liberation
  want fonts-noto-cjk         # Chinese and Japanese in chat, as the screenshots should show them
  want fonts-noto-color-emoji  # emoji likewise
  want xvfb
  want x11-utils
  want xauth
  want xterm              # real X clients for the screen tests
  want x11-xserver-utils  # xrandr: monitors in the screen tests
  want tigervnc-viewer    # interoperability: a standard VNC viewer on a second Xvfb
  want xdotool            # finds and drives the viewer's window in the screen tests
  want x11-xkb-utils      # setxkbmap: the customer switches keyboard layouts in a screen test
  want binutils           # objcopy: PyInstaller embeds the support client's archive with it
  want curl               # the one-line command fetches the support client with it
  want systemd-container  # systemd-nspawn: the installed agent's tests boot a real systemd
  want debootstrap        # ... in a Debian root file system it makes (tests/system)
  want haproxy            # the multi-node tests: several nodes behind it (tests/cluster)
  want gcc                # bench/relay_load.py compiles its load generator (bench/relay_load.c)
  want libc6-dev
  if [ -f web/package.json ] && ! command -v npm >/dev/null 2>&1; then
    want nodejs
    want npm
  fi

  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
      SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
      SUDO=(sudo)
    else
      echo "!!! missing Debian packages: ${missing[*]}; install them as root" >&2
      exit 1
    fi
    apt_get() {
      "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 -q "$@"
    }
    step "apt-get update (missing: ${missing[*]})" apt_get update
    step "apt-get install ${missing[*]}" apt_get install -y --no-install-recommends "${missing[@]}"
  else
    say "Debian packages: all present"
  fi
fi

# --- Python virtual environment ----------------------------------------------------------
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
  PY="$(pick_python)" || { echo "!!! no python3 >= 3.11 found" >&2; exit 1; }
  rm -rf .venv
  step "create .venv with $PY ($("$PY" --version 2>&1))" "$PY" -m venv .venv
fi

PY_STAMP=.venv/.relaydesk-install-stamp
py_state="$(sha pyproject.toml)"
if [ "$(cat "$PY_STAMP" 2>/dev/null)" != "$py_state" ] \
  || ! .venv/bin/python -c 'import relaydesk' >/dev/null 2>&1 \
  || [ ! -x .venv/bin/relaydesk ] || [ ! -x .venv/bin/pytest ]; then
  step "pip install -e .[dev]" .venv/bin/python -m pip install -q -e ".[dev]"
  echo "$py_state" >"$PY_STAMP"
else
  say "Python packages: up to date"
fi

# --- Web app ------------------------------------------------------------------------------
if [ "${RELAYDESK_SETUP_SKIP_WEB:-0}" = 1 ]; then
  say "web: skipped (RELAYDESK_SETUP_SKIP_WEB=1)"
elif [ -f web/package.json ]; then
  WEB_STAMP=web/node_modules/.relaydesk-install-stamp
  web_state="$(sha web/package.json web/package-lock.json)"
  if [ "$(cat "$WEB_STAMP" 2>/dev/null)" != "$web_state" ]; then
    if [ -f web/package-lock.json ]; then
      step "npm ci (web)" in_web npm ci --no-audit --no-fund --loglevel=error
    else
      step "npm install (web)" in_web npm install --no-audit --no-fund --loglevel=error
    fi
    # npm install may have written the lock file: stamp what is there now.
    sha web/package.json web/package-lock.json >"$WEB_STAMP"
  else
    say "web node modules: up to date"
  fi
  # Built again only when something under web/ changed since the last build (a fresh clone
  # always builds): the hash of every file there but node_modules, names and contents.
  BUILD_STAMP=web/node_modules/.relaydesk-build-stamp
  build_state="$(find web -path web/node_modules -prune -o -type f -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$BUILD_STAMP" 2>/dev/null)" != "$build_state" ] \
    || [ ! -f src/relaydesk/server/web_dist/index.html ]; then
    step "npm run build (web)" in_web npm run build
    echo "$build_state" >"$BUILD_STAMP"
  else
    say "web build: up to date"
  fi
else
  say "web: no web/package.json yet; skipped"
fi

# --- The self-contained support client (Linux x86_64) --------------------------------------
# PyInstaller one-file build of the agent into build/support-client/, which the server serves;
# the script keeps the hash of its inputs and rebuilds only when they changed.
step "support client (PyInstaller)" .venv/bin/python scripts/build_support_client.py

say "set-up done"
