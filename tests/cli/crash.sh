#!/usr/bin/env bash
# kill -9 at random moments of local writes: after every kill the node opens,
# `verify --rebuild` passes (signatures, chains, every page, state equal to the
# log), and every change the command reported done is there.
. "$(dirname "$0")/lib.sh"
KILLS=${CW_CRASH_KILLS:-40}
H="$T/ana"
mknode "$H" "Ana" coordinator
CASE=$(cw --home "$H" -q case new --patient "Crash Test")
done_count=0
for i in $(seq 1 "$KILLS"); do
  # a burst of writes in its own process group; each success is recorded after it returns
  setsid bash -c '
    for j in 1 2 3 4 5 6; do
      if "$0" --home "$1" -q note add "$2" "note $3.$j" >/dev/null 2>&1; then echo "note $3.$j" >>"$4"; fi
    done' "$CW_BINARY" "$H" "$CASE" "$i" "$T/done" &
  pid=$!
  sleep "0.$(( RANDOM % 40 ))"
  kill -9 -- "-$pid" 2>/dev/null   # the whole group: the shell and the caseway it runs
  wait "$pid" 2>/dev/null
  if ! cw --home "$H" verify --rebuild >"$T/v" 2>&1; then bad "after kill $i: verify failed: $(tail -1 "$T/v")"; continue; fi
done
cw --home "$H" --json case show "$CASE" >"$T/show"
missing=0
while read -r n; do grep -q "\"$n\"" "$T/show" || missing=$((missing + 1)); done <"$T/done"
done_count=$(wc -l <"$T/done")
[ "$missing" -eq 0 ] && ok "all $done_count reported notes survived $KILLS kills" || bad "$missing of $done_count reported notes lost"
expect 0 "final verify" -- cw --home "$H" verify --rebuild
finish
