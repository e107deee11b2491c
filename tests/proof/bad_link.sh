#!/usr/bin/env bash
# tests/proof/bad_link.sh - proof over a bad link (issue 7): two network
# namespaces joined by a veth pair shaped to 64 kbit/s, 300 ms delay and 5 %
# loss each way. The hub (a bare repository served by `git daemon`) lives in
# one namespace, the coordinator's caseway runs in the other.
#   1. A day's work (edits and five documents) syncs through the hub across the link.
#   2. A second day's work: the link is cut in the middle of the push, the
#      stalled sync is stopped, the link comes back, the sync is retried;
#      the hub must converge, and what was re-sent is reported.
#   3. A split export (`sync export --max-bytes`) travels piece by piece over
#      the link; the link is cut in the middle of a piece; the pieces that
#      arrived import on their own; the retry sends only the piece cut in
#      flight and the rest; the hub converges.
# The machine's kernel may lack netem (CONFIG_NET_SCH_NETEM): then the rate
# is shaped by htb, the 5 % loss by a classic-BPF random classifier feeding a
# class that drops everything, and the 300 ms one-way delay by a TCP delay
# line (linktool.py relay) in the hub's namespace; the test says so.
# Skips (exit 0, "skip: ...") where network namespaces cannot be made.
#
# Usage: bash tests/proof/bad_link.sh path/to/caseway [long]
#   short (CI): 30 edits and five 50 KB documents a day
#   long:       200 edits and five 500 KB documents a day ("long" or CW_PROOF_LONG=1)
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n -E bash "$0" "$@"
  fi
  echo "skip: cannot create network namespaces here: not root and no password-less sudo"
  exit 0
fi
. "$here/../cli/lib.sh" "$1"

if [ "${2:-}" = long ] || [ "${CW_PROOF_LONG:-0}" = 1 ]; then
  EDITS=200 DOC_KB=500 MODE=long PIECE=20000 STEP_LIMIT=900 STALL=10
else
  EDITS=30 DOC_KB=50 MODE=short PIECE=10000 STEP_LIMIT=240 STALL=8
fi
# A cut that the machine's speed made miss its moment (the transfer ended
# first) says nothing about caseway: a failure in the long run, where the
# timing is generous; a note in the short one, which shares a loaded CI box.
missed_timing() {
  if [ "$MODE" = long ]; then bad "$*"; else echo "# note (timing, not a caseway failure): $*"; fi
}
DOCS=5
RATE=64kbit DELAY_MS=300 LOSS=5
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export LINKTOOL_TIMEOUT=$((STALL + 1))
T_START=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
now() { date +%s.%N; }

