#!/usr/bin/env bash
# Hostile bundles at the hub: truncated, bit-flipped, forged signatures,
# replays, bundles for someone else, rewritten chains (equivocation),
# another agency's bundles, and files that are not caseway bundles at all.
# Each must give its documented exit code (CLI.md: 4 verification failed,
# 1 failed), a one-line error, and leave the hub exactly as it was; after
# all of it the good bundle still imports and the hub verifies.
#
# Stock git is used only on scratch repositories under $T, to take bundles
# apart and put forged ones together.
. "$(dirname "$0")/lib.sh"

HUB="$T/hub"
hub() { cw --home "$HUB" "$@"; }
G() { git -c user.name=t -c user.email=t@example.invalid -c init.defaultBranch=main -c core.hooksPath=/dev/null "$@"; }

# A report from a sanitizer anywhere in the last command's stderr is a bug.
no_sanitizer() {
  if grep -qE 'Sanitizer|runtime error:|LeakSanitizer' "$T/err"; then
    bad "$1: sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$T/err")"
  fi
}

# Everything the hub shows about itself: cases (with each case's digest),
# the change log, what it knows of its peers, the roster, the git refs of
# its log and its inbox.
snapshot() {
  {
    echo "## case list"; hub --json case list 2>&1
    for c in $(hub --json case list 2>/dev/null | sed -n 's/.*"id":[[:space:]]*"\([0-9a-f]\{32\}\)".*/\1/p' | sort -u); do
      echo "## case $c"; hub --json case show "$c" 2>&1
    done
    echo "## log"; hub --json log 2>&1
    echo "## sync status"; hub --json sync status 2>&1
    echo "## peers"; hub --json peer list 2>&1
    echo "## roster"; hub --json org roster 2>&1
    echo "## refs"; git --git-dir="$HUB/log.git" for-each-ref 2>&1
    echo "## inbox"; ls -A "$HUB/inbox" 2>&1
  } >"$1"
}
# The object files of the hub's log (a damaged pack must leave none behind).
objects() { (cd "$HUB/log.git/objects" && find . -type f | sort) >"$1"; }

# hostile CODE DESCRIPTION WORD FILE: the hub imports FILE; wants exit CODE,
# a one-line error mentioning WORD (case-insensitive; "" for any) and the hub
# unchanged. -q keeps the progress lines off stderr, so only the error is there.
hostile() {
  local want=$1 what=$2 word=$3 file=$4
  snapshot "$T/before"
  objects "$T/objects.before"
  expect "$want" "$what" -- hub -q sync import "$file"
  one_line_error "$what"
  no_sanitizer "$what"
  echo "#   $(head -c 300 "$T/err")"
  if [ -n "$word" ]; then
    if grep -qi -- "$word" "$T/err"; then ok "$what: message says '$word'"
    else bad "$what: message lacks '$word': $(head -c 300 "$T/err")"; fi
  fi
  snapshot "$T/after"
  if cmp -s "$T/before" "$T/after"; then ok "$what: hub state unchanged"
  else bad "$what: hub state changed:"; diff "$T/before" "$T/after" | head -8 | sed 's/^/    /'; fi
  objects "$T/objects.after"
}
# After hostile(): the bundle's pack must not have been kept either.
no_new_objects() {
  if cmp -s "$T/objects.before" "$T/objects.after"; then ok "$1: no objects left behind"
  else bad "$1: objects left in log.git:"; diff "$T/objects.before" "$T/objects.after" | head -5 | sed 's/^/    /'; fi
}

