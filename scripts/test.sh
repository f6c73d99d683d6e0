#!/usr/bin/env bash
# Everything CI checks, in one command: set-up, services, linters, type checks, the web app's
# tests and the whole pytest suite. Arguments go to pytest (e.g. scripts/test.sh tests/rig -x).
# Runs every step even when an earlier one failed; exits non-zero if any failed.
#
# Environment: CI=true makes tests that lack PostgreSQL/Redis/Chromium/Xvfb fail, not skip.
#              RELAYDESK_PYTEST_TIMEOUT (seconds, default 1200) caps the pytest run.
#              RELAYDESK_PYTEST_WORKERS (default 3): pytest-xdist workers, one test file each at
#              a time, the costliest files first (tests/fixtures/run_order.py; xdist's own
#              reordering by number of tests would leave the few long system, cluster and browser
#              tests for last); 0 runs everything in this process, e.g. for a debugger.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '==> %s\n' "$*"; }
failures=()

# run_step "name" command...: runs it with its output shown, records a failure.
run_step() {
  local name="$1"; shift
  local started=$SECONDS rc=0
  say "$name"
  "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then
    failures+=("$name (exit $rc)")
    printf '!!! %s failed (exit %d)\n' "$name" "$rc"
  fi
  printf '    %s: %d s\n' "$name" $((SECONDS - started))
  return 0
}

# --- set-up ---------------------------------------------------------------------------
run_step "set-up (scripts/setup.sh)" scripts/setup.sh
if [ ! -x .venv/bin/pytest ]; then
  echo "!!! set-up did not produce .venv/bin/pytest; stopping" >&2
  exit 1
fi

# From here on compiled Python is kept (in __pycache__ folders, gitignored) even where the
# environment asks not to write it (PYTHONDONTWRITEBYTECODE): otherwise every pytest worker,
# server and agent the tests start compiles the project's sources again and pytest rewrites every
# test module again (collecting the tests: 14 s of CPU per process without, 7 s with). In place
# rather than under a PYTHONPYCACHEPREFIX, which would ignore the installed packages' compiled
# files and compile those again too (22 s of CPU for the first collection).
unset PYTHONDONTWRITEBYTECODE

# --- services: PostgreSQL and Redis on 127.0.0.1 -----------------------------------------
if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else SUDO=(); fi

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

postgres_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432
  else
    tcp_open 5432
  fi
}

redis_ready() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]
  else
    tcp_open 6379
  fi
}

wait_for() {  # wait_for SECONDS command...
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

ensure_postgres() {
  if postgres_ready; then
    say "PostgreSQL: running on 127.0.0.1:5432"
  elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] \
    && [ -n "$(ls /etc/postgresql)" ]; then
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    say "PostgreSQL: starting cluster $version/main"
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main start \
      || echo "!!! could not start PostgreSQL $version/main"
    wait_for 30 postgres_ready || echo "!!! PostgreSQL did not become ready on 127.0.0.1:5432"
  else
    say "PostgreSQL: not running, not installed; its tests skip (fail under CI=true)"
    return 0
  fi
  if postgres_ready && command -v psql >/dev/null 2>&1; then
    if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null)" != 1 ]; then
      psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null 2>&1 || true
    fi
  fi
}

ensure_redis() {
  if redis_ready; then
    say "Redis: running on 127.0.0.1:6379"
  elif command -v redis-server >/dev/null 2>&1; then
    local dir=/var/lib/redis logfile=/var/log/redis/ci.log
    if [ "$(id -u)" -ne 0 ]; then
      dir="${TMPDIR:-/tmp}/relaydesk-redis"
      logfile="$dir/ci.log"
    fi
    mkdir -p "$dir" "$(dirname "$logfile")"
    say "Redis: starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
      --appendonly no --dir "$dir" --logfile "$logfile" \
      || echo "!!! could not start redis-server"
    wait_for 15 redis_ready || echo "!!! Redis did not become ready on 127.0.0.1:6379"
  else
    say "Redis: not running, not installed; its tests skip (fail under CI=true)"
  fi
}

ensure_postgres
ensure_redis