NSH=cwh$$ NSC=cwc$$ VH=cwvh$$ VC=cwvc$$
NET=10.$((100 + $$ % 100)).$((($$ / 100) % 250))
HUBIP=$NET.1 COIP=$NET.2
PIDS=""
cleanup() {
  local p
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  for p in $PIDS; do wait "$p" 2>/dev/null; done
  ip netns del "$NSC" 2>/dev/null
  ip netns del "$NSH" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM INT # so that the EXIT trap cleans up
skip() { echo "skip: cannot create network namespaces here: $*"; exit 0; }

if ! command -v ip >/dev/null 2>&1 || ! command -v tc >/dev/null 2>&1; then
  apt-get install -y iproute2 >/dev/null 2>&1
  command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1 || skip "ip and tc (iproute2) are missing and could not be installed"
fi
if ! command -v python3 >/dev/null 2>&1; then echo "skip: python3 is needed for tests/proof/linktool.py"; exit 0; fi
ip netns add "$NSH" 2>"$T/ns.err" || skip "$(head -1 "$T/ns.err")"
ip netns add "$NSC" 2>"$T/ns.err" || skip "$(head -1 "$T/ns.err")"
ip link add "$VH" type veth peer name "$VC" 2>"$T/ns.err" || skip "veth: $(head -1 "$T/ns.err")"
ip link set "$VH" netns "$NSH" && ip link set "$VC" netns "$NSC" || skip "cannot move the veth ends into the namespaces"
ip -n "$NSH" addr add "$HUBIP/30" dev "$VH" && ip -n "$NSC" addr add "$COIP/30" dev "$VC" || skip "cannot address the veth pair"
for ns in "$NSH" "$NSC"; do ip -n "$ns" link set lo up; done
# One wire packet per segment (no 64 KB GSO bursts), so the shaping and the loss act per packet.
ip -n "$NSH" link set "$VH" gso_max_segs 1 gso_max_size 1500 2>/dev/null &&
  ip -n "$NSC" link set "$VC" gso_max_segs 1 gso_max_size 1500 2>/dev/null || echo "# (could not turn off GSO on the veth pair)"
ip -n "$NSH" link set "$VH" up && ip -n "$NSC" link set "$VC" up || skip "cannot bring the veth pair up"
ok "namespaces $NSH (hub, $HUBIP) and $NSC (coordinator, $COIP) joined by a veth pair"

# ---- shaping: netem where the kernel has it ---------------------------------------
# Classic BPF: A = random u32; 5 % of packets (A < 2^32/20) match (class 1:2).
LOSS_BPF="4,32 0 0 4294963256,53 1 0 214748365,6 0 0 4294967295,6 0 0 0"
shape() { # shape NS DEV
  if [ "$SHAPER" = netem ]; then
    ip netns exec "$1" tc qdisc add dev "$2" root netem rate $RATE delay ${DELAY_MS}ms loss ${LOSS}% limit 100000
  else
    ip netns exec "$1" tc qdisc add dev "$2" root handle 1: htb default 1 &&
      ip netns exec "$1" tc class add dev "$2" parent 1: classid 1:1 htb rate $RATE ceil $RATE &&
      ip netns exec "$1" tc class add dev "$2" parent 1: classid 1:2 htb rate $RATE ceil $RATE &&
      ip netns exec "$1" tc qdisc add dev "$2" parent 1:2 handle 20: pfifo limit 0 &&
      ip netns exec "$1" tc filter add dev "$2" parent 1: bpf bytecode "$LOSS_BPF" classid 1:2
  fi
}
if ip netns exec "$NSH" tc qdisc add dev "$VH" root netem delay 1ms 2>"$T/tc.err"; then
  ip netns exec "$NSH" tc qdisc del dev "$VH" root
  SHAPER=netem
else
  SHAPER=fallback
  echo "# netem is not available here ($(head -1 "$T/tc.err")$(zcat /proc/config.gz 2>/dev/null | grep -o '# CONFIG_NET_SCH_NETEM is not set' | sed 's/^/; /'))"
  echo "# fallback: htb rate $RATE, a BPF classifier dropping $LOSS % of packets, a ${DELAY_MS} ms TCP delay line per direction"
fi
if shape "$NSH" "$VH" 2>"$T/tc.err" && shape "$NSC" "$VC" 2>>"$T/tc.err"; then
  ok "link shaped ($SHAPER): $RATE, ${DELAY_MS} ms, $LOSS % loss, each way"
else
  skip "cannot shape the veth link: $(head -1 "$T/tc.err")"
fi
link_bytes() { # bytes that crossed the link, both ways, seen from the coordinator's end
  ip netns exec "$NSC" sh -c "echo \$((\$(cat /sys/class/net/$VC/statistics/tx_bytes) + \$(cat /sys/class/net/$VC/statistics/rx_bytes)))"
}
tx_bytes() { ip netns exec "$NSC" cat "/sys/class/net/$VC/statistics/tx_bytes"; }
drops() { # packets dropped by the loss stage on both ends
  local ns dev
  for ns_dev in "$NSH:$VH" "$NSC:$VC"; do
    ns=${ns_dev%%:*} dev=${ns_dev#*:}
    if [ "$SHAPER" = netem ]; then ip netns exec "$ns" tc -s qdisc show dev "$dev" | grep -o 'dropped [0-9]*' | head -1
    else ip netns exec "$ns" tc -s class show dev "$dev" classid 1:2 | grep -o 'dropped [0-9]*' | head -1; fi
  done | awk '{s += $2} END {print s + 0}'
}
packets() { ip netns exec "$NSC" sh -c "echo \$((\$(cat /sys/class/net/$VC/statistics/tx_packets) + \$(cat /sys/class/net/$VC/statistics/rx_packets)))"; }

# ---- the hub in its namespace --------------------------------------------------------
mkdir -p "$T/srv" "$T/pieces-in"
git init -q --bare "$T/srv/hub.git"
git -C "$T/srv/hub.git" config receive.denyNonFastForwards true
git -C "$T/srv/hub.git" config receive.denyDeletes true
DPORT=9418 SPORT=9419 RPORT=9420 RSPORT=9421 # inside the hub's own namespace: nothing else listens there
ip netns exec "$NSH" timeout $((STEP_LIMIT * 4)) git daemon --listen=127.0.0.1 --listen="$HUBIP" --port=$DPORT \
  --base-path="$T/srv" --export-all --enable=receive-pack --reuseaddr "$T/srv" >"$T/daemon.log" 2>&1 &
PIDS="$PIDS $!"
DAEMON_PID=$!
ip netns exec "$NSH" timeout $((STEP_LIMIT * 4)) python3 "$here/linktool.py" serve "$T/pieces-in" 127.0.0.1 $SPORT >"$T/serve.log" 2>&1 &
PIDS="$PIDS $!"
if [ "$SHAPER" = netem ]; then
  URL="git://$HUBIP:$DPORT/hub.git" PIECE_HOST=$HUBIP PIECE_PORT=$SPORT
  ip netns exec "$NSH" timeout $((STEP_LIMIT * 4)) python3 "$here/linktool.py" relay 0 "$HUBIP:$SPORT=127.0.0.1:$SPORT" >"$T/relay.log" 2>&1 &
  PIDS="$PIDS $!"
else
  URL="git://$HUBIP:$RPORT/hub.git" PIECE_HOST=$HUBIP PIECE_PORT=$RSPORT
  ip netns exec "$NSH" timeout $((STEP_LIMIT * 4)) python3 "$here/linktool.py" relay $DELAY_MS \
    "$HUBIP:$RPORT=127.0.0.1:$DPORT" "$HUBIP:$RSPORT=127.0.0.1:$SPORT" >"$T/relay.log" 2>&1 &
  PIDS="$PIDS $!"
fi
HUB_URL="git://127.0.0.1:$DPORT/hub.git" # the head-office node reads it from inside the hub's namespace
for _ in $(seq 100); do
  ip netns exec "$NSH" git ls-remote "$HUB_URL" >/dev/null 2>&1 && grep -q ready "$T/relay.log" 2>/dev/null && break
  sleep 0.1
done
if ip netns exec "$NSC" timeout 30 git ls-remote "$URL" >/dev/null 2>&1; then ok "the coordinator reaches the hub across the link ($URL)"
else bad "the coordinator cannot reach the hub: $(head -3 "$T/daemon.log" "$T/relay.log")"; finish; exit 1; fi

# ---- the agency -------------------------------------------------------------------
: >"$T/cases"
mkorg || bad "agency made"
enrolled "$T/c" "Coordinator" coordinator || bad "coordinator enrolled"
cw --home "$T/hub" whoami --cert -o "$T/hub.crt" && cw --home "$T/c" whoami --cert -o "$T/c.crt" || bad "certificates"
cw --home "$T/c" -q peer add hub --cert "$T/hub.crt" --url "$URL" && cw --home "$T/hub" -q peer add c --cert "$T/c.crt" ||
  bad "peers added"
inc() { ip netns exec "$NSC" timeout "$STEP_LIMIT" "$CW_BINARY" --home "$T/c" "$@"; }   # the coordinator, in its namespace
inh() { ip netns exec "$NSH" timeout "$STEP_LIMIT" "$CW_BINARY" --home "$T/hub" "$@"; } # head office, beside the hub

# day DAY [spread]: a day's work on the coordinator, offline: EDITS edits (a
# case in ten is new; with "spread", notes on every case in turn) and DOCS
# documents of DOC_KB KB. Notes go to $T/notes.DAY.
day() {
  local d=$1 spread=${2:-} i r c n=0 fail=0
  : >"$T/notes.$d"
  for i in $(seq 1 "$EDITS"); do
    r=$((RANDOM % 10))
    if [ -n "$spread" ]; then
      r=1
    elif [ "$(wc -l <"$T/cases")" -lt 3 ]; then
      r=0
    fi
    if [ "$r" -eq 0 ]; then
      c=$(cw --home "$T/c" --json case new --patient "Day$d Patient $i" --procedure "Hip replacement" 2>/dev/null | grep -o '[0-9a-f]\{32\}')
      [ -n "$c" ] && echo "$c" >>"$T/cases" || fail=$((fail + 1))
      continue
    fi
    if [ -n "$spread" ]; then c=$(sed -n "$(((i - 1) % $(wc -l <"$T/cases") + 1))p" "$T/cases")
    else c=$(shuf -n 1 "$T/cases"); fi
    case $r in
      1 | 2 | 3 | 4)
        cw --home "$T/c" -q note add "$c" "Day$d-note-$i: spoke with the patient about the flight, the hotel near the clinic and the interpreter" &&
          echo "$c Day$d-note-$i" >>"$T/notes.$d" || fail=$((fail + 1)) ;;
      5 | 6) cw --home "$T/c" -q case set "$c" diet="diet $d.$i" allergies="none known ($i)" || fail=$((fail + 1)) ;;
      7) cw --home "$T/c" -q cost add "$c" --estimate $((1000 + i)) EUR --label "Quote $d.$i" || fail=$((fail + 1)) ;;
      *) cw --home "$T/c" -q task add "$c" "Call the clinic, day $d item $i" || fail=$((fail + 1)) ;;
    esac
  done
  for i in $(seq 1 "$DOCS"); do
    c=$(shuf -n 1 "$T/cases")
    head -c $((DOC_KB * 1000)) /dev/urandom >"$T/scan-$d-$i.pdf"
    if cw --home "$T/c" --json doc add "$c" "$T/scan-$d-$i.pdf" --title "Scan $d.$i" >"$T/docout" 2>/dev/null; then
      echo "$c $(grep -o '[0-9a-f]\{32\}' "$T/docout" | head -1) $T/scan-$d-$i.pdf" >>"$T/docs.$d"
    else fail=$((fail + 1)); fi
  done
  [ "$fail" -eq 0 ] && ok "day $d: $EDITS edits${spread:+ (notes on every case in turn)} and $DOCS documents of $DOC_KB KB written offline" ||
    bad "day $d: $fail writes failed"
}

