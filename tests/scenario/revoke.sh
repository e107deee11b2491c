#!/usr/bin/env bash
# tests/scenario/revoke.sh - revocation and key rotation (DESIGN 3.2, 3.6):
# head office revokes a coordinator whose laptop was lost; the laptop, not
# yet told, keeps writing and pushes to the hub's git repository and sends a
# bundle to the clinic: both refuse what came after the revocation and keep
# what came before; once the laptop syncs it learns it is revoked and stops
# writing. Then a case is unshared from the clinic: what is written after is
# sealed under a key generation the clinic never gets, and the test's own
# attempt to open it with the clinic's keys fails.
# Usage: bash tests/scenario/revoke.sh path/to/caseway
. "$(dirname "$0")/../cli/lib.sh" "$1"

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
TRY_OPEN="${CW_BUILD:-$(dirname "$CW_BINARY")}/tests/cw_try_open"
B="$T/bundles"
mkdir -p "$B"
BEFORE="Before-Revocation-4471"
AFTER="After-Revocation-9083"
SECRET="After-Unshare-6120"

export_to() { # NODE PEER NAME
  expect 0 "$1 exports to $2 ($3)" -- cw --home "$T/$1" -q sync export --to "$2" -o "$B/$3"
}
import_ok() { expect 0 "$1 imports $(basename "$2")" -- cw --home "$T/$1" -q sync import "$2"; }
digest() { cw --home "$T/$1" --json case show "$2" 2>/dev/null | grep '"digest"' | grep -o '[0-9a-f]\{64\}'; }
shows() { # NODE CASE TEXT WHAT: case show on NODE contains TEXT
  if cw --home "$T/$1" case show "$2" 2>/dev/null | grep -q -- "$3"; then ok "$4"; else bad "$4"; fi
}
hides() {
  if cw --home "$T/$1" case show "$2" 2>/dev/null | grep -q -- "$3"; then bad "$4"; else ok "$4"; fi
}

# ---- the agency: hub, anna and ben (coordinators), a clinic; a git hub repo -------
mkorg && ok "hub and agency made" || bad "hub and agency made"
for n in anna:coordinator ben:coordinator clinic:clinic; do
  enrolled "$T/${n%%:*}" "${n%%:*}" "${n#*:}" && ok "${n%%:*} enrolled" || bad "${n%%:*} enrolled"
done
for n in hub anna ben clinic; do cw --home "$T/$n" whoami --cert -o "$T/$n.crt" 2>/dev/null; done
for n in anna ben clinic; do
  cw --home "$T/hub" peer add "$n" --cert "$T/$n.crt" >/dev/null 2>&1 || bad "hub adds $n"
  cw --home "$T/$n" peer add hub --cert "$T/hub.crt" >/dev/null 2>&1 || bad "$n adds hub"
done
cw --home "$T/anna" peer add clinic --cert "$T/clinic.crt" >/dev/null 2>&1
cw --home "$T/anna" peer add ben --cert "$T/ben.crt" >/dev/null 2>&1
cw --home "$T/ben" peer add clinic --cert "$T/clinic.crt" >/dev/null 2>&1
git init -q --bare "$T/hub.git"
BEN=$(cw --home "$T/ben" --json whoami 2>/dev/null | grep -o '"id":[[:space:]]*"[0-9a-f]\{16\}"' | grep -o '[0-9a-f]\{16\}')
CLINIC=$(cw --home "$T/clinic" --json whoami 2>/dev/null | grep -o '"id":[[:space:]]*"[0-9a-f]\{16\}"' | grep -o '[0-9a-f]\{16\}')
[ -n "$BEN" ] && [ -n "$CLINIC" ] && ok "device ids: ben $BEN, clinic $CLINIC" || bad "device ids"

# ---- a case shared with ben and the clinic; ben writes before the theft ------------
M=$(cw --home "$T/anna" --json case new --patient "Maria Lopez" --procedure "Hip" 2>/dev/null |
    grep -o '[0-9a-f]\{32\}')
