#!/usr/bin/env bash
# kill -9 at random moments of `sync push` to a hub repository: after every
# kill the node still verifies, the hub repository passes `git fsck`, its
# chains are either the old heads or the node's (never something between),
# and the next push completes so that the hub holds every change the node
# reported written.
. "$(dirname "$0")/lib.sh"
KILLS=${CW_PUSH_CRASH_KILLS:-12}
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

mkorg && enrolled "$T/anna" anna coordinator || bad "agency made"
git init -q --bare "$T/hub.git"
ids=()
for c in 1 2 3 4 5 6 7 8; do
  ids+=("$(cw --home "$T/anna" --json case new --patient "Push Patient $c" | grep -o '[0-9a-f]\{32\}')")
done
expect 0 "a first calm push" -- cw --home "$T/anna" -q sync push "$T/hub.git"

heads() { git --git-dir="$1" for-each-ref --format='%(refname) %(objectname)' 'refs/cw/case/' | sort; }
killed=0 locks=0
for i in $(seq 1 "$KILLS"); do
  # new work since the last push: a few notes on a few cases
  for j in 1 2 3; do
    cw --home "$T/anna" -q note add "${ids[$(( (i + j) % 8 ))]}" "push round $i note $j" || bad "note $i.$j"
  done
  before=$(heads "$T/hub.git")
  setsid "$CW_BINARY" --home "$T/anna" -q sync push "$T/hub.git" >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '0.%03d' $((RANDOM % 250)))"
  kill -9 -- "-$pid" 2>/dev/null && killed=$((killed + 1))
  wait "$pid" 2>/dev/null
  if ! cw --home "$T/anna" verify >"$T/v" 2>&1; then bad "after kill $i: the node's verify failed: $(tail -1 "$T/v")"; continue; fi
  if ! git --git-dir="$T/hub.git" fsck --strict >"$T/f" 2>&1; then bad "after kill $i: hub fsck: $(head -2 "$T/f")"; continue; fi
  # A push killed while it held a ref lock in a hub on a path leaves the
  # lock behind (as stock git does); the next push names it, and whoever
  # looks after the hub removes it (USER-GUIDE). Check the message, then do that.
  if [ -n "$(find "$T/hub.git/refs" -name '*.lock' | head -1)" ]; then
    locks=$((locks + 1))
    "$CW_BINARY" --home "$T/anna" -q sync push "$T/hub.git" >/dev/null 2>"$T/o"
    grep -q "remove that file" "$T/o" || bad "after kill $i: a stale lock on the hub is not named: $(tail -1 "$T/o")"
    find "$T/hub.git/refs" -name '*.lock' -delete
  fi
  # every hub head is the one before or the node's own
  mine=$(heads "$T/anna/log.git")
  while read -r ref oid; do
    [ -z "$ref" ] && continue
    if ! grep -qx "$ref $oid" <<<"$before" && ! grep -qx "$ref $oid" <<<"$mine"; then
      bad "after kill $i: hub ref $ref at $oid, neither old nor the node's"
    fi
  done <<<"$(heads "$T/hub.git")"
  if ! cw --home "$T/anna" -q sync push "$T/hub.git" >"$T/o" 2>&1; then bad "after kill $i: push again failed: $(tail -1 "$T/o")"; continue; fi
  [ "$(heads "$T/hub.git")" = "$(heads "$T/anna/log.git")" ] || bad "after kill $i: the hub does not hold the node's chains after a calm push"
done
ok "$KILLS pushes interrupted at random ($killed killed while running, $locks left a lock on the hub, named by the next push): verify, fsck and re-push held"

# Everything reported written reaches a fresh node pulling from the hub.
expect 0 "a hub node pulls everything" -- cw --home "$T/hub" -q sync pull "$T/hub.git"
n=$(cw --home "$T/hub" --json log 2>/dev/null | grep -c '"push round')
[ "$n" -eq $((KILLS * 3)) ] && ok "all $n notes written during the kills are at the hub" || bad "the hub has $n of $((KILLS * 3)) notes"
finish