# converged WHAT: head office pulls on its side; every case must show the same
# digest on both, and every note of every day written so far must be on the hub.
converged() {
  local c dc dh mism=0 lost=0
  inh -q sync pull "$HUB_URL" >"$T/pull.out" 2>&1 || bad "$1: head office pulls: $(head -2 "$T/pull.out")"
  while read -r c; do
    dc=$(cw --home "$T/c" --json case show "$c" 2>/dev/null | grep '"digest"' | grep -o '[0-9a-f]\{64\}')
    cw --home "$T/hub" --json case show "$c" >"$T/hubshow" 2>/dev/null
    dh=$(grep '"digest"' "$T/hubshow" | grep -o '[0-9a-f]\{64\}')
    [ -n "$dc" ] && [ "$dc" = "$dh" ] || mism=$((mism + 1))
    for m in $(cat "$T"/notes.* | awk -v c="$c" '$1 == c {print $2}'); do
      grep -q -F "$m:" "$T/hubshow" || lost=$((lost + 1))
    done
  done <"$T/cases"
  [ "$mism" -eq 0 ] && [ "$lost" -eq 0 ] && ok "$1: the hub shows the coordinator's digest for all $(wc -l <"$T/cases") cases, no note lost" ||
    bad "$1: $mism digest mismatches, $lost notes missing on the hub"
}

