#!/usr/bin/env bash
# tests/scenario/sync_four.sh - four nodes sync by signed bundles only
# (DESIGN 3.5): head office (hub), two coordinators (anna, ben) and a
# clinic. Concurrent edits, bundles imported out of order and twice, a
# case the clinic must never see, a split export arriving last piece first;
# stock git checks every bundle, every signature and the repository, and
# finds no plaintext.
# Usage: bash tests/scenario/sync_four.sh path/to/caseway
. "$(dirname "$0")/../cli/lib.sh" "$1"

# Stock git, without the caller's configuration.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
start=$(date +%s)

MARK_M="Marker-Zeta-7731"
MARK_P="Private-Kappa-4410"
MARK_N="Notemark-Sigma-5150"
B="$T/bundles"
mkdir -p "$B"
: >"$T/written" # "FILE RECEIVER" for every bundle written

# export_to NODE PEER NAME [args]: NODE writes a bundle for PEER as $B/NAME
# (or NAME.1, NAME.2 ... when split) and records it.
export_to() {
  local node=$1 peer=$2 name=$3 f
  shift 3
  expect 0 "$node exports to $peer ($name)" -- cw --home "$T/$node" -q sync export --to "$peer" -o "$B/$name" "$@"
  for f in "$B/$name" "$B/$name".[0-9]*; do
    [ -e "$f" ] && echo "$f $peer" >>"$T/written"
  done
}

# import_ok NODE FILE [what]: NODE imports FILE, wanting exit 0.
import_ok() {
  expect 0 "$1 imports $(basename "$2")${3:+ $3}" -- cw --home "$T/$1" -q sync import "$2"
}

digest() { cw --home "$T/$1" --json case show "$2" 2>/dev/null | grep '"digest"' | grep -o '[0-9a-f]\{64\}'; }

same_digest() { # same_digest CASE WHAT NODE...
  local c=$1 what=$2 first d n
  shift 2
  first=$(digest "$1" "$c")
  if [ -z "$first" ]; then bad "$what: no digest on $1"; return; fi
  for n in "$@"; do
    d=$(digest "$n" "$c")
    if [ "$d" != "$first" ]; then bad "$what: $n has '$d', $1 has '$first'"; return; fi
  done
  ok "$what: digest $first on $*"
}

# ---- 1. the agency ----------------------------------------------------------------
mkorg && ok "hub and agency made" || bad "hub and agency made"
for n in anna:coordinator ben:coordinator clinic:clinic; do
  enrolled "$T/${n%%:*}" "${n%%:*}" "${n#*:}" && ok "${n%%:*} enrolled as ${n#*:}" || bad "${n%%:*} enrolled as ${n#*:}"
done
for n in hub anna ben clinic; do
  cw --home "$T/$n" whoami --cert -o "$T/$n.crt" 2>/dev/null || bad "$n whoami --cert"
done
for n in anna ben clinic; do
  expect 0 "hub adds peer $n" -- cw --home "$T/hub" peer add "$n" --cert "$T/$n.crt"
  expect 0 "$n adds peer hub" -- cw --home "$T/$n" peer add hub --cert "$T/hub.crt"
done
expect 0 "anna adds peer ben" -- cw --home "$T/anna" peer add ben --cert "$T/ben.crt"
expect 0 "anna adds peer clinic" -- cw --home "$T/anna" peer add clinic --cert "$T/clinic.crt"

# ---- 2. anna's cases ------------------------------------------------------------
M=$(cw --home "$T/anna" --json case new --patient "$MARK_M" --procedure "Knee replacement" 2>/dev/null |
    grep -o '[0-9a-f]\{32\}')
P=$(cw --home "$T/anna" --json case new --patient "$MARK_P" diet=none 2>/dev/null | grep -o '[0-9a-f]\{32\}')
if [ -n "$M" ] && [ -n "$P" ]; then ok "anna made case M ($M) and P ($P)"; else bad "anna made cases M and P"; fi
expect 0 "anna shares M with ben" -- cw --home "$T/anna" share "$M" --with ben
expect 0 "anna shares M with the clinic" -- cw --home "$T/anna" share "$M" --with clinic

