#!/usr/bin/env bash
# The README's main job must keep working: run the field demo as a test and
# check the story's key lines - the conflict found and settled everywhere,
# `check` catching the flight home inside the recovery window, the handoff
# verified against the agency fingerprint, the doctor's reply taken in and
# reaching head office, every digest equal, the git daemon stopped and the
# temporary folder gone.
# Usage: bash tests/scenario/field_demo.sh path/to/caseway
. "$(dirname "$0")/../cli/lib.sh" "$1"
DEMO=$(cd "$(dirname "$0")/../../docs" && pwd)/field-demo.sh

mkdir -p "$T/tmp"
start=$(date +%s)
TMPDIR="$T/tmp" bash "$DEMO" "$CW_BINARY" >"$T/demo.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then ok "the demo runs to the end ($(($(date +%s) - start)) s)"; else
  bad "the demo runs to the end (exit $rc)"; tail -20 "$T/demo.out" | sed 's/^/    /'; fi
O="$T/demo.out"
has() { grep -q -- "$1" "$O"; } # a line of the demo's output (basic regex)
line() { if has "$1"; then ok "$2"; else bad "$2 (no line like '$1')"; fi; }

# the agency, and the fingerprints that must match later
ORG=$(sed -n "s/^Agency 'Acme Medical Travel' created. Agency key fingerprint: \([0-9a-f-]*\)$/\1/p" "$O")
DOC=$(sed -n 's/^Fingerprint: \([0-9a-f-]*\) .*/\1/p' "$O")
[ -n "$ORG" ] && ok "the agency is made ($ORG)" || bad "the agency is made"
[ -n "$DOC" ] && ok "the doctor's key is made ($DOC)" || bad "the doctor's key is made"
line "^Joined agency 'Acme Medical Travel' as coordinator. Agency key fingerprint: $ORG$" "Ana joins the agency"
line "^Joined agency 'Acme Medical Travel' as clinic" "the clinic joins the agency"
line "^   git daemon (pid [0-9]*) serves git://127.0.0.1:[0-9]*/agency.git$" "git daemon serves the hub on 127.0.0.1"

# day one and the USB stick
line "^Stored document [0-9a-f]* (200000 bytes, encrypted)" "a scanned document is stored"
line "^usb/ana-to-clinic.bundle: bundle 1 from ana: [1-9][0-9]* new changes.$" "the clinic reads Ana's bundle"
line "^usb/clinic-to-ana.bundle: bundle 1 from clinic: [1-9][0-9]* new changes*.$" "Ana reads the clinic's bundle"
line "^   usb/clinic-to-ana.bundle: [1-9][0-9]* bytes on the stick; written in [0-9]* ms, read in [0-9]* ms$" "bundle size and times printed"

# check: the flight home inside the recovery window, then fixed
line "^[0-9a-f]\{8\} Maria Schmidt: Flight TK1595 home leaves 2030-03-18 .*\[flight-in-recovery\]$" "check warns flight-in-recovery"
if [ "$(grep -c 'flight-in-recovery' "$O")" -eq 1 ] && grep -A3 '^ana> caseway case edit .* check_out=2030-03-23$' "$O" | grep -q '^No warnings.$'; then
  ok "after rebooking the flight, check has no warning"; else bad "after rebooking the flight, check has no warning"; fi

# the nightly sync through the daemon, with figures
line "^   ben: [0-9]* bytes fetched, [0-9]* bytes pushed, [0-9]* ms$" "each sync prints bytes and time"
if grep -m1 -A1 '^hub> caseway sync git://' "$O" | grep -q '^git://127.0.0.1:[0-9]*/agency.git: [1-9][0-9]* new changes received'; then
  ok "head office receives the night's changes"; else bad "head office receives the night's changes"; fi
line "^caseway: no case '[0-9a-f]*' on this node$" "the clinic cannot open a case not shared with it"

# the conflict, found and settled at head office, gone everywhere
CONFLICT=$(sed -n "s/^  \([0-9a-f]\{16\}\)  case [0-9a-f]*  case phone: showing '.*'$/\1/p" "$O")
[ -n "$CONFLICT" ] && ok "head office sees the conflict on the phone number ($CONFLICT)" || bad "head office sees the conflict"
if has "^      '+49 170 555 0199' by [0-9a-f]* at " && has "^      '+90 555 010 2030' by [0-9a-f]* at "; then
  ok "the conflict keeps both values"; else bad "the conflict keeps both values"; fi
