#!/usr/bin/env bash
# tests/scenario/erase.sh - the right to be forgotten (issue 5, item 3):
# four nodes (head office hub, coordinators anna and ben, a clinic) sync a
# case by bundles and through a real git server (`git daemon` on 127.0.0.1);
# anna, who created it, erases it; the erasure reaches every node by bundle
# and by the git hub. Then: every node says the case was erased; after
# `git gc --prune=now` no object of the case's chains is left in the hub
# node's repository nor in the served one; no node's DECRYPTED store holds
# the case key or the patient's marker text (tests/sync/test_erase.c
# tool-scan reads every row and every page through the library); a
# tombstone forged by the clinic is refused (exit 4) by bundle and by pull,
# leaving the hub unchanged; the clinic cannot erase; ben's chain of the
# case that arrives after the erasure is left out; an erase killed (kill -9)
# at random points is completed by a rerun and verify passes meanwhile.
# Without any `git gc`, every node's own log.git (the eraser's, the hub
# node's, members' that import or pull the tombstone) holds no object of
# the erased case's chains afterwards: the grant blobs that would open the
# case key with a member device's key cannot be read, `git fsck --strict`
# is clean, and the other cases still verify and sync. A coordinator's
# tombstone beside a ref NAME for "its own chain" is refused; a forged
# tombstone pushed straight to the served hub is told once (exit 4) while
# the rest of the pull comes in, and later pulls are quiet.
# Usage: bash tests/scenario/erase.sh path/to/caseway
. "$(dirname "$0")/../cli/lib.sh" "$1"

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
TOOL="${CW_BUILD:-$(dirname "$CW_BINARY")}/tests/test_sync_erase"
[ -x "$TOOL" ] || { bad "no $TOOL (build the tests)"; finish; exit 1; }

# Single words, so the full-text index holds them whole (lower-cased).
MARK="Zorblaxmarker9182"
MARK_NOTE="Quentonotemark4471"
MARK_DOC="Docmarkvelt5530"
MARK_BEN="Benmarkyotl2093"
B="$T/bundles"
mkdir -p "$B"

# the decrypted store of NODE holds no NEEDLE (text, or hex with --hex)
store_clean() {
  local node=$1 needle=$2 var=CW_ERASE_NEEDLE
  [ "${3:-}" = --hex ] && var=CW_ERASE_NEEDLE_HEX
  env CW_ERASE_HOME="$T/$node" "$var=$needle" "$TOOL" tool-scan >"$T/scan" 2>&1
}
digest() { cw --home "$T/$1" --json case show "$2" 2>/dev/null | grep '"digest"' | grep -o '[0-9a-f]\{64\}'; }
# chain_ids NODE CASE OUT: the objects of CASE's chains in NODE's log.git
# (OUT), their grant blobs (OUT.grants)
chain_ids() {
  git --git-dir="$T/$1/log.git" rev-list --objects --glob="refs/cw/case/$2/*" >"$T/objs"
  cut -d' ' -f1 "$T/objs" >"$3"
  grep ' grant\.' "$T/objs" | cut -d' ' -f1 | sort -u >"$3.grants"
}
# pruned NODE IDS WHAT: NODE's own log.git, WITHOUT git gc, holds none of
# IDS; the grant blobs among them cannot be opened; git fsck --strict clean
pruned() {
  local dir="$T/$1/log.git" left g opened=0
  git --git-dir="$dir" cat-file --batch-all-objects --batch-check | cut -d' ' -f1 >"$T/all"
  left=$(grep -c -F -x -f "$2" "$T/all")
  [ -s "$2" ] && [ "$left" -eq 0 ] && [ -s "$T/all" ] &&
    ok "$1: no gc, none of the $(wc -l <"$2") objects of $3 in its log.git" ||
    bad "$1: $left of the $(wc -l <"$2") objects of $3 left in its log.git"
  if [ -f "$2.grants" ]; then
    while read -r g; do
      git --git-dir="$dir" cat-file -p "$g" >/dev/null 2>&1 && opened=$((opened + 1))
    done <"$2.grants"
    [ -s "$2.grants" ] && [ "$opened" -eq 0 ] &&
      ok "$1: none of the $(wc -l <"$2.grants") old grant blobs of $3 can be opened" ||
      bad "$1: $opened old grant blobs of $3 still open"
  fi
  git --git-dir="$dir" fsck --strict --no-progress >"$T/fsck" 2>&1 && ok "$1: git fsck --strict clean" ||
    bad "$1: git fsck --strict: $(head -3 "$T/fsck")"
}
xfer() { # xfer FROM TO: FROM exports to TO, TO imports (exit wanted: $3, default 0)
  local f="$B/$1-$2-$RANDOM"
  expect 0 "$1 exports to $2" -- cw --home "$T/$1" -q sync export --to "$2" -o "$f"
  expect "${3:-0}" "$2 imports from $1" -- cw --home "$T/$2" sync import "$f"
}

