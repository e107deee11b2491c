#!/usr/bin/env bash
# tests/proof/concurrency.sh - proof under load (issue 7): N coordinators of
# one agency edit at random and sync at random moments, all at once, through
# ONE hub: a bare repository served by `git daemon` on 127.0.0.1 (receive-pack
# enabled, an update hook refusing rewrites). Each coordinator shares every
# case it opens with all the others, so every node is a member of every case.
# After the timed run, a few quiet rounds of sync; then every node (and the
# head-office node) must show the same digest for every case, every case
# opened must be on every node, and every note a node reported written
# (exit 0) must be on every node. A lost op or a digest mismatch fails.
#
# Usage: bash tests/proof/concurrency.sh path/to/caseway [long]
#   short (CI):  6 nodes, 12 s of random work
#   long:        20 nodes, 60 s  ("long" argument or CW_PROOF_LONG=1)
#   CW_PROOF_NODES, CW_PROOF_SECONDS override; CW_PROOF_BG_SYNC=0 keeps a
#   node's own syncs from overlapping its edits; CW_PROOF_SEED fixes the
#   random choices (the timing still varies); CW_PROOF_SABOTAGE=1 adds one
#   note after the last sync, which the test must then report as lost.
. "$(dirname "$0")/../cli/lib.sh" "$1"

if [ "${2:-}" = long ] || [ "${CW_PROOF_LONG:-0}" = 1 ]; then
  N=${CW_PROOF_NODES:-20} SECS=${CW_PROOF_SECONDS:-60} MODE=long
else
  N=${CW_PROOF_NODES:-6} SECS=${CW_PROOF_SECONDS:-12} MODE=short
fi
SEED=${CW_PROOF_SEED:-$$}
QUIET_ROUNDS=3 # the most rounds expected to bring news (then +2 to show they stopped)
CALL_LIMIT=180 # seconds any one caseway call may take before it counts as hung

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
WORKERS=""
stop_workers() { local p; for p in $WORKERS; do kill "$p" 2>/dev/null; done; WORKERS=""; }
trap 'stop_workers; stop_daemon; rm -rf "$T"' EXIT
trap 'exit 143' TERM INT # so that the EXIT trap cleans up

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
echo "# concurrency proof ($MODE): $N coordinators, $SECS s of random work, seed $SEED"
t_setup=$(date +%s.%N)

# ---- the hub: a bare repository served by git daemon on loopback --------------------
mkdir -p "$T/w"
served_hub "$T/srv" || bad "served hub made"

# The daemon lives at most as long as the whole test may.
DAEMON_LIMIT=$((SECS + 900))
serve_git "$T/srv" "$DAEMON_LIMIT" --max-connections=64
if [ -n "$DAEMON_PID" ]; then ok "git daemon serves the hub on 127.0.0.1:$PORT (pid $DAEMON_PID)"; else
  bad "git daemon did not start"; finish; exit 1; fi
URL="git://127.0.0.1:$PORT/hub.git"

# ---- the agency: head office and N coordinators --------------------------------------
mkorg || bad "agency made"
NODES=""
for i in $(seq 1 "$N"); do NODES="$NODES c$i"; done
for n in $NODES; do enrolled "$T/$n" "$n" coordinator || bad "$n enrolled"; done
for n in hub $NODES; do cw --home "$T/$n" whoami --cert -o "$T/$n.crt" 2>/dev/null || bad "$n whoami --cert"; done
# Each node knows the hub (with its address) and every other coordinator (to
# share with); the head-office node knows everyone. In parallel, per node.
SETUP_PIDS=""
for n in $NODES; do
  (
    cw --home "$T/$n" -q peer add hub --cert "$T/hub.crt" --url "$URL" || echo "$n: peer hub" >>"$T/setup.err"
    for m in $NODES; do
      [ "$m" = "$n" ] && continue
      cw --home "$T/$n" -q peer add "$m" --cert "$T/$m.crt" || echo "$n: peer $m" >>"$T/setup.err"
    done
  ) &
  SETUP_PIDS="$SETUP_PIDS $!"
done
for n in $NODES; do cw --home "$T/hub" -q peer add "$n" --cert "$T/$n.crt" || echo "hub: peer $n" >>"$T/setup.err"; done
for p in $SETUP_PIDS; do wait "$p"; done
if [ -s "$T/setup.err" ]; then bad "peers added: $(head -3 "$T/setup.err")"; else ok "peers added ($N coordinators, each knows the hub and the $((N - 1)) others)"; fi
t_run=$(date +%s.%N)
echo "# setup: $(elapsed "$t_setup" "$t_run") s"