flip_bit() { # flip_bit FILE OFFSET: invert the lowest bit of the byte at OFFSET
  local f=$1 off=$2 b
  b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
  printf "$(printf '\\%03o' $(( b ^ 1 )))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# damage_sig COMMITFILE: change one base64 character in the middle of the
# third line of the SSHSIG armour (the ed25519 signature bytes).
damage_sig() {
  awk '
    /^gpgsig -----BEGIN SSH SIGNATURE-----$/ { at = NR }
    at && NR == at + 3 { c = substr($0, 20, 1); $0 = substr($0, 1, 19) (c == "A" ? "B" : "A") substr($0, 21) }
    { print }' "$1"
}

# --- the agency: hub, anna, ben -----------------------------------------------------
mkorg && enrolled "$T/anna" anna coordinator && enrolled "$T/ben" ben coordinator ||
  { bad "setting up the agency"; finish; exit; }
hub whoami --cert -o "$T/hub.cert" >/dev/null
expect 0 "hub adds anna" -- hub peer add anna --cert "$T/anna.cert"
expect 0 "hub adds ben" -- hub peer add ben --cert "$T/ben.cert"
expect 0 "anna adds the hub" -- cw --home "$T/anna" peer add hub --cert "$T/hub.cert"
expect 0 "ben adds the hub" -- cw --home "$T/ben" peer add hub --cert "$T/hub.cert"
# The hub as it is before any bundle, for step 9.
cp -a "$HUB" "$T/hub.fresh"

A() { cw --home "$T/anna" "$@"; }
expect 0 "anna: new case" -- A --json case new --patient "Maria Schmidt" --procedure "Knee replacement"
CASE=$(sed -n 's/.*"id":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$T/out")
[ ${#CASE} -eq 32 ] && ok "case id" || bad "no case id: $(cat "$T/out")"
expect 0 "anna: set a field" -- A case set "$CASE" consent=requested languages=German
expect 0 "anna: add a note" -- A note add "$CASE" "Daughter travels with her."
# anna before her first export: her chains are not written yet (export
# signs them), so a copy of this home can later write other commits for
# the same sequence numbers.
cp -a "$T/anna" "$T/anna.bak"
expect 0 "anna exports to the hub" -- A --json sync export --to hub -o "$T/good.bundle"
grep -qE '"seq":[[:space:]]*1([^0-9]|$)' "$T/out" && ok "good bundle is number 1" || bad "good bundle seq: $(cat "$T/out")"
GOOD_SIZE=$(stat -c %s "$T/good.bundle")
HDR_LEN=$(sed -n '1,/^$/p' "$T/good.bundle" | wc -c)   # header, up to and with its blank line

# --- 1, 2: damaged packs, on an empty hub and on one that has the objects ---------
head -c $((GOOD_SIZE / 2)) "$T/good.bundle" >"$T/half.bundle"
cp "$T/good.bundle" "$T/flipped.bundle"
flip_bit "$T/flipped.bundle" $((HDR_LEN + (GOOD_SIZE - HDR_LEN) / 2))
head -c $((HDR_LEN + 20)) "$T/good.bundle" >"$T/headeronly.bundle"
# one hex digit of the first ref's id in the header ("# v2 git bundle\n" is 16 bytes)
cp "$T/good.bundle" "$T/badref.bundle"
flip_bit "$T/badref.bundle" 25
hostile 4 "empty hub: truncated bundle" "" "$T/half.bundle"; no_new_objects "empty hub: truncated bundle"
hostile 4 "empty hub: flipped bit in the pack" "" "$T/flipped.bundle"; no_new_objects "empty hub: flipped bit"
hostile 4 "empty hub: header and a scrap of pack" "" "$T/headeronly.bundle"; no_new_objects "empty hub: scrap of pack"
hostile 4 "empty hub: a damaged ref id in the header" "" "$T/badref.bundle"; no_new_objects "empty hub: bad ref id"

# --- the good bundle goes in ----------------------------------------------------------
expect 0 "hub imports the good bundle" -- hub -q --json sync import "$T/good.bundle"
grep -q '"status":[[:space:]]*"imported"' "$T/out" && ok "status imported" || bad "good import: $(cat "$T/out")"
expect 0 "hub shows the case" -- hub --json case show "$CASE"
DIGEST=$(sed -n 's/.*"digest":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$T/out")
[ ${#DIGEST} -eq 64 ] && ok "case digest on the hub" || bad "no digest: $(head -c 300 "$T/out")"
expect 0 "anna's digest" -- A --json case show "$CASE"
grep -q "\"digest\":[[:space:]]*\"$DIGEST\"" "$T/out" && ok "hub and anna agree on the digest" || bad "digests differ"

# --- 4a: the same bundle again is harmless ------------------------------------------
snapshot "$T/before"
expect 0 "the good bundle again" -- hub -q --json sync import "$T/good.bundle"
grep -q '"status":[[:space:]]*"already imported"' "$T/out" && ok "again: already imported" || bad "again: $(cat "$T/out")"
grep -q '"ops":[[:space:]]*0,' "$T/out" && ok "again: no new changes" || bad "again: ops $(cat "$T/out")"
snapshot "$T/after"
# (the time of the last bundle received may move; nothing else)
if diff <(grep -v last_received "$T/before") <(grep -v last_received "$T/after") >/dev/null; then ok "again: hub unchanged"
else bad "again: hub state changed:"; diff "$T/before" "$T/after" | head -8 | sed 's/^/    /'; fi

# --- 1, 2 again, now that the hub holds these objects --------------------------------
hostile 4 "truncated bundle" "" "$T/half.bundle"; no_new_objects "truncated bundle"
hostile 4 "flipped bit in the pack" "" "$T/flipped.bundle"; no_new_objects "flipped bit"

# --- 3: damaged signatures -----------------------------------------------------------
S="$T/s"
G init -q --bare "$S" && G -C "$S" fetch -q "$T/good.bundle" 'refs/*:refs/*' && ok "stock git reads the good bundle" ||
  bad "stock git fetch from the good bundle"
REFS=$(G -C "$S" for-each-ref --format='%(refname)')
CHAIN_REF=$(G -C "$S" for-each-ref --format='%(refname)' "refs/cw/case/$CASE/")
# the manifest's signature
G -C "$S" cat-file commit refs/cw/manifest >"$T/manifest.commit"
damage_sig "$T/manifest.commit" >"$T/manifest.bad"
if cmp -s "$T/manifest.commit" "$T/manifest.bad"; then bad "could not damage the manifest signature"; fi
BADM=$(G -C "$S" hash-object -t commit -w --literally --stdin <"$T/manifest.bad")
G -C "$S" update-ref refs/cw/manifest "$BADM"
G -C "$S" bundle create -q "$T/badsig.bundle" $REFS 2>/dev/null || bad "stock git bundle create (bad manifest signature)"
hostile 4 "manifest with a damaged signature" "manifest" "$T/badsig.bundle"
G -C "$S" update-ref refs/cw/manifest "$(sed -n '/refs\/cw\/manifest$/s/ .*//p' "$T/good.bundle")"
# a chain commit's signature: its id changes, so the (intact) signed
# manifest no longer names it; the refusal may come from either check
G -C "$S" cat-file commit "$CHAIN_REF" >"$T/chain.commit"
damage_sig "$T/chain.commit" >"$T/chain.bad"
if cmp -s "$T/chain.commit" "$T/chain.bad"; then bad "could not damage the chain signature"; fi
BADC=$(G -C "$S" hash-object -t commit -w --literally --stdin <"$T/chain.bad")
G -C "$S" update-ref "$CHAIN_REF" "$BADC"
G -C "$S" bundle create -q "$T/badchain.bundle" $REFS 2>/dev/null || bad "stock git bundle create (bad chain signature)"
hostile 4 "chain commit with a damaged signature" "" "$T/badchain.bundle"
G -C "$S" update-ref "$CHAIN_REF" "$(sed -n "\\#$CHAIN_REF\$#s/ .*//p" "$T/good.bundle")"
# a stock-git rebuild of the intact bundle is accepted (so the two above
# were refused for the damage, not for stock git's packing)
G -C "$S" bundle create -q "$T/rebuilt.bundle" $REFS 2>/dev/null
expect 0 "a stock-git rebuild of the good bundle imports (already imported)" -- hub -q --json sync import "$T/rebuilt.bundle"
grep -q '"already imported"' "$T/out" && ok "rebuilt: already imported" || bad "rebuilt: $(cat "$T/out")"

# --- 4b: a replay: number 1 again, other contents -------------------------------------
cp -a "$T/anna.bak" "$T/anna.r"
expect 0 "restored anna: another change" -- cw --home "$T/anna.r" note add "$CASE" "Prefers an aisle seat."
expect 0 "restored anna exports again" -- cw --home "$T/anna.r" --json sync export --to hub -o "$T/replay.bundle"
grep -qE '"seq":[[:space:]]*1([^0-9]|$)' "$T/out" && ok "replay bundle is number 1 again" || bad "replay seq: $(cat "$T/out")"
hostile 4 "replay: bundle 1 with other contents" "replay" "$T/replay.bundle"

# --- 5: a bundle for another device ---------------------------------------------------
expect 0 "anna adds ben" -- A peer add ben --cert "$T/ben.cert"
expect 0 "anna exports to ben" -- A sync export --to ben -o "$T/forben.bundle"
hostile 4 "a bundle for ben" "for ben" "$T/forben.bundle"

# --- 6: equivocation: anna's chain rewritten ------------------------------------------
# From the copy taken before her first export anna writes a different
# commit for her seqs 1.. of the case. Her first export from there is
# bundle number 1 again (refused above as a replay), so it is discarded and
# the second one, number 2, is used: its manifest is new and validly
# signed, so what refuses it is the chain check (the hub holds a chain head
# that the new head does not continue).
cp -a "$T/anna.bak" "$T/anna.e"
expect 0 "rewinding anna: another change" -- cw --home "$T/anna.e" case set "$CASE" consent=signed
expect 0 "rewinding anna: export 1 (discarded)" -- cw --home "$T/anna.e" sync export --to hub -o "$T/discard.bundle"
expect 0 "rewinding anna: export 2" -- cw --home "$T/anna.e" --json sync export --to hub -o "$T/equiv.bundle"
grep -qE '"seq":[[:space:]]*2([^0-9]|$)' "$T/out" && ok "equivocating bundle is number 2" || bad "equiv seq: $(cat "$T/out")"
grep -q "refs/cw/case/$CASE/" "$T/equiv.bundle" && ok "it carries anna's chain" || bad "equiv bundle lacks the chain"
hostile 4 "rewritten chain (equivocation)" "equivocation" "$T/equiv.bundle"

# --- 7: another agency; a manifest signed by an unknown key ----------------------------
R="$T/rhub"
mknode "$R" "Rogue office" hub && cw --home "$R" org create --name "Rogue Travel" $FAST >/dev/null
mknode "$T/rogue" rogue coordinator
cw --home "$T/rogue" whoami --request -o "$T/rogue.req" 2>/dev/null
cw --home "$R" org enroll "$T/rogue.req" --role coordinator -o "$T/rogue.cert" >/dev/null 2>&1
cw --home "$T/rogue" org join "$T/rogue.cert" >/dev/null
cw --home "$R" whoami --cert -o "$T/rhub.cert" >/dev/null
expect 0 "rogue adds its hub" -- cw --home "$T/rogue" peer add rhub --cert "$T/rhub.cert"
expect 0 "rogue: new case" -- cw --home "$T/rogue" --json case new --patient "John Doe"
RCASE=$(sed -n 's/.*"id":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$T/out")
expect 0 "rogue: a note" -- cw --home "$T/rogue" note add "$RCASE" "Nothing to see."
expect 0 "rogue exports to its hub" -- cw --home "$T/rogue" sync export --to rhub -o "$T/rogue.bundle"
expect 4 "our hub is no peer of the rogue agency" -- cw --home "$T/rogue" -q peer add hub --cert "$T/hub.cert"
one_line_error "foreign hub as peer"
hostile 4 "another agency's bundle (commits by an unenrolled key)" "" "$T/rogue.bundle"
# Our roster and anna's chain, but the rogue's manifest: the signature
# check on the manifest must refuse the unknown key.
S2="$T/s2"
G init -q --bare "$S2" && G -C "$S2" fetch -q "$T/good.bundle" 'refs/*:refs/*' &&
  G -C "$S2" fetch -q "$T/rogue.bundle" '+refs/cw/manifest:refs/cw/manifest' "refs/cw/case/*:refs/rogue/*" ||
  bad "stock git fetch for the unknown-key bundle"
G -C "$S2" bundle create -q "$T/unknownkey.bundle" $REFS 2>/dev/null || bad "stock git bundle create (unknown key)"
hostile 4 "manifest signed by an unknown key" "manifest" "$T/unknownkey.bundle"
# The good manifest with the rogue's chain smuggled in beside it.
G -C "$S2" update-ref refs/cw/manifest "$(sed -n '/refs\/cw\/manifest$/s/ .*//p' "$T/good.bundle")"
RREF=$(G -C "$S2" for-each-ref --format='%(refname)' refs/rogue/ | head -1)
G -C "$S2" update-ref "refs/cw/case/$RCASE/${RREF##*/}" "$RREF"
G -C "$S2" bundle create -q "$T/smuggled.bundle" $REFS "refs/cw/case/$RCASE/${RREF##*/}" 2>/dev/null ||
  bad "stock git bundle create (smuggled chain)"
hostile 4 "a chain the signed manifest does not name" "" "$T/smuggled.bundle"

# --- 8: not a caseway bundle ---------------------------------------------------------
head -c 4096 /dev/urandom >"$T/random.bundle"
: >"$T/empty.bundle"
P="$T/plain"
G init -q "$P" && echo hello >"$P/a.txt" && G -C "$P" add a.txt && G -C "$P" commit -q -m one &&
  G -C "$P" bundle create -q "$T/plain.bundle" refs/heads/main 2>/dev/null || bad "stock git bundle of a plain repo"
G -C "$P" bundle create -q --version=3 "$T/plain3.bundle" refs/heads/main 2>/dev/null || bad "stock git v3 bundle"
# an unsigned commit posing as the manifest
G -C "$P" update-ref refs/cw/manifest HEAD
G -C "$P" bundle create -q "$T/unsigned.bundle" refs/cw/manifest 2>/dev/null || bad "stock git bundle (unsigned manifest)"
hostile 4 "random bytes" "" "$T/random.bundle"; no_new_objects "random bytes"
hostile 4 "an empty file" "" "$T/empty.bundle"; no_new_objects "empty file"
hostile 4 "a stock git bundle of an ordinary repository" "" "$T/plain.bundle"; no_new_objects "stock git bundle"
hostile 4 "a stock git v3 bundle" "" "$T/plain3.bundle"; no_new_objects "v3 bundle"
hostile 4 "an unsigned commit as the manifest" "manifest" "$T/unsigned.bundle"
# Not there at all: nothing was verified, so this is 1 (failed), not 4.
hostile 1 "a missing file" "" "$T/no-such.bundle"
hostile 1 "a directory" "" "$T"
# Several at once: each refused, the exit code is the worst (4).
snapshot "$T/before"
expect 4 "several hostile bundles at once" -- hub -q sync import "$T/half.bundle" "$T/replay.bundle" "$T/equiv.bundle"
no_sanitizer "several at once"
[ "$(grep -c '^caseway: ' "$T/err")" -eq 4 ] && ok "several: one line per bundle and a summary" ||
  bad "several: stderr: $(head -c 400 "$T/err")"
snapshot "$T/after"
cmp -s "$T/before" "$T/after" && ok "several: hub state unchanged" || bad "several: hub state changed"

# --- 9: nothing poisoned ------------------------------------------------------------
expect 0 "the good bundle imports into a fresh hub" -- cw --home "$T/hub.fresh" -q --json sync import "$T/good.bundle"
grep -q '"status":[[:space:]]*"imported"' "$T/out" && ok "fresh hub: imported" || bad "fresh hub: $(cat "$T/out")"
expect 0 "fresh hub shows the case" -- cw --home "$T/hub.fresh" --json case show "$CASE"
grep -q "\"digest\":[[:space:]]*\"$DIGEST\"" "$T/out" && ok "fresh hub has the same digest" || bad "fresh hub digest differs"
expect 0 "the hub verifies" -- hub -q verify
no_sanitizer "verify"
expect 0 "hub: case digest unchanged by it all" -- hub --json case show "$CASE"
grep -q "\"digest\":[[:space:]]*\"$DIGEST\"" "$T/out" && ok "hub digest as after the good bundle" || bad "hub digest moved"
# anna's next bundle (number 2 to the hub) still goes in.
expect 0 "anna: one more change" -- A note add "$CASE" "Visa approved."
expect 0 "anna exports bundle 2" -- A --json sync export --to hub -o "$T/next.bundle"
grep -qE '"seq":[[:space:]]*2([^0-9]|$)' "$T/out" && ok "next bundle is number 2" || bad "next seq: $(cat "$T/out")"
expect 0 "the hub takes anna's next bundle" -- hub -q --json sync import "$T/next.bundle"
grep -q '"status":[[:space:]]*"imported"' "$T/out" && ok "next: imported" || bad "next: $(cat "$T/out")"
expect 0 "the hub still verifies" -- hub -q verify
expect 0 "anna's digest now" -- A --json case show "$CASE"
D2=$(sed -n 's/.*"digest":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$T/out")
expect 0 "hub's digest now" -- hub --json case show "$CASE"
grep -q "\"digest\":[[:space:]]*\"$D2\"" "$T/out" && ok "hub and anna agree again" || bad "hub and anna disagree after bundle 2"

finish
