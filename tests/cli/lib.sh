# tests/cli/lib.sh - shared helpers for the shell tests. Source it with the
# caseway binary as $1.
set -u
CW_BINARY=${1:?usage: $0 path/to/caseway}
CW_BINARY=$(cd "$(dirname "$CW_BINARY")" && pwd)/$(basename "$CW_BINARY")
T=$(mktemp -d "${TMPDIR:-/tmp}/cwsh.XXXXXX")
DAEMON_PID=
# stop_daemon: end the git daemon serve_git started (by its pid), if any.
stop_daemon() { [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=; }
trap 'stop_daemon; rm -rf "$T"' EXIT
export CASEWAY_PASSPHRASE="correct horse battery staple"
unset CASEWAY_HOME
PASSED=0
FAILED=0
# Fast key derivation for tests only (the limits are stored in each keystore).
FAST="--kdf-memory 8 --kdf-passes 1"

cw() { "$CW_BINARY" "$@"; }

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
bad() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }

# expect CODE DESCRIPTION -- command...: runs it, checks the exit code, keeps
# its stderr in $T/err and stdout in $T/out.
expect() {
  local want=$1 what=$2 got
  shift 3
  "$@" >"$T/out" 2>"$T/err"
  got=$?
  if [ "$got" -eq "$want" ]; then ok "$what"; else
    bad "$what (exit $got, wanted $want)"; sed 's/^/    /' "$T/err" | head -5; fi
}

# The error line must be one line starting with "caseway: ".
one_line_error() {
  if [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^caseway: ' "$T/err"; then ok "$1: one-line error"
  else bad "$1: error is not one line: $(head -c 300 "$T/err")"; fi
}

contains() { if grep -q -- "$2" "$1"; then ok "$3"; else bad "$3 ('$2' not in $1)"; fi; }

# A new node: mknode DIR NAME ROLE
mknode() { cw --home "$1" init --name "$2" --role "$3" $FAST >/dev/null; }

# An agency with a hub at $T/hub and an enrolled node: enrolled DIR NAME ROLE
mkorg() {
  mknode "$T/hub" "Head office" hub && cw --home "$T/hub" org create --name "Acme Medical Travel" $FAST >/dev/null
}
enrolled() {
  mknode "$1" "$2" "$3" &&
  cw --home "$1" whoami --request -o "$1.req" 2>/dev/null &&
  cw --home "$T/hub" org enroll "$1.req" --role "$3" -o "$1.cert" 2>/dev/null &&
  cw --home "$1" org join "$1.cert" >/dev/null
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# serve_git SRV [SECONDS [daemon options...]]: `git daemon` for the bare
# repositories under SRV on 127.0.0.1 (receive-pack on), living at most
# SECONDS (default 300); a few random ports are tried. Sets PORT and
# DAEMON_PID; returns 1 (DAEMON_PID empty) when it would not start.
serve_git() {
  local srv=$1 limit=${2:-300} try
  shift 2 2>/dev/null || shift $#
  for try in 1 2 3 4 5; do
    PORT=$((20000 + RANDOM % 20000))
    timeout "$limit" git daemon --listen=127.0.0.1 --port="$PORT" --base-path="$srv" --export-all \
      --enable=receive-pack --reuseaddr "$@" "$srv" >"$T/daemon.log" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 50); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
      kill -0 "$DAEMON_PID" 2>/dev/null || break
      sleep 0.1
    done
    stop_daemon
  done
  return 1
}

# served_hub SRV: a hub kept as a bare repository, SRV/hub.git, with the
# update hook head office installs (docs/hub-update-hook).
served_hub() {
  mkdir -p "$1" && git init -q --bare "$1/hub.git" &&
    git -C "$1/hub.git" config receive.denyNonFastForwards true &&
    cp "$(dirname "${BASH_SOURCE[0]}")/../../docs/hub-update-hook" "$1/hub.git/hooks/update" &&
    chmod +x "$1/hub.git/hooks/update"
}