# ---- the served repository, whose hook lets an erased case's chains go --------------
served_hub "$T/srv" || bad "served hub made"
serve_git "$T/srv"
if [ -n "$DAEMON_PID" ]; then ok "git daemon serves the hub on 127.0.0.1:$PORT"; else
  bad "git daemon did not start"; finish; exit 1; fi
URL="git://127.0.0.1:$PORT/hub.git"

# ---- the agency ---------------------------------------------------------------------
mkorg || bad "agency made"
for n in anna:coordinator ben:coordinator clinic:clinic; do
  enrolled "$T/${n%%:*}" "${n%%:*}" "${n#*:}" || bad "${n%%:*} enrolled"
done
for n in hub anna ben clinic; do cw --home "$T/$n" whoami --cert -o "$T/$n.crt" 2>/dev/null; done
for n in anna ben clinic; do
  cw --home "$T/$n" -q peer add hub --cert "$T/hub.crt" || bad "$n adds the hub"
  cw --home "$T/hub" -q peer add "$n" --cert "$T/$n.crt" || bad "hub adds $n"
done
for n in ben clinic; do cw --home "$T/anna" -q peer add "$n" --cert "$T/$n.crt" || bad "anna adds $n"; done
ok "agency and peers made"
CLINIC_ID=$(cw --home "$T/clinic" --json whoami | grep -o '"id":[^,]*' | grep -o '[0-9a-f]\{16\}')