# ---- 3. first distribution --------------------------------------------------------
export_to anna hub anna0
import_ok hub "$B/anna0"
export_to hub ben hub-ben1
export_to hub clinic hub-clinic1
import_ok ben "$B/hub-ben1"
import_ok clinic "$B/hub-clinic1"
same_digest "$M" "M after first distribution" anna hub ben clinic
same_digest "$P" "P on the hub" anna hub
for n in ben clinic; do
  cw --home "$T/$n" case list >"$T/list" 2>&1
  contains "$T/list" "$MARK_M" "$n lists M"
  if grep -q "$MARK_P" "$T/list"; then bad "$n lists P"; else ok "$n does not list P"; fi
  expect 1 "$n cannot show P" -- cw --home "$T/$n" case show "$P"
done

# ---- 4. offline edits -------------------------------------------------------------
expect 0 "anna sets diet on M" -- cw --home "$T/anna" case set "$M" diet=vegan
expect 0 "ben sets diet on M" -- cw --home "$T/ben" case set "$M" diet=kosher
expect 0 "clinic adds a charge to M" -- cw --home "$T/clinic" cost add "$M" --charge 1200 EUR --label Surgery
export_to anna hub anna1
expect 0 "anna edits M again" -- cw --home "$T/anna" case set "$M" interpreter=yes languages=German
export_to anna hub anna2
export_to ben hub ben1
export_to clinic hub clinic1

# ---- 5. the hub takes them in any order, some twice -----------------------------
import_ok hub "$B/anna2"
import_ok hub "$B/clinic1"
expect 0 "hub imports anna1 (covered by anna2)" -- cw --home "$T/hub" sync import "$B/anna1"
contains "$T/out" ": 0 new changes" "anna1 brings nothing anna2 did not"
import_ok hub "$B/ben1"
expect 0 "hub imports anna2 again" -- cw --home "$T/hub" sync import "$B/anna2"
contains "$T/out" "already imported" "the hub says anna2 was imported before"
for n in anna ben clinic; do export_to hub "$n" "hub-$n-2"; done
for n in anna ben clinic; do import_ok "$n" "$B/hub-$n-2"; done
import_ok ben "$B/hub-ben-2" "again"
# A second round trip so that acknowledgements settle.
for n in anna ben clinic; do export_to "$n" hub "$n-3"; done
for n in clinic ben anna; do import_ok hub "$B/$n-3"; done
for n in anna ben clinic; do export_to hub "$n" "hub-$n-3"; done
for n in anna ben clinic; do import_ok "$n" "$B/hub-$n-3"; done

# ---- 6. everyone agrees -----------------------------------------------------------
same_digest "$M" "M converged" hub anna ben clinic
same_digest "$P" "P on the hub equals anna's" anna hub
for n in hub anna ben clinic; do cw --home "$T/$n" --json conflicts >"$T/conflicts.$n" 2>/dev/null; done
if grep -q '"field":[[:space:]]*"diet"' "$T/conflicts.hub" && grep -q '"vegan"' "$T/conflicts.hub" &&
   grep -q '"kosher"' "$T/conflicts.hub"; then ok "the hub lists the diet conflict with both values"
else bad "the hub lists the diet conflict with both values: $(head -c 400 "$T/conflicts.hub")"; fi
for n in anna ben clinic; do
  if cmp -s "$T/conflicts.hub" "$T/conflicts.$n"; then ok "$n lists the same conflicts as the hub"
  else bad "$n lists other conflicts than the hub: $(diff "$T/conflicts.hub" "$T/conflicts.$n" | head -c 400)"; fi