# ---- the workers ----------------------------------------------------------------------
# worker NODE INDEX DEADLINE: random edits and syncs until DEADLINE (epoch s).
# Files in $T/w: NODE.cases (cases it opened), NODE.notes ("CASE MARKER" per
# note reported written), NODE.ops ("KIND RC" per command), NODE.sync (the
# --json reports of its syncs), NODE.err (stderr of every failed command).
worker() {
  local me=$1 idx=$2 deadline=$3 k=0 r rc c m f v others bgpid="" bgk=0
  local W="$T/w/$me"
  RANDOM=$((SEED + idx * 7919))
  others=""
  for m in $NODES; do [ "$m" != "$me" ] && others="$others $m"; done
  : >"$W.cases"; : >"$W.notes"; : >"$W.ops"; : >"$W.sync"; : >"$W.err"; : >"$W.known"
  run() { # run KIND command... : runs one caseway command, logs its exit code
    local kind=$1 rc
    shift
    timeout "$CALL_LIMIT" "$CW_BINARY" --home "$T/$me" "$@" >"$W.out" 2>"$W.e"
    rc=$?
    echo "$kind $rc" >>"$W.ops"
    [ "$rc" -ne 0 ] && sed "s/^/$me $kind rc=$rc: /" "$W.e" >>"$W.err"
    return $rc
  }
  refresh_known() {
    timeout "$CALL_LIMIT" "$CW_BINARY" --home "$T/$me" --json case list 2>/dev/null |
      grep -o '"id":[[:space:]]*"[0-9a-f]\{32\}"' | grep -o '[0-9a-f]\{32\}' >"$W.known.tmp"
    mv "$W.known.tmp" "$W.known"
  }
  pick_case() { # a random case this node holds
    local n
    n=$(wc -l <"$W.known")
    [ "$n" -eq 0 ] && return 1
    sed -n "$((RANDOM % n + 1))p" "$W.known"
  }
  finish_bg() { # wait for a background sync and log it
    [ -z "$bgpid" ] && return
    wait "$bgpid"
    rc=$?
    echo "sync $rc" >>"$W.ops"
    cat "$W.bg.out" >>"$W.sync"
    [ "$rc" -ne 0 ] && sed "s/^/$me sync(bg) rc=$rc: /" "$W.bg.e" >>"$W.err"
    bgpid=""
    refresh_known
  }
  while [ "$(date +%s)" -lt "$deadline" ]; do
    k=$((k + 1))
    r=$((RANDOM % 100))
    if [ "$r" -lt 2 ] || [ ! -s "$W.known" ]; then
      # a new case, shared with every other coordinator
      if run new --json case new --patient "Patient-$me-$k" --procedure "Procedure $k"; then
        c=$(grep -o '[0-9a-f]\{32\}' "$W.out" | head -1)
        echo "$c" >>"$W.cases"
        echo "$c" >>"$W.known"
        for m in $others; do run share share "$c" --with "$m"; done
      fi
    elif [ "$r" -lt 29 ]; then
      c=$(pick_case) || continue
      f=$(echo diet allergies culture languages religion | cut -d' ' -f$((RANDOM % 5 + 1)))
      v="v$RANDOM-$me"
      run set case set "$c" "$f=$v"
    elif [ "$r" -lt 59 ]; then
      c=$(pick_case) || continue
      m="Note-$me-$k-$RANDOM"
      if run note note add "$c" "$m: called the patient about the transfer"; then
        echo "$c $m" >>"$W.notes"
      fi
    elif [ "$r" -lt 65 ]; then
      c=$(pick_case) || continue
      run cost cost add "$c" --estimate $((RANDOM % 5000 + 100)) EUR --label "Quote $k"
    elif [ "$r" -lt 70 ]; then
      c=$(pick_case) || continue
      run task task add "$c" "Call back $me $k"
    elif [ "$r" -lt 85 ] || [ "${CW_PROOF_BG_SYNC:-1}" = 0 ]; then
      # sync in the foreground
      finish_bg
      run sync --json sync "$URL" && cat "$W.out" >>"$W.sync"
      refresh_known
    else
      # sync in the background while this node goes on editing
      finish_bg
      bgk=$((bgk + 1))
      timeout "$CALL_LIMIT" "$CW_BINARY" --home "$T/$me" --json sync "$URL" >"$W.bg.out" 2>"$W.bg.e" &
      bgpid=$!
    fi
    sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
  done
  finish_bg
}

deadline=$(($(date +%s) + SECS))
idx=0
for n in $NODES; do
  idx=$((idx + 1))
  worker "$n" "$idx" "$deadline" &
  WORKERS="$WORKERS $!"