[ -n "$M" ] && ok "anna made case $M" || bad "anna made a case"
expect 0 "anna shares with ben" -- cw --home "$T/anna" share "$M" --with ben
expect 0 "anna shares with the clinic" -- cw --home "$T/anna" share "$M" --with clinic
export_to anna hub a1 && import_ok hub "$B/a1"
export_to hub ben h-ben1 && import_ok ben "$B/h-ben1"
expect 0 "ben writes a note before the theft" -- cw --home "$T/ben" note add "$M" "$BEFORE"
export_to ben hub b1 && import_ok hub "$B/b1"
export_to hub clinic h-cl1 && import_ok clinic "$B/h-cl1"
shows clinic "$M" "$BEFORE" "the clinic has ben's note from before"
expect 0 "hub pushes to the hub repository" -- cw --home "$T/hub" -q sync push "$T/hub.git"

# ---- head office revokes ben -------------------------------------------------------
expect 0 "hub revokes ben" -- cw --home "$T/hub" org revoke ben
contains "$T/out" "Revoked ben" "revoke says whom it revoked"
expect 3 "revoke needs the passphrase" -- env CASEWAY_PASSPHRASE=wrong "$CW_BINARY" --home "$T/hub" org revoke clinic
expect 1 "revoking ben twice is refused" -- cw --home "$T/hub" org revoke ben
one_line_error "revoking twice"
expect 1 "revoking an unknown device is refused" -- cw --home "$T/hub" org revoke nobody
expect 0 "org roster" -- cw --home "$T/hub" org roster
if grep "$BEN" "$T/out" | grep -q revoked; then ok "roster shows ben revoked"; else bad "roster shows ben revoked"; fi
if grep "$CLINIC" "$T/out" | grep -q active; then ok "roster shows the clinic active"; else bad "roster shows the clinic active"; fi
expect 0 "org roster --json" -- cw --home "$T/hub" --json org roster
contains "$T/out" '"status":[[:space:]]*"revoked"' "roster --json has a revoked status"
keygen() { cw --home "$T/$1" --json case show "$2" 2>/dev/null | grep -o '"key_generation":[[:space:]]*"[0-9]*"' | grep -o '[0-9]*"$' | tr -d '"'; }
G2=$(keygen hub "$M")
[ -n "$G2" ] && [ "$G2" -ge 2 ] && ok "revocation rotated the case key on the hub (generation $G2)" || bad "revocation rotated the case key on the hub"
export_to hub clinic h-cl2 && import_ok clinic "$B/h-cl2"
expect 0 "hub pushes the revocation" -- cw --home "$T/hub" -q sync push "$T/hub.git"
D_CLINIC=$(digest clinic "$M")
D_HUB=$(digest hub "$M")

expect 0 "log shows the revocation" -- cw --home "$T/hub" log "$M"
if grep "$BEN" "$T/out" | grep -q "revoked"; then ok "log names ben as revoked"; else bad "log names ben as revoked"; fi
expect 0 "log --json" -- cw --home "$T/hub" --json log
contains "$T/out" '"action":[[:space:]]*"revoked"' "log --json has the revocation"

expect 0 "head office's bundle for ben" -- cw --home "$T/hub" -q sync export --to ben -o "$B/h-ben-after"
if git bundle list-heads "$B/h-ben-after" | grep -q "refs/cw/case/"; then bad "ben is sent no case any more"
else ok "ben is sent no case any more, only the roster that revokes him"; fi