# ---- anna's case, with a note and a document, shared and synced -------------------------
M=$(cw --home "$T/anna" --json case new --patient "$MARK" --procedure "Hip replacement" | grep -o '[0-9a-f]\{32\}')
K=$(cw --home "$T/anna" --json case new --patient "Keep-Kappa-1111" | grep -o '[0-9a-f]\{32\}')
P=$(cw --home "$T/anna" --json case new --patient "Privatemark3317" | grep -o '[0-9a-f]\{32\}') # never shared
[ -n "$M" ] && [ -n "$K" ] && ok "anna made case M ($M) and K" || bad "anna made cases"
expect 0 "anna adds a note" -- cw --home "$T/anna" note add "$M" "$MARK_NOTE called about the flight"
echo "scan of the passport: $MARK_DOC" >"$T/passport.txt"
expect 0 "anna adds a document" -- cw --home "$T/anna" doc add "$M" "$T/passport.txt" --kind passport
ls "$T/anna/docs"/*/* >/dev/null 2>&1 && ok "the document is stored" || bad "the document is stored"
expect 0 "anna shares M with ben" -- cw --home "$T/anna" share "$M" --with ben
expect 0 "anna shares M with the clinic" -- cw --home "$T/anna" share "$M" --with clinic
xfer anna hub
xfer hub ben
xfer hub clinic
expect 0 "anna pushes to the served hub" -- cw --home "$T/anna" sync push "$URL"
git init -q --bare "$T/plain.git"
expect 0 "anna pushes to a bare repository on a path" -- cw --home "$T/anna" sync push "$T/plain.git"
d=$(digest anna "$M")
for n in hub ben clinic; do
  [ -n "$d" ] && [ "$(digest "$n" "$M")" = "$d" ] && ok "$n holds case M" || bad "$n holds case M"
done
expect 0 "the clinic pulls from the served hub" -- cw --home "$T/clinic" sync pull "$URL"
git --git-dir="$T/clinic/log.git" for-each-ref "refs/cw/case/$P/" | grep -q . &&
  ok "the clinic holds P's chain, which it cannot read" || bad "the clinic holds P's chain"
expect 1 "the clinic cannot open P" -- cw --home "$T/clinic" case show "$P"
# ben writes to M and does not sync yet
expect 0 "ben adds a note offline" -- cw --home "$T/ben" note add "$M" "$MARK_BEN"

# What must go: the objects of M's chains, and its key.
git --git-dir="$T/hub/log.git" rev-list --objects --glob="refs/cw/case/$M/*" | cut -d' ' -f1 >"$T/ids.hub"
git --git-dir="$T/srv/hub.git" rev-list --objects --glob="refs/cw/case/$M/*" | cut -d' ' -f1 >"$T/ids.srv"
git --git-dir="$T/plain.git" rev-list --objects --glob="refs/cw/case/$M/*" | cut -d' ' -f1 >"$T/ids.plain"
[ "$(wc -l <"$T/ids.hub")" -gt 3 ] && [ "$(wc -l <"$T/ids.srv")" -gt 3 ] &&
  ok "M's chains hold $(wc -l <"$T/ids.hub") objects on the hub node, $(wc -l <"$T/ids.srv") served" ||
  bad "M's chain objects listed"
for n in anna hub ben clinic; do chain_ids "$n" "$M" "$T/own.$n"; done
chain_ids clinic "$P" "$T/own.clinicP"
[ -s "$T/own.anna.grants" ] && [ -s "$T/own.hub.grants" ] && [ -s "$T/own.clinic.grants" ] &&
  ok "M's chains carry grant blobs on every node ($(wc -l <"$T/own.anna.grants") at anna)" ||
  bad "M's grant blobs listed"
KEYS=$(env CW_ERASE_HOME="$T/anna" CW_ERASE_CASE="$M" "$TOOL" tool-keys | sed -n 's/^KEY //p')
[ -n "$KEYS" ] && ok "M's key read from anna's store" || bad "M's key read from anna's store"
store_clean hub "$MARK" && bad "the scanner sees M on the hub before the erasure" ||
  ok "the scanner sees M on the hub before the erasure"
store_clean clinic "$(echo "$KEYS" | head -1)" --hex && bad "the scanner sees M's key at the clinic" ||
  ok "the scanner sees M's key at the clinic before the erasure"

# ---- no erasure right: the clinic ------------------------------------------------------
expect 1 "the clinic may not erase M" -- cw --home "$T/clinic" erase "$M" --yes
one_line_error "clinic erase"
contains "$T/err" "may erase it" "the refusal says who may"
expect 2 "erase without --yes (no terminal) asks for it" -- cw --home "$T/anna" erase "$M" </dev/null
[ "$(digest anna "$M")" = "$d" ] && ok "nothing erased by the refusals" || bad "nothing erased by the refusals"

# A tombstone forged by the clinic (signed, but without the right), by bundle ...
F=$(env CW_ERASE_HOME="$T/clinic" CW_ERASE_CASE="$M" "$TOOL" tool-forge | sed -n 's/^TOMBSTONE //p')
[ -n "$F" ] && git --git-dir="$T/clinic/log.git" update-ref "refs/cw/erased/$M" "$F" &&
  ok "the clinic forged a tombstone ($F)" || bad "the clinic forged a tombstone"
cw --home "$T/clinic" -q sync export --to hub -o "$B/forged" || bad "the clinic exports the forgery"
git bundle list-heads "$B/forged" 2>/dev/null | grep -q "refs/cw/erased/$M" && ok "the bundle carries it" ||
  bad "the bundle carries the forged tombstone"
before=$(digest hub "$M")
expect 4 "the hub refuses the forged tombstone" -- cw --home "$T/hub" sync import "$B/forged"
contains "$T/err" "$CLINIC_ID" "the refusal names the clinic's device"
contains "$T/err" "${M:0:8}" "the refusal names the case"
[ -n "$before" ] && [ "$(digest hub "$M")" = "$before" ] && ok "the hub's case is unchanged" ||
  bad "the hub's case is unchanged"
# ... and through a git remote: a second bare repository carrying it
git init -q --bare "$T/evil.git"
git --git-dir="$T/clinic/log.git" push -q "$T/evil.git" "refs/cw/erased/$M:refs/cw/erased/$M" \
  'refs/cw/roster/*:refs/cw/roster/*' 2>/dev/null
expect 4 "the hub refuses to pull the forged tombstone" -- cw --home "$T/hub" sync pull "$T/evil.git"
[ "$(digest hub "$M")" = "$before" ] && ok "the hub's case is still unchanged" || bad "the hub's case is still unchanged"
git --git-dir="$T/clinic/log.git" update-ref -d "refs/cw/erased/$M"

# A coordinator that neither created P nor wrote to it (ben) puts beside its
# tombstone a ref NAME for "its own chain" of P (pointing at the tombstone):
# the clinic, which cannot read P, must not count it as a chain.
BEN_ID=$(cw --home "$T/ben" --json whoami | grep -o '"id":[^,]*' | grep -o '[0-9a-f]\{16\}')
FB=$(env CW_ERASE_HOME="$T/ben" CW_ERASE_CASE="$P" "$TOOL" tool-forge | sed -n 's/^TOMBSTONE //p')
git init -q --bare "$T/trick.git"
git --git-dir="$T/ben/log.git" push -q "$T/trick.git" "$FB:refs/cw/erased/$P" "$FB:refs/cw/case/$P/$BEN_ID" \
  'refs/cw/roster/*:refs/cw/roster/*' 2>/dev/null && ok "ben's tombstone of P with a forged chain name" ||
  bad "ben's forged name pushed"
expect 4 "the clinic refuses the forged chain name beside the tombstone" -- cw --home "$T/clinic" sync pull "$T/trick.git"
git --git-dir="$T/clinic/log.git" for-each-ref "refs/cw/case/$P/" | grep -q . && ok "the clinic still holds P's chain" ||
  bad "the clinic still holds P's chain"
git --git-dir="$T/clinic/log.git" rev-parse -q --verify "refs/cw/erased/$P" >/dev/null &&
  bad "the clinic took ben's tombstone of P" || ok "the clinic did not take ben's tombstone of P"
cw --home "$T/clinic" case show "$P" 2>/dev/null | grep -q "was erased" && bad "P is not erased at the clinic" ||
  ok "P is not erased at the clinic"

# A tombstone forged by the clinic, pushed straight to the served hub (any
# device with write access can): the hub node's pull tells it once (exit 4)
# and still takes the rest; the next pull is quiet.
dk=$(digest anna "$K")
expect 0 "anna adds a note to K" -- cw --home "$T/anna" note add "$K" "after the forgery"
expect 0 "anna pushes K's note to the served hub" -- cw --home "$T/anna" sync push "$URL"
[ "$(digest anna "$K")" != "$dk" ] && ok "K changed at anna" || bad "K changed at anna"
FK=$(env CW_ERASE_HOME="$T/clinic" CW_ERASE_CASE="$K" "$TOOL" tool-forge | sed -n 's/^TOMBSTONE //p')
git --git-dir="$T/clinic/log.git" push -q "$T/srv/hub.git" "$FK:refs/cw/erased/$K" 2>/dev/null &&
  ok "the clinic's forged tombstone of K is on the served hub" || bad "the forged tombstone pushed"
expect 4 "the hub node's pull tells the forged tombstone" -- cw --home "$T/hub" sync pull "$URL"
contains "$T/err" "$CLINIC_ID" "the report names the clinic's device"
contains "$T/err" "${K:0:8}" "the report names the case"
[ "$(digest hub "$K")" = "$(digest anna "$K")" ] && ok "the rest of that pull came in (K's new note)" ||
  bad "the rest of that pull came in"
cw --home "$T/hub" case show "$K" 2>/dev/null | grep -q "was erased" && bad "K is not erased on the hub" ||
  ok "K is not erased on the hub"
expect 0 "the next pull is quiet about the same forged tombstone" -- cw --home "$T/hub" sync pull "$URL"
grep -q -i -e refused -e "${K:0:8}" "$T/err" && bad "the next pull says nothing of it" ||
  ok "the next pull says nothing of it"
expect 0 "anna adds another note to K" -- cw --home "$T/anna" note add "$K" "after the forgery, 2"
expect 4 "anna's push tells her of the forgery once" -- cw --home "$T/anna" sync push "$URL"
contains "$T/err" "${K:0:8}" "the report names the case"
expect 0 "anna pushes again: quiet" -- cw --home "$T/anna" sync push "$URL"
expect 0 "the hub node pulls again" -- cw --home "$T/hub" sync pull "$URL"
[ "$(digest hub "$K")" = "$(digest anna "$K")" ] && ok "later changes still arrive" || bad "later changes still arrive"
# the hub's administrator removes the forgery (it would squat the ref name)
git --git-dir="$T/srv/hub.git" update-ref -d "refs/cw/erased/$K"

# ---- anna erases M ---------------------------------------------------------------------
expect 0 "anna erases M" -- cw --home "$T/anna" erase "${M:0:10}" --yes
expect 0 "erasing again completes nothing more" -- cw --home "$T/anna" erase "$M" --yes
contains "$T/out" "already erased" "a second erase says it was already erased"
expect 1 "anna cannot add a note to M" -- cw --home "$T/anna" note add "$M" "too late"
contains "$T/err" "erased" "the refusal says M was erased"
git --git-dir="$T/anna/log.git" for-each-ref "refs/cw/case/$M/" | grep -q . && bad "anna's repository drops M's chains" ||
  ok "anna's repository drops M's chains"
git --git-dir="$T/anna/log.git" rev-parse -q --verify "refs/cw/erased/$M" >/dev/null && ok "anna holds the tombstone" ||
  bad "anna holds the tombstone"
ls "$T/anna/docs"/*/* >/dev/null 2>&1 && bad "anna's document file is gone" || ok "anna's document file is gone"
pruned anna "$T/own.anna" "M's chains"