# ---- 1. a day's work across the link ------------------------------------------------
day 1
b0=$(link_bytes) p0=$(packets) d0=$(drops) tx0=$(tx_bytes) t0=$(now)
inc --json sync >"$T/sync1.out" 2>"$T/sync1.err" && ok "day 1 syncs across the link" || bad "day 1 sync: $(head -2 "$T/sync1.err")"
t1=$(now) b1=$(link_bytes) p1=$(packets) d1=$(drops) tx1=$(tx_bytes)
S1_TIME=$(elapsed "$t0" "$t1") S1_BYTES=$((b1 - b0)) S1_TX=$((tx1 - tx0)) S1_DROPS=$((d1 - d0)) S1_PACKETS=$((p1 - p0))
echo "# day 1 sync: $S1_TIME s, $S1_TX bytes sent, $S1_BYTES both ways, $S1_PACKETS packets, $S1_DROPS dropped by the loss stage"
converged "day 1"
# Do the document bytes travel? Head office tries to read each document.
docs_ok=0 docs_total=0 doc_kb_total=0
while read -r c id f; do
  docs_total=$((docs_total + 1)) doc_kb_total=$((doc_kb_total + DOC_KB))
  if cw --home "$T/hub" doc get "$c" "$id" -o "$T/got.pdf" >/dev/null 2>"$T/docget.err" && cmp -s "$T/got.pdf" "$f"; then
    docs_ok=$((docs_ok + 1))
  fi