# ---- the stolen laptop, not yet told, writes and spreads ---------------------------
expect 0 "ben (not yet told) writes after the revocation" -- cw --home "$T/ben" note add "$M" "$AFTER"
expect 0 "ben pushes to the hub repository (plain git accepts it)" -- cw --home "$T/ben" -q sync push "$T/hub.git"
expect 4 "the hub refuses ben's later changes on pull" -- cw --home "$T/hub" sync pull "$T/hub.git"
contains "$T/err" "$BEN" "the refusal names ben's device"
contains "$T/err" "revoked" "the refusal says revoked"
one_line_error "pull refusal"
expect 0 "a second pull is quiet about what it refused before" -- cw --home "$T/hub" -q sync pull "$T/hub.git"
hides hub "$M" "$AFTER" "the hub does not have ben's note from after"
shows hub "$M" "$BEFORE" "the hub keeps ben's note from before"
[ "$(digest hub "$M")" = "$D_HUB" ] && ok "the hub's case is unchanged" || bad "the hub's case is unchanged"
expect 0 "ben exports a bundle to the clinic" -- cw --home "$T/ben" -q sync export --to clinic -o "$B/b-cl"
expect 4 "the clinic refuses ben's bundle" -- cw --home "$T/clinic" sync import "$B/b-cl"
contains "$T/err" "$BEN" "the clinic's refusal names ben's device"
one_line_error "bundle refusal"
[ "$(digest clinic "$M")" = "$D_CLINIC" ] && ok "the clinic's case is unchanged" || bad "the clinic's case is unchanged"
shows clinic "$M" "$BEFORE" "the clinic keeps ben's note from before"
hides clinic "$M" "$AFTER" "the clinic does not have ben's note from after"
expect 0 "hub verify passes" -- cw --home "$T/hub" verify
expect 0 "clinic verify passes" -- cw --home "$T/clinic" verify

# ---- the laptop syncs and learns -----------------------------------------------------
expect 0 "ben imports head office's bundle" -- cw --home "$T/ben" -q sync import "$B/h-ben-after"
expect 4 "ben, once told, can no longer write" -- cw --home "$T/ben" note add "$M" "one more"
contains "$T/err" "revoked" "ben is told it was revoked"
one_line_error "revoked writer"

# ---- anna takes the new key from head office ---------------------------------------
export_to hub anna h-a1 && import_ok anna "$B/h-a1"
[ "$(keygen anna "$M")" = "$G2" ] && ok "anna knows the new key generation" || bad "anna knows the new key generation"
expect 0 "anna writes under the new key" -- cw --home "$T/anna" note add "$M" "after rotation"
export_to anna hub a2 && import_ok hub "$B/a2"
last=$(git --git-dir="$T/hub/log.git" log -1 --format=%B "refs/cw/case/$M/$(cw --home "$T/anna" --json whoami | grep -o '"id":[[:space:]]*"[0-9a-f]\{16\}"' | grep -o '[0-9a-f]\{16\}')")
case "$last" in *"key: $G2"*) ok "anna's new commit names key generation $G2" ;; *) bad "anna's new commit names key generation $G2: $last" ;; esac
shows hub "$M" "after rotation" "the hub reads anna's note under the new key"

# ---- unshare: the clinic cannot read what comes after --------------------------------
expect 2 "key_generation cannot be set by hand" -- cw --home "$T/anna" case set "$M" key_generation=9
one_line_error "reserved field"
expect 0 "anna unshares the case from the clinic" -- cw --home "$T/anna" unshare "$M" --with clinic
contains "$T/out" "no longer shared" "unshare says so"
G3=$(keygen anna "$M")
[ -n "$G3" ] && [ "$G3" -gt "$G2" ] && ok "unshare started generation $G3" || bad "unshare started a new generation ($G3 after $G2)"
expect 1 "unsharing again is refused" -- cw --home "$T/anna" unshare "$M" --with clinic
one_line_error "unshare twice"
expect 0 "anna writes a secret note" -- cw --home "$T/anna" note add "$M" "$SECRET"
export_to anna hub a3 && import_ok hub "$B/a3"
shows hub "$M" "$SECRET" "the hub reads the note written after the unshare"
expect 0 "the hub's next bundle for the clinic" -- cw --home "$T/hub" -q sync export --to clinic -o "$B/h-cl3"
if git bundle list-heads "$B/h-cl3" 2>/dev/null | grep -q "refs/cw/case/$M/"; then
  bad "the case no longer travels to the clinic"; else ok "the case no longer travels to the clinic"; fi
import_ok clinic "$B/h-cl3"
# give the clinic the ciphertext anyway, as a hub compromise or a stolen hub copy would
git --git-dir="$T/clinic/log.git" fetch -q "$T/hub/log.git" "refs/cw/case/$M/*:refs/cw/case/$M/*" 2>"$T/err" &&
  ok "the clinic's repository is given the new ciphertext" || bad "fetching the ciphertext into the clinic"