# --- static checks and the web app's tests, beside pytest -----------------------------------
# They need neither the services nor the support client and take minutes of CPU (mypy from
# scratch, Vitest, ESLint), while pytest's tests spend much of theirs waiting for processes,
# browsers and containers: they run in the background at a lower priority (nice 10, so that the
# tests' processes come first), each step's output kept and shown, in order, after pytest.
CHECKS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/relaydesk-checks.XXXXXX")"
checks_pid=""
# Interrupted (Ctrl-C, the CI's timeout): the background checks and their processes go too.
stop_tree() {
  local child
  if command -v pgrep >/dev/null 2>&1; then
    for child in $(pgrep -P "$1"); do stop_tree "$child"; done
  fi
  kill "$1" 2>/dev/null || true
}
trap '[ -n "$checks_pid" ] && stop_tree "$checks_pid"; rm -rf "$CHECKS_DIR"' EXIT

# check "name" command...: like run_step, its output into the next numbered file.
check() {
  local name="$1"; shift
  local started=$SECONDS rc=0
  local out
  out="$CHECKS_DIR/$(printf '%02d' "$(find "$CHECKS_DIR" -name '*.log' | wc -l)").log"
  {
    say "$name"
    "$@" </dev/null 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
      printf '!!! %s failed (exit %d)\n' "$name" "$rc"
      printf '%s (exit %d)\n' "$name" "$rc" >>"$CHECKS_DIR/failures"
    fi
    printf '    %s: %d s\n' "$name" $((SECONDS - started))
  } >"$out"
}

static_checks() {
  renice -n 10 -p "$BASHPID" >/dev/null 2>&1 || true
  local lint_paths=()
  for path in src tests bench; do
    [ -d "$path" ] && lint_paths+=("$path")
  done
  check "ruff check" .venv/bin/ruff check "${lint_paths[@]}"
  check "ruff format --check" .venv/bin/ruff format --check "${lint_paths[@]}"
  check "lint-imports (layering contracts)" .venv/bin/lint-imports
  check "mypy src" .venv/bin/mypy src
  if [ -f web/package.json ]; then
    # stdin from /dev/null (check does it): Vitest would otherwise start in watch mode.
    check "npm test (web)" bash -c 'cd web && npm test'
    check "npm run lint (web: ESLint)" bash -c 'cd web && npm run lint'
    check "npm run check:api (web)" bash -c 'cd web && npm run check:api'
    check "npm run check:events (web)" bash -c 'cd web && npm run check:events'
  else
    check "web: no web/package.json; web checks skipped" true
  fi
}

say "static checks and web tests: in the background, shown after pytest"
static_checks &
checks_pid=$!

# --- pytest -------------------------------------------------------------------------------
run_pytest() {
  local rc=0
  timeout -s INT -k 60 "${RELAYDESK_PYTEST_TIMEOUT:-1200}" \
    .venv/bin/pytest -ra --durations=15 \
      -n "${RELAYDESK_PYTEST_WORKERS:-3}" --dist loadfile --no-loadscope-reorder "$@" || rc=$?
  case "$rc" in
    5) echo "!!! pytest collected no tests" ;;
    124) echo "!!! pytest ran past ${RELAYDESK_PYTEST_TIMEOUT:-1200} s and was interrupted" ;;
  esac
  return "$rc"
}
run_step "pytest" run_pytest "$@"

# --- the static checks' output ---------------------------------------------------------------
started=$SECONDS
wait "$checks_pid"
checks_pid=""
printf '    (waited %d s for the static checks after pytest)\n' $((SECONDS - started))
for out in "$CHECKS_DIR"/*.log; do
  [ -f "$out" ] && cat "$out"
done
if [ -f "$CHECKS_DIR/failures" ]; then
  while IFS= read -r failed; do failures+=("$failed"); done <"$CHECKS_DIR/failures"
fi

# --- summary ------------------------------------------------------------------------------
echo
if [ "${#failures[@]}" -gt 0 ]; then
  printf '!!! FAILED after %d s:\n' "$SECONDS"
  printf '      %s\n' "${failures[@]}"
  exit 1
fi
printf '==> all checks passed in %d s\n' "$SECONDS"