# ---- the erasure travels ---------------------------------------------------------------
xfer anna hub
contains "$T/out" "erased" "the hub's import reports the erasure"
pruned hub "$T/own.hub" "M's chains"
expect 0 "anna erases the private case P too" -- cw --home "$T/anna" erase "$P" --yes
expect 0 "anna pushes the erasure to the served hub" -- cw --home "$T/anna" --json sync push "$URL"
contains "$T/out" '"hub_erased_chains_dropped":	[1-9]' "the served hub dropped M's chains"
git --git-dir="$T/srv/hub.git" for-each-ref "refs/cw/case/$M/" | grep -q . && bad "no chain of M served" ||
  ok "no chain of M served"
git --git-dir="$T/srv/hub.git" rev-parse -q --verify "refs/cw/erased/$M" >/dev/null && ok "the tombstone is served" ||
  bad "the tombstone is served"
expect 0 "anna pushes the erasure to the bare repository" -- cw --home "$T/anna" sync push "$T/plain.git"
git --git-dir="$T/plain.git" for-each-ref "refs/cw/case/$M/" | grep -q . && bad "no chain of M in the bare repository" ||
  ok "no chain of M in the bare repository"
# ben's chain of M, written before he knew, arrives after the erasure: left out
xfer ben hub
contains "$T/out" "left out" "the hub leaves ben's chain of M out"
chain_ids ben "$M" "$T/own.ben2"
grep -q . "$T/own.ben2" && ok "ben's late chain of M listed" || bad "ben's late chain of M listed"
pruned hub "$T/own.ben2" "ben's late chain of M (came in by bundle, left out)"
git --git-dir="$T/hub/log.git" for-each-ref "refs/cw/case/$M/" | grep -q . && bad "the hub holds no chain of M" ||
  ok "the hub holds no chain of M"