done <"$T/docs.1"
if [ "$docs_ok" -eq "$docs_total" ]; then
  ok "head office reads all $docs_total documents"
  DOC_NOTE="document bytes travel with the sync"
else
  DOC_NOTE="document bytes do NOT travel with sync yet: only their metadata ops do ($docs_ok of $docs_total documents readable on the hub; doc get says: $(head -1 "$T/docget.err"); $S1_BYTES bytes crossed the link for $doc_kb_total KB of documents)"
  echo "# NOTE: $DOC_NOTE"
  cw --home "$T/hub" --json case show "$(head -1 "$T/docs.1" | cut -d' ' -f1)" | grep -q "$(head -1 "$T/docs.1" | cut -d' ' -f2)" &&
    ok "the documents' metadata reached the hub" || bad "the documents' metadata reached the hub"
fi

# ---- 2. the link is cut in the middle of a push --------------------------------------
# Day 2: the coordinator pulls (uncut), then pushes; the link goes down once a
# quarter of what day 1 sent has gone out, the stalled push is stopped, the
# link comes back and the push is retried.
day 2
hub_refs() { git --git-dir="$T/srv/hub.git" for-each-ref --format='%(objectname) %(refname)' | sort; }
hub_objects() { git --git-dir="$T/srv/hub.git" count-objects -v | awk '$1 == "count:" || $1 == "in-pack:" {s += $2} END {print s}'; }
inc -q sync pull >/dev/null 2>"$T/pull2.err" || bad "day 2 pull: $(head -1 "$T/pull2.err")"
CUT_AT=$((S1_TX / 4))
[ "$CUT_AT" -lt 2000 ] && CUT_AT=2000
hub_refs >"$T/refs.before"
o0=$(hub_objects)
b0=$(link_bytes) tx0=$(tx_bytes) d0=$(drops) t0=$(now)
ip netns exec "$NSC" timeout "$STEP_LIMIT" "$CW_BINARY" --home "$T/c" --json sync push >"$T/sync2.out" 2>"$T/sync2.err" &
SYNC_PID=$! # ip netns exec runs timeout in its own process: this pid is timeout's, which passes signals on
PIDS="$PIDS $SYNC_PID"
cut=0
while kill -0 "$SYNC_PID" 2>/dev/null; do
  if [ $(($(tx_bytes) - tx0)) -ge "$CUT_AT" ]; then
    ip -n "$NSC" link set "$VC" down && cut=1
    break
  fi
  sleep 0.05