done
for n in hub anna ben clinic; do
  cw --home "$T/$n" --json case show "$M" >"$T/show" 2>/dev/null
  if grep -q '1200' "$T/show" && grep -q 'Surgery' "$T/show"; then ok "$n sees the clinic's charge"
  else bad "$n sees the clinic's charge"; fi
done
for f in "$B"/hub-clinic* "$B"/hub-ben*; do
  if git bundle list-heads "$f" | grep -q "$P"; then bad "$(basename "$f") carries P"
  else ok "$(basename "$f") does not carry P"; fi
done
if git --git-dir="$T/clinic/log.git" for-each-ref | grep -q "$P"; then bad "the clinic's log has P"
else ok "the clinic's log has no ref of P"; fi
cw --home "$T/clinic" case list >"$T/list" 2>&1
if grep -q -e "$MARK_P" -e "${P:0:8}" "$T/list"; then bad "the clinic lists P"; else ok "the clinic does not list P"; fi

# ---- 9. a split export, last piece first (before 7 and 8, so they check it too) --
note=$(printf '%s ' "$MARK_N: the patient asked again about the recovery hotel, the" \
       "interpreter for the pre-operative talk, the transfer from the airport, dietary needs" \
       "during the stay, the follow-up call with the home doctor and the invoice address.")
for i in $(seq 1 10); do
  cw --home "$T/anna" note add "$M" "$i. $note" >/dev/null 2>&1 || bad "anna note $i on M"
  cw --home "$T/anna" note add "$P" "$i. $note" >/dev/null 2>&1 || bad "anna note $i on P"
done
# Parts hold whole chains: ten notes on each of M and P make two chains of
# about 9 kB each, more than one part of at most 12000 bytes can take.
MAXB=12000
export_to anna hub split --max-bytes $MAXB
pieces=$(ls "$B"/split.[0-9]* 2>/dev/null | wc -l)
if [ "$pieces" -ge 2 ] && [ ! -e "$B/split" ]; then ok "the export is split into $pieces pieces"
else bad "the export is split (pieces: $pieces)"; fi
if [ "$pieces" -ge 2 ]; then
  for f in "$B"/split.[0-9]*; do
    s=$(stat -c %s "$f")
    if [ "$s" -le $MAXB ]; then ok "$(basename "$f") is $s bytes (<= $MAXB)"; else bad "$(basename "$f") is $s bytes"; fi
  done
  expect 5 "the hub imports the last piece first: it waits" -- cw --home "$T/hub" -q sync import "$B/split.$pieces"
  one_line_error "waiting piece"
  echo "    $(cat "$T/err")"
  contains "$T/err" "wait" "the message says what it waits for"
  cw --home "$T/hub" --json sync status >"$T/status" 2>/dev/null
  w=$(grep -o '"inbox_waiting":[[:space:]]*[0-9]*' "$T/status" | grep -o '[0-9]*$')
  if [ "${w:-0}" -ge 1 ]; then ok "sync status shows $w bundle(s) waiting"; else bad "sync status shows a waiting bundle"; fi
  for i in $(seq 1 $((pieces - 1))); do import_ok hub "$B/split.$i"; done
  cw --home "$T/hub" --json sync status >"$T/status" 2>/dev/null
  w=$(grep -o '"inbox_waiting":[[:space:]]*[0-9]*' "$T/status" | grep -o '[0-9]*$')
  if [ "$w" = 0 ]; then ok "the inbox is empty again"; else bad "the inbox is empty again (waiting: '$w')"; fi
  same_digest "$M" "M after the split import" anna hub
  same_digest "$P" "P after the split import" anna hub
  cw --home "$T/hub" --json case show "$M" >"$T/show" 2>/dev/null
  n=$(grep -c "$MARK_N" "$T/show")
  if [ "$n" -eq 10 ]; then ok "the hub has anna's 10 notes on M"; else bad "the hub has $n of anna's 10 notes on M"; fi
fi