expect 0 "ben pulls the erasure from the served hub" -- cw --home "$T/ben" sync pull "$URL"
contains "$T/out" "erased" "ben's pull reports the erasure"
pruned ben "$T/own.ben" "M's chains"
pruned ben "$T/own.ben2" "ben's own late chain of M"
expect 0 "ben pushes (nothing of M goes)" -- cw --home "$T/ben" sync push "$URL"
git --git-dir="$T/srv/hub.git" for-each-ref "refs/cw/case/$M/" | grep -q . && bad "ben did not put M back on the served hub" ||
  ok "ben did not put M back on the served hub"
xfer hub clinic
pruned clinic "$T/own.clinic" "M's chains"
expect 0 "the hub pulls from the served hub" -- cw --home "$T/hub" sync pull "$URL"
pruned hub "$T/own.hub" "M's chains (after a pull)"
# The clinic cannot read P, so it knows no creator: anna's own chain in P vouches.
expect 0 "the clinic pulls P's erasure" -- cw --home "$T/clinic" sync pull "$URL"
git --git-dir="$T/clinic/log.git" for-each-ref "refs/cw/case/$P/" | grep -q . && bad "the clinic dropped P's chain" ||
  ok "the clinic dropped P's chain"
git --git-dir="$T/clinic/log.git" rev-parse -q --verify "refs/cw/erased/$P" >/dev/null &&
  ok "the clinic holds P's tombstone" || bad "the clinic holds P's tombstone"
cw --home "$T/clinic" case show "$P" 2>/dev/null | grep -q "was erased" && ok "the clinic: P was erased" ||
  bad "the clinic: P was erased"
pruned clinic "$T/own.clinicP" "P's chain (which it could not read)"