done
t_cut=$(now) b_cut=$(link_bytes) tx_cut=$(tx_bytes)
if [ "$cut" = 1 ]; then
  CUT_TX=$((tx_cut - tx0))
  echo "# the link was cut $(elapsed "$t0" "$t_cut") s into the push, after $CUT_TX bytes sent ($((b_cut - b0)) both ways)"
  # The stalled push is given a while, then stopped, as a user would.
  for _ in $(seq 1 $((STALL * 10))); do kill -0 "$SYNC_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SYNC_PID" 2>/dev/null; then
    kill "$SYNC_PID"; wait "$SYNC_PID"; rc=$?
    echo "# the push was still waiting $STALL s after the cut (no time-out of its own): stopped with SIGTERM (exit $rc)"
  else
    wait "$SYNC_PID"; rc=$?
    echo "# the push ended by itself after the cut: exit $rc: $(head -1 "$T/sync2.err")"
  fi
  [ "$rc" -ne 0 ] && ok "the cut push did not report success (exit $rc)" || bad "the cut push reported success"
  # What the stopped push had handed to the kernel may still go out when the
  # link returns (an orphaned socket). Drop its connection, as a change of
  # network or a sleeping laptop would, so that the cut really loses it.
  sq=$(ip netns exec "$NSC" ss -tnH dst "$HUBIP" 2>/dev/null | awk '{s += $3} END {print s + 0}')
  if ip netns exec "$NSC" ss -K dst "$HUBIP" >/dev/null 2>&1; then
    echo "# the stopped push left $sq bytes unsent in the kernel's queue; its connection was dropped (ss -K)"
  else
    echo "# the stopped push left $sq bytes unsent in the kernel's queue; its connection could not be dropped (no ss -K)"
  fi
  expect 0 "the coordinator's node verifies after the cut" -- cw --home "$T/c" verify
  git --git-dir="$T/srv/hub.git" fsck --strict >"$T/fsck" 2>&1 && ok "the served hub is sound after the cut (git fsck --strict)" ||
    bad "the served hub after the cut: $(head -2 "$T/fsck")"
  hub_refs >"$T/refs.cut"
  ip -n "$NSC" link set "$VC" up
  ip -n "$NSC" addr show dev "$VC" | grep -q "$COIP" || ip -n "$NSC" addr add "$COIP/30" dev "$VC"
  # let anything still in flight settle: the link is quiet for a second
  last=-1
  for _ in $(seq 30); do cur=$(link_bytes); [ "$cur" = "$last" ] && break; last=$cur; sleep 1; done
  hub_refs >"$T/refs.up"
  o1=$(hub_objects)
  if ! cmp -s "$T/refs.before" "$T/refs.cut"; then
    LANDED=before
    echo "# the push had landed on the hub before the cut (only its answer was lost)"
  elif ! cmp -s "$T/refs.cut" "$T/refs.up"; then
    LANDED=late
    echo "# the stopped push's last bytes went out from the kernel when the link came back: the hub took it"
  else
    LANDED=no
    ok "the cut push changed no ref on the hub (objects kept from it: $((o1 - o0)))"
  fi
  for _ in $(seq 50); do ip netns exec "$NSC" timeout 10 git ls-remote "$URL" >/dev/null 2>&1 && break; sleep 0.2; done
  b_r0=$(link_bytes) tx_r0=$(tx_bytes) t_r0=$(now)
  inc --json sync push >"$T/sync2r.out" 2>"$T/sync2r.err" && ok "the retried push succeeds" || bad "retried push: $(head -2 "$T/sync2r.err")"
  t_r1=$(now) b_r1=$(link_bytes) tx_r1=$(tx_bytes)
  refs_sent=$(grep -o '"refs_sent":[[:space:]]*[0-9]*' "$T/sync2r.out" | grep -o '[0-9]*$')
  RETRY_TX=$((tx_r1 - tx_r0)) RETRY_TIME=$(elapsed "$t_r0" "$t_r1")
  echo "# retry: $RETRY_TIME s, $RETRY_TX bytes sent ($((b_r1 - b_r0)) both ways), ${refs_sent:-?} chains pushed"
  if [ "$LANDED" = no ]; then
    RESENT="the push was cut after $CUT_TX bytes had gone out; git keeps nothing of a cut push, so the retry sent the whole push again: $RETRY_TX bytes"
  else
    RESENT="the push had landed ($LANDED the link came back); the retry sent $RETRY_TX bytes and ${refs_sent:-?} chains"
  fi
  echo "# re-sent: $RESENT"
else
  wait "$SYNC_PID"
  missed_timing "the push ended before $CUT_AT bytes had gone out: the cut did not land mid-transfer"
fi
D2_DROPS=$(($(drops) - d0))
converged "day 2, after the cut and the retry"

# ---- 3. split pieces over the link, cut in the middle of a piece -------------------------
# Head office confirms what it holds with a bundle of its own (carried by hand,
# not over the link), so the coordinator's export holds day 3 only.
cw --home "$T/hub" -q sync export --to c -o "$T/ack.bundle" && cw --home "$T/c" -q sync import "$T/ack.bundle" ||
  bad "head office's acknowledgement bundle"