ANNA=$(cw --home "$T/anna" --json whoami | grep -o '"id":[[:space:]]*"[0-9a-f]\{16\}"' | grep -o '[0-9a-f]\{16\}')
if [ -x "$TRY_OPEN" ]; then
  "$TRY_OPEN" "$T/clinic" "refs/cw/case/$M/$ANNA" >"$T/opened" 2>"$T/tryerr" && ok "the test tries every commit with the clinic's keys" || bad "try_open on the clinic: $(head -c 600 "$T/tryerr")"
  if grep -q "key 1 opened" "$T/opened"; then ok "the clinic opens what it had (first generation)"; else bad "the clinic opens the first generation: $(cat "$T/opened")"; fi
  if grep -q "key $G2 opened" "$T/opened"; then ok "the clinic opens generation $G2 (it was still a member)"; else bad "the clinic opens generation $G2: $(cat "$T/opened")"; fi
  if grep -q "key $G3 sealed" "$T/opened" && ! grep -q "key $G3 opened" "$T/opened"; then
    ok "what was written after the unshare (generation $G3) stays sealed to the clinic"
  else bad "generation $G3 sealed to the clinic: $(cat "$T/opened")"; fi
  "$TRY_OPEN" "$T/hub" "refs/cw/case/$M/$ANNA" >"$T/opened-hub" 2>/dev/null
  if grep -q "sealed" "$T/opened-hub"; then bad "the hub opens every generation"; else ok "the hub opens every generation"; fi
else
  bad "cw_try_open not built at $TRY_OPEN"
fi
# ---- the removed clinic plants a key of its own choosing: nobody takes it -----------
PLANT="${CW_BUILD:-$(dirname "$CW_BINARY")}/tests/cw_plant_key"
PLANTED=$((G3 + 1000))
if "$PLANT" "$T/clinic" "$M" "$PLANTED" 2>"$T/plant.err"; then ok "the clinic plants generation $PLANTED"; else bad "planting: $(cat "$T/plant.err")"; fi
expect 0 "the clinic writes under its planted key" -- cw --home "$T/clinic" note add "$M" "planted"
expect 0 "the clinic sends it to head office" -- cw --home "$T/clinic" -q sync export --to hub -o "$B/c-plant"
cw --home "$T/hub" -q sync import "$B/c-plant" >/dev/null 2>&1
[ "$(keygen hub "$M")" = "$G3" ] && ok "head office keeps generation $G3" || bad "head office's generation moved to $(keygen hub "$M")"
hides hub "$M" "planted" "head office does not take what was sealed under the planted key"
export_to hub anna h-a4 && import_ok anna "$B/h-a4"
expect 0 "anna writes after the planting" -- cw --home "$T/anna" note add "$M" "$SECRET-2"
export_to anna hub a4 && import_ok hub "$B/a4"
last=$(git --git-dir="$T/hub/log.git" log -1 --format=%B "refs/cw/case/$M/$ANNA")
case "$last" in *"key: $PLANTED"*) bad "anna sealed under the planted key" ;; *) ok "anna does not seal under the planted key" ;; esac
expect 0 "head office's bundle for the clinic" -- cw --home "$T/hub" -q sync export --to clinic -o "$B/h-cl4"
if git bundle list-heads "$B/h-cl4" 2>/dev/null | grep -q "refs/cw/case/$M/"; then
  bad "the case travels to the clinic again after its planting"; else ok "the case still does not travel to the clinic"; fi

# and the clinic's own caseway takes the ciphertext without reading it
expect 0 "the clinic verifies with the ciphertext in its log" -- cw --home "$T/clinic" verify
expect 0 "the clinic imports again after the fetch" -- cw --home "$T/clinic" -q sync import "$B/h-cl3"
hides clinic "$M" "$SECRET" "the clinic never sees the note written after the unshare"
if grep -rqa "$SECRET" "$T/clinic" "$T/hub/log.git"; then bad "plaintext on disk"; else ok "no plaintext of the secret note on any disk"; fi

finish