# ---- on every node -----------------------------------------------------------------------
for n in hub anna ben clinic; do
  expect 0 "$n: case show M" -- cw --home "$T/$n" case show "$M"
  contains "$T/out" "was erased on .* by anna" "$n: M was erased, by anna, when"
  grep -q -e "$MARK" -e "Hip" "$T/out" && bad "$n: case show tells nothing else" || ok "$n: case show tells nothing else"
  cw --home "$T/$n" --json case show "$M" >"$T/json" 2>/dev/null
  grep -q '"erased":	true' "$T/json" && grep -q '"erased_by_name":	"anna"' "$T/json" &&
    ok "$n: case show --json says erased by anna" || bad "$n: case show --json: $(head -c 200 "$T/json")"
  cw --home "$T/$n" case list >"$T/list" 2>&1
  grep -q "${M:0:8}" "$T/list" && bad "$n: case list omits M" || ok "$n: case list omits M"
  cw --home "$T/$n" log >"$T/log" 2>&1
  grep "${M:0:8}" "$T/log" | grep -q "erased" && ok "$n: log shows the erasure" || bad "$n: log shows the erasure"
  expect 0 "$n: verify passes" -- cw --home "$T/$n" verify
  for mark in "$MARK" "$MARK_NOTE" "$MARK_DOC" "$MARK_BEN" zorblaxmarker9182 quentonotemark4471 benmarkyotl2093; do
    store_clean "$n" "$mark" || { bad "$n: decrypted store holds $mark: $(grep FAIL "$T/scan")"; continue 2; }
  done
  ok "$n: no marker text in the decrypted store"
  for key in $KEYS; do
    store_clean "$n" "$key" --hex || { bad "$n: decrypted store holds M's key"; continue 2; }
  done
  ok "$n: no key of M in the decrypted store"
  grep -r -a -l -e "$MARK" -e "$MARK_NOTE" -e "$MARK_DOC" "$T/$n" >/dev/null 2>&1 &&
    bad "$n: raw files hold a marker" || ok "$n: raw files hold no marker"
done
[ "$(digest hub "$K")" = "$(digest anna "$K")" ] && [ -n "$(digest hub "$K")" ] &&
  ok "case K is untouched" || bad "case K is untouched"
# the other cases still sync, by bundle and through the hub, after the prunes
expect 0 "anna adds a note to K after the prunes" -- cw --home "$T/anna" note add "$K" "after the prunes"
xfer anna hub
expect 0 "anna pushes K to the served hub" -- cw --home "$T/anna" sync push "$URL"
expect 0 "the hub node pulls" -- cw --home "$T/hub" sync pull "$URL"
[ "$(digest hub "$K")" = "$(digest anna "$K")" ] && ok "K syncs after the prunes" || bad "K syncs after the prunes"
for n in hub anna ben clinic; do
  expect 0 "$n: verify passes after the prunes" -- cw --home "$T/$n" verify
done