done
for p in $WORKERS; do wait "$p"; done
WORKERS=""
t_quiet=$(date +%s.%N)
echo "# random phase: $(elapsed "$t_run" "$t_quiet") s"

# ---- figures of the random phase -----------------------------------------------------
cat "$T"/w/*.ops >"$T/all.ops"
count() { awk -v k="$1" -v w="$2" '$1 == k && (w == "all" || (w == "ok" && $2 == 0) || (w == "fail" && $2 != 0))' "$T/all.ops" | wc -l; }
for kind in new share set note cost task sync; do
  echo "# $kind: $(count "$kind" ok) ok, $(count "$kind" fail) failed"
done
writes_ok=$(awk '$1 != "sync" && $2 == 0' "$T/all.ops" | wc -l)
writes_fail=$(awk '$1 != "sync" && $2 != 0' "$T/all.ops" | wc -l)
syncs_ok=$(count sync ok)
syncs_fail=$(count sync fail)
retries=$(cat "$T"/w/*.sync | grep -o '"retries":[[:space:]]*[0-9]*' | grep -o '[0-9]*$' | awk '{s += $1} END {print s + 0}')
received=$(cat "$T"/w/*.sync | grep -o '"ops_received":[[:space:]]*[0-9]*' | grep -o '[0-9]*$' | awk '{s += $1} END {print s + 0}')
hung=$(awk '$2 == 124' "$T/all.ops" | wc -l)
cat "$T"/w/*.err >"$T/all.err"
echo "# ops written: $writes_ok (failed: $writes_fail); syncs: $syncs_ok ok, $syncs_fail failed; push retries: $retries; changes received by syncs: $received"
if [ -s "$T/all.err" ]; then
  echo "# failures, by message:"
  sed 's/^c[0-9]* //; s/[0-9a-f]\{16,\}/<id>/g' "$T/all.err" | sort | uniq -c | sort -rn | head -10 | sed 's/^/#   /'
fi
[ "$writes_ok" -gt 0 ] && [ "$syncs_ok" -gt 0 ] && ok "random phase: $writes_ok writes and $syncs_ok syncs" ||
  bad "random phase did little: $writes_ok writes, $syncs_ok syncs"
# A local write never depends on the network: none may fail.
[ "$writes_fail" -eq 0 ] && ok "no local write failed" || bad "$writes_fail local writes failed"
[ "$hung" -eq 0 ] && ok "no command hung ($CALL_LIMIT s limit)" || bad "$hung commands hung"
# A sync may give up when the hub keeps changing (exit 1, "try again"), never refuse (exit 4).
v=$(awk '$1 == "sync" && $2 != 0 && $2 != 1' "$T/all.ops" | wc -l)
[ "$v" -eq 0 ] && ok "no sync ended with a code other than 0 or 1" || bad "$v syncs ended with codes other than 0 or 1"
if [ -s "$T/srv/hub.git/refused" ]; then bad "the hub refused $(wc -l <"$T/srv/hub.git/refused") rewrites"; else ok "the hub saw no rewrite"; fi

# ---- quiet rounds: every node syncs, one after the other, until a whole round
# brings nothing new (at least 2 rounds, at most QUIET_ROUNDS + 2) ------------------------
qfail=0 round=0 t_settled=$(date +%s.%N) rounds_with_news=0
while [ "$round" -lt $((QUIET_ROUNDS + 2)) ]; do
  round=$((round + 1)) news=0
  for n in $NODES hub; do
    if timeout "$CALL_LIMIT" "$CW_BINARY" --home "$T/$n" --json sync "$URL" >"$T/q.out" 2>"$T/q.err"; then
      got=$(grep -o '"ops_received":[[:space:]]*[0-9]*' "$T/q.out" | grep -o '[0-9]*$')
      news=$((news + ${got:-0}))
    else
      qfail=$((qfail + 1)); echo "#   quiet round $round, $n: $(head -c 200 "$T/q.err")"
    fi
  done
  echo "#   quiet round $round: $news changes received"
  if [ "$news" -gt 0 ]; then rounds_with_news=$round; t_settled=$(date +%s.%N); fi
  [ "$news" -eq 0 ] && [ "$round" -ge 2 ] && [ "$qfail" -eq 0 ] && break
done
[ "$qfail" -eq 0 ] && [ "$news" -eq 0 ] && ok "quiet rounds: $round rounds of sync on $((N + 1)) nodes, the last brought nothing" ||
  bad "quiet rounds: $qfail syncs failed, the last round still brought $news changes"

if [ "${CW_PROOF_SABOTAGE:-0}" = 1 ]; then
  c=$(head -1 "$T/w/c1.cases")
  cw --home "$T/c1" -q note add "$c" "Sabotage-note-never-synced" && echo "$c Sabotage-note-never-synced" >>"$T/w/c1.notes"
  echo "# sabotage: c1 wrote a note after the last sync"
fi
t_check=$(date +%s.%N)
converge=$(elapsed "$t_quiet" "$t_settled")
echo "# convergence: the last change arrived $converge s into the quiet rounds (round $rounds_with_news); the rounds took $(elapsed "$t_quiet" "$t_check") s"

# ---- the checks ---------------------------------------------------------------------
cat "$T"/w/*.cases | sort -u >"$T/cases"
ncases=$(wc -l <"$T/cases")
cat "$T"/w/*.notes >"$T/notes"
nnotes=$(wc -l <"$T/notes")
mkdir -p "$T/show"
missing_cases=0 mismatch=0 lost=0 lost_list=""
for n in hub $NODES; do
  cw --home "$T/$n" --json case list 2>/dev/null | grep -o '[0-9a-f]\{32\}' | sort -u >"$T/list.$n"
  miss=$(comm -23 "$T/cases" "$T/list.$n" | wc -l)
  [ "$miss" -gt 0 ] && { missing_cases=$((missing_cases + miss)); echo "#   $n lacks $miss of the $ncases cases"; }
  mkdir -p "$T/show/$n"
  while read -r c; do
    cw --home "$T/$n" --json case show "$c" >"$T/show/$n/$c" 2>/dev/null
  done <"$T/cases"
done
while read -r c; do
  d0=$(grep '"digest"' "$T/show/hub/$c" | grep -o '[0-9a-f]\{64\}')
  for n in $NODES; do
    d=$(grep '"digest"' "$T/show/$n/$c" | grep -o '[0-9a-f]\{64\}')
    if [ -z "$d0" ] || [ "$d" != "$d0" ]; then
      mismatch=$((mismatch + 1)); echo "#   case $c: $n has digest '${d:-none}', the hub '${d0:-none}'"
    fi
  done
done <"$T/cases"
while read -r c m; do
  for n in hub $NODES; do
    if ! grep -q -F "$m" "$T/show/$n/$c" 2>/dev/null; then
      lost=$((lost + 1)); [ "$lost" -le 10 ] && echo "#   note $m of case $c is not on $n"
    fi
  done
done <"$T/notes"
[ "$ncases" -gt 0 ] && [ "$missing_cases" -eq 0 ] && ok "all $ncases cases are on all $((N + 1)) nodes" ||
  bad "cases missing: $missing_cases (of $ncases x $((N + 1)))"
[ "$mismatch" -eq 0 ] && ok "every node shows the hub's digest for every case ($ncases cases x $N nodes)" ||
  bad "$mismatch digest mismatches"
[ "$nnotes" -gt 0 ] && [ "$lost" -eq 0 ] && ok "no op lost: all $nnotes notes reported written are on all $((N + 1)) nodes" ||
  bad "notes lost: $lost (of $nnotes notes x $((N + 1)) nodes)"
for n in hub $NODES; do cw --home "$T/$n" --json conflicts >"$T/conf.$n" 2>/dev/null; done
cdiff=0
for n in $NODES; do cmp -s "$T/conf.hub" "$T/conf.$n" || cdiff=$((cdiff + 1)); done
nconf=$(grep -c '"field"' "$T/conf.hub")
[ "$cdiff" -eq 0 ] && ok "the same $nconf conflicts on every node" || bad "$cdiff nodes list other conflicts than the hub"
for n in hub c1 "c$N"; do
  expect 0 "verify on $n" -- cw --home "$T/$n" verify
done
git --git-dir="$T/srv/hub.git" fsck --strict >"$T/fsck" 2>&1 && ok "served hub: git fsck --strict clean" ||
  bad "served hub: fsck: $(head -3 "$T/fsck")"

t_end=$(date +%s.%N)
refs=$(git --git-dir="$T/srv/hub.git" for-each-ref | wc -l)
hubkb=$(du -sk "$T/srv/hub.git" | cut -f1)
echo "# figures ($MODE): nodes=$N seconds=$SECS writes=$writes_ok notes=$nnotes cases=$ncases conflicts=$nconf" \
  "syncs=$syncs_ok sync_failures=$syncs_fail retries=$retries changes_received=$received" \
  "convergence_s=$converge check_s=$(elapsed "$t_check" "$t_end") hub_refs=$refs hub_kb=$hubkb" \
  "total_s=$(elapsed "$t_setup" "$t_end")"
stop_daemon
finish
