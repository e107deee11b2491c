#!/usr/bin/env bash
# kill -9 at random moments of `sync import`: after every kill the hub opens,
# `verify` passes (store pages, signed changes, the git chains), and the same
# bundle then imports to exactly the state a calm import gives.
. "$(dirname "$0")/lib.sh"
KILLS=${CW_SYNC_CRASH_KILLS:-15}
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

mkorg && enrolled "$T/anna" anna coordinator || bad "agency made"
cw --home "$T/hub" whoami --cert -o "$T/hub.crt" 2>/dev/null
cw --home "$T/anna" whoami --cert -o "$T/anna.crt" 2>/dev/null
cw --home "$T/hub" -q peer add anna --cert "$T/anna.crt"
cw --home "$T/anna" -q peer add hub --cert "$T/hub.crt"
for c in 1 2 3 4 5 6; do
  id=$(cw --home "$T/anna" --json case new --patient "Crash Patient $c" | grep -o '[0-9a-f]\{32\}')
  for j in 1 2 3 4 5 6 7 8; do cw --home "$T/anna" -q note add "$id" "visit $j of patient $c" >/dev/null; done
done
expect 0 "anna exports to the hub" -- cw --home "$T/anna" -q sync export --to hub -o "$T/b.bundle"

# The state a calm import gives.
cp -a "$T/hub" "$T/calm"
expect 0 "a calm import" -- cw --home "$T/calm" -q sync import "$T/b.bundle"
state() { cw --home "$1" --json case list 2>/dev/null | sha256sum; cw --home "$1" --json log 2>/dev/null | sha256sum; }
want=$(state "$T/calm")

killed=0
for i in $(seq 1 "$KILLS"); do
  rm -rf "$T/h"
  cp -a "$T/hub" "$T/h"
  setsid "$CW_BINARY" --home "$T/h" -q sync import "$T/b.bundle" >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '0.%03d' $((RANDOM % 150)))"
  kill -9 -- "-$pid" 2>/dev/null && killed=$((killed + 1))
  wait "$pid" 2>/dev/null
  if ! cw --home "$T/h" verify >"$T/v" 2>&1; then bad "after kill $i: verify failed: $(tail -1 "$T/v")"; continue; fi
  if [ -d "$T/h/log.git" ] && ! git --git-dir="$T/h/log.git" fsck --strict >"$T/f" 2>&1; then bad "after kill $i: git fsck: $(head -2 "$T/f")"; continue; fi
  if ! cw --home "$T/h" -q sync import "$T/b.bundle" >"$T/o" 2>&1; then bad "after kill $i: import again failed: $(tail -1 "$T/o")"; continue; fi
  [ "$(state "$T/h")" = "$want" ] || bad "after kill $i: state differs from a calm import"
done
ok "$KILLS imports interrupted at random ($killed killed while running): verify, fsck and re-import held"
finish