# ---- git gc: the ciphertext goes ----------------------------------------------------------
for repo in "$T/hub/log.git:ids.hub" "$T/srv/hub.git:ids.srv" "$T/plain.git:ids.plain"; do
  dir=${repo%%:*} ids=$T/${repo##*:}
  git --git-dir="$dir" gc -q --prune=now 2>"$T/gc" || bad "git gc in $dir: $(head -2 "$T/gc")"
  git --git-dir="$dir" cat-file --batch-all-objects --batch-check | cut -d' ' -f1 >"$T/all"
  left=$(grep -c -F -x -f "$ids" "$T/all")
  [ "$left" -eq 0 ] && [ -s "$T/all" ] && ok "after gc, none of M's $(wc -l <"$ids") objects in $dir" ||
    bad "after gc, $left of M's objects left in $dir"
  git --git-dir="$dir" fsck >/dev/null 2>"$T/fsck" && ok "git fsck clean: $dir" || bad "fsck $dir: $(head -2 "$T/fsck")"
done

# ---- head office may erase any case ---------------------------------------------------------
chain_ids anna "$K" "$T/own.annaK"
chain_ids hub "$K" "$T/own.hubK"
expect 0 "the hub erases case K (not its own)" -- cw --home "$T/hub" erase "$K" --yes
pruned hub "$T/own.hubK" "K's chains (the hub erased it)"
expect 0 "the hub exports to anna" -- cw --home "$T/hub" -q sync export --to anna -o "$B/erase-k"
# an import carrying an erasure, killed at a random point, then run again
"$CW_BINARY" --home "$T/anna" -q sync import "$B/erase-k" >/dev/null 2>&1 &
pid=$!
sleep "0.0$((RANDOM % 7))$((RANDOM % 10))"
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
expect 0 "verify passes after an import killed during an erasure" -- cw --home "$T/anna" verify
expect 0 "the import run again completes" -- cw --home "$T/anna" sync import "$B/erase-k"
git --git-dir="$T/anna/log.git" for-each-ref "refs/cw/case/$K/" | grep -q . && bad "anna dropped K's chains" ||
  ok "anna dropped K's chains"
cw --home "$T/anna" case show "$K" 2>/dev/null | grep -q "was erased on .* by Head office" &&
  ok "anna takes head office's erasure of K" || bad "anna takes head office's erasure of K"
pruned anna "$T/own.annaK" "K's chains (import killed, then run again)"

# ---- kill -9 during erase ------------------------------------------------------------------
for i in 1 2 3 4 5; do
  X=$(cw --home "$T/anna" --json case new --patient "Crash-Marker-$i-$RANDOM$RANDOM" | grep -o '[0-9a-f]\{32\}')
  cw --home "$T/anna" -q note add "$X" "Crash-Note-$i"
  cw --home "$T/anna" -q sync export --to hub -o "$B/crash$i" # chains in anna's log
  chain_ids anna "$X" "$T/own.x"
  "$CW_BINARY" --home "$T/anna" erase "$X" --yes >/dev/null 2>&1 &
  pid=$!
  sleep "0.0$((RANDOM % 7))$((RANDOM % 10))" # the whole erase takes some 50 ms
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  expect 0 "crash $i: verify passes after kill -9 during erase" -- cw --home "$T/anna" verify
  expect 0 "crash $i: a rerun completes the erasure" -- cw --home "$T/anna" erase "$X" --yes
  cw --home "$T/anna" case show "$X" 2>/dev/null | grep -q "was erased" && ok "crash $i: erased" || bad "crash $i: erased"
  git --git-dir="$T/anna/log.git" for-each-ref "refs/cw/case/$X/" | grep -q . && bad "crash $i: chains dropped" ||
    ok "crash $i: chains dropped"
  store_clean anna "Crash-Note-$i" && ok "crash $i: no trace in the store" || bad "crash $i: trace left: $(grep FAIL "$T/scan")"
  pruned anna "$T/own.x" "crash $i's chains"
done
# The store erased, the refs not yet dropped (a crash between the two):
# verify accepts it, the next sync drops them.
Y=$(cw --home "$T/anna" --json case new --patient "Leftover-Case" | grep -o '[0-9a-f]\{32\}')
cw --home "$T/anna" -q sync export --to hub -o "$B/leftover1"
ref=$(git --git-dir="$T/anna/log.git" for-each-ref --format='%(refname) %(objectname)' "refs/cw/case/$Y/")
chain_ids anna "$Y" "$T/own.y"
git --git-dir="$T/anna/log.git" bundle create -q "$T/y.bundle" "${ref% *}" 2>/dev/null
expect 0 "anna erases another case" -- cw --home "$T/anna" erase "$Y" --yes
# the chain's objects and ref put back as if the erasure stopped before them
git --git-dir="$T/anna/log.git" fetch -q "$T/y.bundle" "+${ref% *}:${ref% *}" 2>/dev/null
git --git-dir="$T/anna/log.git" for-each-ref "refs/cw/case/$Y/" | grep -q . && ok "a chain ref of the erased case is put back" ||
  bad "a chain ref of the erased case is put back"
expect 0 "verify accepts a chain left by an interrupted erasure" -- cw --home "$T/anna" verify
expect 0 "anna exports" -- cw --home "$T/anna" -q sync export --to hub -o "$B/leftover2"
git --git-dir="$T/anna/log.git" for-each-ref "refs/cw/case/$Y/" | grep -q . && bad "the next sync drops it" ||
  ok "the next sync drops it"
git bundle list-heads "$B/leftover2" 2>/dev/null | grep -q "refs/cw/case/$Y/" && bad "and never exports it" ||
  ok "and never exports it"
pruned anna "$T/own.y" "the put-back chain (the next sync prunes)"

served_by=$DAEMON_PID
stop_daemon
if [ -n "$served_by" ] && ! kill -0 "$served_by" 2>/dev/null; then ok "git daemon stopped"; else bad "daemon still running"; fi
finish