day 3 spread
rm -f "$T"/out.*
# A piece holds whole chains (a chain with a document is as large as the
# document): while one chain alone is larger, say so and use its size.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  cw --home "$T/c" -q sync export --to hub -o "$T/out" --max-bytes "$PIECE" 2>"$T/exp.err" && break
  need=$(grep -o 'alone needs [0-9]* bytes' "$T/exp.err" | grep -o '[0-9]*')
  echo "# $(head -1 "$T/exp.err")"
  rm -f "$T"/out "$T"/out.*
  [ -n "$need" ] || break
  PIECE=$((need + 1000))
done
rm -f "$T"/out "$T"/out.*
expect 0 "the coordinator exports to head office in pieces of at most $PIECE bytes" -- \
  cw --home "$T/c" -q sync export --to hub -o "$T/out" --max-bytes "$PIECE"
ls "$T"/out.[0-9]* 2>/dev/null | awk -F. '{print $NF, $0}' | sort -n | cut -d' ' -f2- >"$T/pieces"
[ -s "$T/pieces" ] || { [ -e "$T/out" ] && echo "$T/out" >"$T/pieces"; }
NP=$(wc -l <"$T/pieces")
PIECE_BYTES=$(cat $(cat "$T/pieces") | wc -c)
MAXP=0
for f in $(cat "$T/pieces"); do s=$(stat -c %s "$f"); [ "$s" -gt "$MAXP" ] && MAXP=$s; done
echo "# $NP pieces, $PIECE_BYTES bytes in all, the largest $MAXP bytes"
if [ "$NP" -lt 3 ]; then
  bad "the export is split into at least 3 pieces (got $NP)"
