#!/usr/bin/env bash
# The field demo: an agency, its head office (hub) and a coordinator's
# laptop, made from scratch in a temporary folder, told as it happens.
# Usage: docs/field-demo.sh path/to/caseway
set -euo pipefail
CW=${1:-build/caseway}
CW=$(cd "$(dirname "$CW")" && pwd)/$(basename "$CW")
W=$(mktemp -d "${TMPDIR:-/tmp}/caseway-demo.XXXXXX")
trap 'rm -rf "$W"' EXIT
export CASEWAY_PASSPHRASE="demo passphrase - use your own"
start=$(date +%s%N)

say() { printf '\n== %s\n' "$*"; }
run() { printf '$ caseway'; printf ' %q' "$@"; printf '\n'; "$CW" "$@"; }
ms() { echo $(( ($(date +%s%N) - start) / 1000000 )); }

say "Head office sets up its node and the agency key"
run --home "$W/hub" init --name "Head office Istanbul" --role hub
run --home "$W/hub" org create --name "Acme Medical Travel"

say "A coordinator's laptop gets its own keys"
run --home "$W/ana" init --name "Ana Lima (field laptop)"
run --home "$W/ana" whoami --request -o "$W/ana-request.txt"
echo "   request: $(wc -c <"$W/ana-request.txt") bytes of text, fits in an e-mail"

say "Head office enrols the laptop; the coordinator installs the certificate"
run --home "$W/hub" org enroll "$W/ana-request.txt" --role coordinator -o "$W/ana-cert.txt"
run --home "$W/ana" org join "$W/ana-cert.txt"
run --home "$W/ana" whoami
run --home "$W/ana" org roster

say "Day one in Istanbul, offline: a new patient"
CASE=$("$CW" --home "$W/ana" -q case new --patient "Maria Schmidt" --dob 1961-04-02 --nationality DE \
       --procedure "Knee replacement" languages="German, English" interpreter=yes recovery_days=10)
echo "   case $CASE"
run --home "$W/ana" travel add "$CASE" --kind flight carrier=TK number=TK1590 from=FRA to=IST \
    depart=2030-03-10T08:00+01:00 arrive=2030-03-10T12:30+03:00 direction=outbound
run --home "$W/ana" travel add "$CASE" --kind flight carrier=TK number=TK1595 from=IST to=FRA \
    depart=2030-03-18T14:00+03:00 arrive=2030-03-18T16:30+01:00 direction=return
run --home "$W/ana" travel add "$CASE" --kind stay hotel="Hotel Sisli" check_in=2030-03-10 check_out=2030-03-18
run --home "$W/ana" appt add "$CASE" --kind surgery --start 2030-03-12T09:00+03:00 \
    --end 2030-03-12T13:00+03:00 --provider "Dr. Aydin" --location "Memorial Sisli"
run --home "$W/ana" cost add "$CASE" --estimate 12000 EUR --label "surgery package"
run --home "$W/ana" note add "$CASE" "Daughter travels with her; prefers German-speaking nurse." --channel family
printf 'MRI report, left knee\n' >"$W/mri.txt"
run --home "$W/ana" doc add "$CASE" "$W/mri.txt" --kind scan --title "MRI knee"
run --home "$W/ana" case stage "$CASE" booked

say "Before anything goes wrong: the checks"
run --home "$W/ana" check "$CASE"

say "The week ahead"
run --home "$W/ana" agenda --from 2030-03-09 --days 10

say "Everything the laptop stores is encrypted"
run --home "$W/ana" verify
printf '$ sqlite3 store.db .tables\n'
sqlite3 "$W/ana/store.db" .tables 2>&1 || true
if cat "$W/ana/store.db" "$W"/ana/docs/*/* | strings | grep -q -e "Ana Lima" -e "Schmidt" -e "MRI report"; then
  echo "   plaintext found - this is a bug"; exit 1; fi
echo "   'strings' finds no names in store.db ($(stat -c %s "$W/ana/store.db") bytes) or the documents"

say "No link at the hospital: Ana's changes go to head office on a USB stick"
mkdir -p "$W/usb" "$W/mail"
"$CW" --home "$W/hub" -q whoami --cert -o "$W/hub-cert.txt"
"$CW" --home "$W/ana" -q whoami --cert -o "$W/ana-cert-full.txt"
run --home "$W/ana" peer add head-office --cert "$W/hub-cert.txt"
run --home "$W/hub" peer add ana --cert "$W/ana-cert-full.txt"
run --home "$W/ana" sync export --to head-office -o "$W/usb/tuesday.bundle"
printf '$ git bundle list-heads tuesday.bundle   (stock git reads it)\n'
git bundle list-heads "$W/usb/tuesday.bundle" | sed 's/^/   /'
run --home "$W/hub" sync import "$W/usb/tuesday.bundle"
run --home "$W/hub" case list

say "A partner clinic joins; Ana shares the case with it, through head office"
run --home "$W/clinic" init --name "Clinic Sisli (partner)" --role clinic
"$CW" --home "$W/clinic" -q whoami --request -o "$W/clinic-request.txt"
"$CW" --home "$W/hub" -q org enroll "$W/clinic-request.txt" --role clinic -o "$W/clinic-cert.txt"
run --home "$W/clinic" org join "$W/clinic-cert.txt"
"$CW" --home "$W/clinic" -q whoami --cert -o "$W/clinic-cert-full.txt"
run --home "$W/hub" peer add clinic --cert "$W/clinic-cert-full.txt"
run --home "$W/ana" peer add clinic --cert "$W/clinic-cert-full.txt"
run --home "$W/clinic" peer add head-office --cert "$W/hub-cert.txt"
run --home "$W/ana" share "$CASE" --with clinic
run --home "$W/ana" sync export --to head-office -o "$W/usb/wednesday.bundle"
run --home "$W/hub" sync import "$W/usb/wednesday.bundle"
run --home "$W/hub" sync export --to clinic -o "$W/mail/for-clinic.bundle"
run --home "$W/clinic" sync import "$W/mail/for-clinic.bundle"
run --home "$W/clinic" cost add "$CASE" --charge 11800 EUR --label "surgery, final invoice"
run --home "$W/clinic" sync export --to head-office -o "$W/mail/from-clinic.bundle"
run --home "$W/hub" sync import "$W/mail/from-clinic.bundle"
run --home "$W/hub" sync export --to ana -o "$W/usb/for-ana.bundle"
run --home "$W/ana" sync import "$W/usb/for-ana.bundle"
a=$("$CW" --home "$W/ana" --json case show "$CASE" | grep -o '"digest"[^,}]*')
h=$("$CW" --home "$W/hub" --json case show "$CASE" | grep -o '"digest"[^,}]*')
c=$("$CW" --home "$W/clinic" --json case show "$CASE" | grep -o '"digest"[^,}]*')
if [ "$a" != "$h" ] || [ "$a" != "$c" ]; then echo "   the three copies differ - this is a bug"; exit 1; fi
echo "   Ana, head office and the clinic hold the same case: $a"
run --home "$W/hub" sync status

say "A thief with the laptop but not the passphrase gets nothing"
set +e
CASEWAY_PASSPHRASE=guess "$CW" --home "$W/ana" whoami
echo "   (exit code $?)"
set -e

say "Done in $(ms) ms"