# ---- 7. stock git is the judge ----------------------------------------------------
git init -q --bare "$T/empty.git"
nb=0
while read -r f peer; do
  nb=$((nb + 1))
  # A bundle's prerequisites are in its receiver's log.
  if git --git-dir="$T/$peer/log.git" bundle verify "$f" >"$T/gout" 2>&1; then ok "git bundle verify $(basename "$f")"
  else bad "git bundle verify $(basename "$f"): $(head -c 300 "$T/gout")"; fi
done <"$T/written"
[ "$nb" -ge $((16 + pieces)) ] && ok "$nb bundles written" || bad "only $nb bundles written"
for f in "$B/anna0" "$B/hub-clinic1"; do
  if git --git-dir="$T/empty.git" bundle verify "$f" >"$T/gout" 2>&1; then ok "$(basename "$f") verifies on its own"
  else bad "$(basename "$f") verifies on its own: $(head -c 300 "$T/gout")"; fi
  d="$T/fetched-$(basename "$f").git"
  git init -q --bare "$d"
  if git -C "$d" fetch -q "$f" 'refs/*:refs/*' 2>"$T/gout" && git -C "$d" fsck --strict >"$T/gout" 2>&1; then
    ok "git fetch from $(basename "$f") and fsck --strict"
  else bad "git fetch from $(basename "$f") and fsck --strict: $(head -c 300 "$T/gout")"; fi
done
for n in hub anna ben clinic; do
  if git --git-dir="$T/$n/log.git" fsck --strict >"$T/gout" 2>&1; then ok "git fsck --strict on $n's log"
  else bad "git fsck --strict on $n's log: $(head -c 300 "$T/gout")"; fi
done
expect 0 "hub writes allowed signers" -- cw --home "$T/hub" org allowed-signers -o "$T/allowed"
git --git-dir="$T/hub/log.git" for-each-ref --format='%(refname)' refs/cw/case/ >"$T/chains"
for r in $(cat "$T/chains"); do git --git-dir="$T/hub/log.git" rev-list "$r"; done | sort -u >"$T/commits"
nchains=$(wc -l <"$T/chains")
ncommits=$(wc -l <"$T/commits")
if grep -q "$M" "$T/chains" && grep -q "$P" "$T/chains" && [ "$nchains" -ge 4 ]; then ok "the hub holds $nchains chains"
else bad "the hub holds the chains of M and P (chains: $nchains)"; fi
good=0
for c in $(cat "$T/commits"); do
  if git -c gpg.ssh.allowedSignersFile="$T/allowed" --git-dir="$T/hub/log.git" verify-commit "$c" >"$T/gout" 2>&1 &&
     grep -q 'Good "git" signature' "$T/gout"; then good=$((good + 1))
  else bad "git verify-commit $c: $(head -c 300 "$T/gout")"; fi
done
if [ "$good" -eq "$ncommits" ] && [ "$ncommits" -ge 8 ]; then ok "git verify-commit: $good of $ncommits chain commits Good"
else bad "git verify-commit: $good of $ncommits chain commits Good"; fi

# ---- 8. no plaintext ----------------------------------------------------------------
leaks=0
while read -r f peer; do
  if grep -a -q -e "$MARK_M" -e "$MARK_P" -e "$MARK_N" "$f"; then leaks=$((leaks + 1)); bad "plaintext in $(basename "$f")"; fi
done <"$T/written"
[ "$leaks" -eq 0 ] && ok "no marker text in the $nb bundles"
for n in hub anna ben clinic; do
  git --git-dir="$T/$n/log.git" cat-file --batch-all-objects --batch >"$T/objects" 2>&1
  if [ ! -s "$T/objects" ]; then bad "cat-file on $n's log printed nothing"
  elif grep -a -q -e "$MARK_M" -e "$MARK_P" -e "$MARK_N" "$T/objects"; then bad "plaintext in $n's log objects"
  else ok "no marker text in $n's log objects ($(wc -c <"$T/objects") bytes)"; fi
done

echo "# $(($(date +%s) - start)) s"
finish