else
  b0=$(link_bytes) t0=$(now)
  ip netns exec "$NSC" timeout "$STEP_LIMIT" python3 "$here/linktool.py" send "$PIECE_HOST" "$PIECE_PORT" $(cat "$T/pieces") >"$T/send1.log" 2>&1 &
  SEND_PID=$!
  PIDS="$PIDS $SEND_PID"
  half=$((NP / 2)) cut=0
  while kill -0 "$SEND_PID" 2>/dev/null; do
    if [ "$(grep -c '^got' "$T/serve.log")" -ge "$half" ]; then
      # the next piece is in flight: cut once a third of it has gone
      tx0=$(tx_bytes)
      while kill -0 "$SEND_PID" 2>/dev/null && [ $(($(tx_bytes) - tx0)) -lt $((MAXP / 3)) ]; do sleep 0.05; done
      ip -n "$NSC" link set "$VC" down && cut=1
      break
    fi
    sleep 0.05
  done
  wait "$SEND_PID"
  t_cut=$(now)
  # the receiver notices the dead connection after its own time-out
  for _ in $(seq 1 $((LINKTOOL_TIMEOUT * 10 + 20))); do grep -q '^partial' "$T/serve.log" && break; sleep 0.1; done
  echo "# first attempt, $(elapsed "$t0" "$t_cut") s: $(tr '\n' ';' <"$T/send1.log")"
  arrived=$(grep -c '^got' "$T/serve.log")
  partial=$(grep '^partial' "$T/serve.log" | tail -1 | awk '{print $3}')
  if [ "$cut" = 1 ] && grep -q '^cut' "$T/send1.log"; then
    ok "the link was cut in the middle of piece $((arrived + 1)) of $NP ($arrived whole piece(s) arrived; receiver: ${partial:-no partial piece logged})"
  else missed_timing "the cut did not land in the middle of a piece (cut=$cut)"; fi
  # head office imports what arrived whole, in order; each goes in on its own
  imported=0
  for f in $(cat "$T/pieces"); do
    g="$T/pieces-in/$(basename "$f")"
    [ -e "$g" ] || break
    cw --home "$T/hub" -q sync import "$g" >/dev/null 2>"$T/imp.err" && imported=$((imported + 1)) || bad "importing $(basename "$g"): $(head -1 "$T/imp.err")"
  done
  [ "$imported" -eq "$arrived" ] && ok "the $arrived piece(s) that arrived before the cut import on their own" ||
    bad "only $imported of the $arrived pieces that arrived imported"
  cutname=$(grep '^cut' "$T/send1.log" | awk '{print $2}')
  if [ -z "$cutname" ]; then missed_timing "no piece was in flight when the link was cut"
  elif [ ! -e "$T/pieces-in/$cutname" ]; then ok "the piece cut in flight is not there under its own name"
  else bad "the piece cut in flight ($cutname) is there under its own name"; fi
  ip -n "$NSC" link set "$VC" up
  ip -n "$NSC" addr show dev "$VC" | grep -q "$COIP" || ip -n "$NSC" addr add "$COIP/30" dev "$VC"
  sleep 1
  b_r0=$(link_bytes) t_r0=$(now)
  # the link just came back: a retry that stalls before a byte moves is tried again
  sent_ok=0
  for attempt in 1 2 3; do
    if ip netns exec "$NSC" timeout "$STEP_LIMIT" python3 "$here/linktool.py" send "$PIECE_HOST" "$PIECE_PORT" $(cat "$T/pieces") >"$T/send2.log" 2>&1; then
      sent_ok=1; break; fi
    echo "# retry attempt $attempt stalled: $(tr '\n' ';' <"$T/send2.log")"
    sleep 2
  done
  [ "$sent_ok" = 1 ] && ok "the retry sends the rest" || bad "the retry: $(tr '\n' ';' <"$T/send2.log")"
  t_r1=$(now) b_r1=$(link_bytes)
  resent=$(grep -c '^sent' "$T/send2.log")
  skipped=$(grep -c '^have' "$T/send2.log")
  first_resent=$(grep '^sent' "$T/send2.log" | head -1 | awk '{print $2}')
  echo "# retry, $(elapsed "$t_r0" "$t_r1") s, $((b_r1 - b_r0)) bytes on the link: $(tr '\n' ';' <"$T/send2.log")"
  # Re-sent = the piece that was cut in flight; everything after it was never sent before.
  if [ -z "$cutname" ]; then
    [ "$skipped" -eq "$arrived" ] && ok "nothing that arrived was sent again" || bad "the retry re-sent pieces that had arrived (skipped $skipped of $arrived)"
  elif [ "$skipped" -eq "$arrived" ] && [ "$first_resent" = "$cutname" ]; then
    ok "re-sent at most one piece: $cutname (${partial:-?} bytes of it had arrived); the $skipped pieces that arrived were not sent again"
  else
    bad "the retry re-sent more than the piece cut in flight (skipped $skipped, arrived $arrived, first re-sent $first_resent, cut $cutname)"
  fi
  for f in $(cat "$T/pieces"); do
    g="$T/pieces-in/$(basename "$f")"
    cmp -s "$f" "$g" || bad "$(basename "$f") arrived damaged or not at all"
  done
  n=0
  for f in $(tail -n +$((imported + 1)) "$T/pieces"); do
    cw --home "$T/hub" -q sync import "$T/pieces-in/$(basename "$f")" >/dev/null 2>"$T/imp.err" && n=$((n + 1)) || bad "importing $(basename "$f"): $(head -1 "$T/imp.err")"
  done
  [ "$n" -eq $((NP - imported)) ] && ok "the remaining $n pieces import" || bad "only $n of $((NP - imported)) remaining pieces import"
  SPLIT_FIG="pieces=$NP piece_max=$MAXP cut_in_piece=$((arrived + 1)) resent_piece_bytes_before_cut=${partial:-?} retry_s=$(elapsed "$t_r0" "$t_r1") retry_link_bytes=$((b_r1 - b_r0))"
fi
# head office holds day 3 only from the pieces (it pulls, but day 3 was never pushed)
converged "day 3, from the pieces"

expect 0 "head office verifies" -- cw --home "$T/hub" verify
expect 0 "the coordinator verifies" -- cw --home "$T/c" verify
echo "# figures ($MODE, $SHAPER): edits_per_day=$EDITS docs=${DOCS}x${DOC_KB}KB" \
  "day1_sync_s=$S1_TIME day1_link_bytes=$S1_BYTES day1_packets=$S1_PACKETS day1_dropped=$S1_DROPS" \
  "day1_sent=$S1_TX cut_after_sent=${CUT_TX:-?} push_landed_before_cut=${LANDED:-?} retry_s=${RETRY_TIME:-?} retry_sent=${RETRY_TX:-?} day2_dropped=$D2_DROPS" \
  "${SPLIT_FIG:-}"
echo "# re-sent after the cut push: ${RESENT:-?}"
echo "# documents: $DOC_NOTE"
echo "# total: $(elapsed "$T_START" "$(now)") s"
finish