line "^Conflict $CONFLICT settled: '+90 555 010 2030'.$" "head office resolves it"
[ "$(grep -c '^No conflicts.$' "$O")" -eq 3 ] && ok "no conflict left on Ana, Ben and the clinic" || bad "no conflict left on Ana, Ben and the clinic"

# the handoff and the reply
line "^Wrote mail/schmidt-handoff.cwh: case [0-9a-f]* for the doctor with key $DOC," "the handoff is sealed to the doctor's key"
line "^Verified: signed by Ana Lima (field laptop) (coordinator, device [0-9a-f]*), vouched for by the agency Acme Medical Travel.$" "the doctor verifies the handoff"
line "^Agency key fingerprint: $ORG$" "the doctor sees the agency's fingerprint"
line "^dr-weber> caseway handoff open .* --org $ORG$" "the doctor pins the agency fingerprint (--org)"
line "^   dr-weber/schmidt/summary.html: [1-9][0-9]* bytes$" "summary.html written"
line "^   dr-weber/schmidt/ips.json: [1-9][0-9]* bytes$" "ips.json written"
line "^   ips.json is a FHIR document: .*1 Composition.*1 Patient" "ips.json holds a Composition and a Patient"
line "^   Dr. Weber has no node" "the doctor has no node"
line "^mail/schmidt-reply.cwr: reply from the follow-up doctor (key $DOC) verified: 2 notes and 1 file added to case " "the reply arrives"
line "^  \[[0-9a-f]*\] Note: Stitches removed, healing well.; Doctor's key fingerprint: $DOC;" "the reply is in the case"
line "^   head office reads Dr. Weber's notes too$" "the reply reaches head office"

# nothing readable without the keys
line "file is not a database" "the store is not readable as SQLite"
line "^caseway: wrong passphrase for ana$" "a wrong passphrase opens nothing"

# every digest equal: the demo's table, checked here again
# a row: CASE FIRST-NAME LAST-NAME hub ana ben clinic
row=$(grep '^   [0-9a-f]\{8\}  *Maria Schmidt ' "$O")
read -r -a f <<<"$row"
if [ ${#f[@]} -eq 7 ] && [ "${f[3]}" = "${f[4]}" ] && [ "${f[3]}" = "${f[5]}" ] && [ "${f[3]}" = "${f[6]}" ] &&
   echo "${f[3]}" | grep -q '^[0-9a-f]\{8\}$'; then
  ok "Maria's case has one digest on hub, Ana, Ben and the clinic (${f[3]})"; else bad "Maria's case digests: $row"; fi
for who in "John Carter" "Leila Haddad"; do
  row=$(grep "^   [0-9a-f]\{8\}  *$who " "$O")
  read -r -a f <<<"$row"
  if [ ${#f[@]} -eq 7 ] && [ "${f[3]}" = "${f[5]}" ] && echo "${f[3]}" | grep -q '^[0-9a-f]\{8\}$' &&
     [ "${f[4]}" = - ] && [ "${f[6]}" = - ]; then
    ok "$who's case: one digest on hub and Ben, not on Ana or the clinic"; else bad "$who's case digests: $row"; fi
done
line "^   digests equal" "the demo finds every digest equal"

# the daemon stopped, the temporary folder gone
# (the pid and port the demo started with: gone even when the demo failed half-way)
pid=$(sed -n 's|^   git daemon (pid \([0-9]*\)) serves git://127.0.0.1:\([0-9]*\)/agency.git$|\1|p' "$O")
port=$(sed -n 's|^   git daemon (pid \([0-9]*\)) serves git://127.0.0.1:\([0-9]*\)/agency.git$|\2|p' "$O")
line "^   git daemon (pid $pid) stopped; nothing listens on port $port any more$" "the demo stops git daemon"
if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  ok "git daemon is gone (pid $pid, port $port closed)"; else bad "git daemon is gone (pid '$pid', port '$port')"; fi
[ -z "$(ls -A "$T/tmp")" ] && ok "the demo's temporary folder is removed" || bad "the demo's temporary folder is removed: $(ls -A "$T/tmp")"

# the figures
line "^   USB stick: 2 bundles, [1-9][0-9]* bytes$" "USB figures"
line "^   git server: [1-9][0-9]* syncs, [1-9][0-9]* bytes fetched, [1-9][0-9]* bytes pushed$" "git server figures"
line "^   the whole story: [0-9]* ms$" "total time"
tail -5 "$O"
finish
