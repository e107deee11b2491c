#!/usr/bin/env bash
# A coordinator's working day through the command line: a case from inquiry
# to booking, its itinerary, money, documents, notes and tasks; the checks
# and the agenda; bad input refused with nothing written.
. "$(dirname "$0")/lib.sh"

H="$T/ana"
mknode "$H" "Ana Lima" coordinator
c() { cw --home "$H" "$@"; }

expect 0 "new case" -- c --json case new --patient "Maria Schmidt" --dob 1961-04-02 --nationality de --procedure "Knee replacement" languages="German, English" interpreter=yes
CASE=$(sed -n 's/.*"id":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$T/out")
[ ${#CASE} -eq 32 ] && ok "case new --json gives the id" || bad "no id: $(cat "$T/out")"
P=${CASE:0:8}
expect 0 "show by prefix" -- c case show "$P"
contains "$T/out" "Maria Schmidt" "show has the patient"
contains "$T/out" "Knee replacement" "show has the procedure"
contains "$T/out" "DE" "nationality normalised"
contains "$T/out" "Stage: inquiry" "a new case is an inquiry"

# the journey
expect 0 "stage booked" -- c case stage "$P" booked
expect 0 "set fields" -- c case set "$P" recovery_days=10 consent=requested passport_expiry=2026-06-01 allergies="Penicillin"
expect 0 "outbound flight" -- c travel add "$P" --kind flight carrier=TK number=TK1590 from=fra to=ist depart=2030-03-10T08:00+01:00 arrive=2030-03-10T12:30+03:00 direction=outbound
expect 0 "flight home inside recovery" -- c travel add "$P" --kind flight carrier=TK number=TK1595 from=IST to=FRA depart=2030-03-18T14:00+03:00 arrive=2030-03-18T16:30+01:00 direction=return
expect 0 "hotel" -- c travel add "$P" --kind stay hotel="Hotel Sisli" check_in=2030-03-10 check_out=2030-03-18
expect 0 "pick-up" -- c travel add "$P" --kind transfer pickup=2030-03-10T13:00+03:00 from=IST to="Hotel Sisli" driver=Murat
expect 0 "surgery" -- c appt add "$P" --kind surgery --start 2030-03-12T09:00+03:00 --end 2030-03-12T13:00+03:00 --provider "Dr. Aydin" --location "Memorial Sisli"
expect 0 "overlapping consult" -- c appt add "$P" --kind consultation --start 2030-03-12T12:00+03:00 --end 2030-03-12T12:30+03:00 --provider "Dr. Kaya"
expect 0 "estimate" -- c cost add "$P" --estimate 12000 EUR --label "surgery package"
expect 0 "charge over estimate" -- c cost add "$P" --charge 14500.50 eur --label "final invoice"
expect 0 "payment" -- c cost add "$P" --payment 6000 EUR
expect 0 "note" -- c note add "$P" "Patient anxious about the flight; daughter travels with her." --channel family
expect 0 "task" -- c --json task add "$P" "Book interpreter for the consultation" --due 2020-01-01
TASK=$(sed -n 's/.*"id":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$T/out")
expect 0 "feedback" -- c feedback "$P" --rating 5 --testimonial yes

# checks
expect 0 "check the case" -- c check "$P"
for rule in surgery-without-consent flight-in-recovery overlapping-appointments cost-over-estimate task-overdue passport-expires; do
  contains "$T/out" "$rule" "check: $rule fires"
done
expect 0 "check --json" -- c --json check
contains "$T/out" '"rule":' "check --json lists warnings"
expect 0 "task done" -- c task done "$P" "${TASK:0:8}"
expect 0 "consent signed" -- c case set "$P" consent=signed
expect 0 "check again" -- c check "$P"
if grep -q -e task-overdue -e surgery-without-consent "$T/out"; then bad "fixed warnings still shown"; else ok "fixed warnings are gone"; fi

# agenda
expect 0 "agenda" -- c agenda --from 2030-03-09 --days 14
contains "$T/out" "2030-03-12 09:00 (+03:00)" "agenda shows local time"
contains "$T/out" "flight departs" "agenda has flights"
contains "$T/out" "pick-up" "agenda has pick-ups"
first=$(grep -n "flight lands" "$T/out" | head -1 | cut -d: -f1); surg=$(grep -n surgery "$T/out" | head -1 | cut -d: -f1)
[ -n "$first" ] && [ -n "$surg" ] && [ "$first" -lt "$surg" ] && ok "agenda in time order" || bad "agenda order"
expect 0 "agenda --json" -- c --json agenda --from 2030-03-09 --days 14
contains "$T/out" '"local":' "agenda --json"

# documents
head -c 300000 /dev/urandom >"$T/scan.pdf"
expect 0 "doc add" -- c --json doc add "$P" "$T/scan.pdf" --kind scan --title "MRI knee"
DOC=$(sed -n 's/.*"id":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$T/out")
expect 0 "doc get" -- c doc get "$P" "${DOC:0:8}" -o "$T/back.pdf"
cmp -s "$T/scan.pdf" "$T/back.pdf" && ok "document comes back bytes-exact" || bad "document differs"
printf 'Lab result: DOCMARKER haemoglobin 13.1\n' >"$T/lab.txt"
expect 0 "text doc add" -- c doc add "$P" "$T/lab.txt" --kind lab-result
if find "$H/docs" -type f -exec cat {} + | strings | grep -q DOCMARKER; then bad "plaintext in docs"; else ok "documents stored encrypted"; fi
expect 1 "doc add of a missing file" -- c doc add "$P" "$T/nope.pdf"
expect 2 "doc add of a folder" -- c doc add "$P" "$T"

# listing and search
expect 0 "second case" -- c case new --patient "Ahmed Khan" --procedure "Dental implants"
expect 0 "list" -- c case list
contains "$T/out" "Ahmed Khan" "list has both (1)"
contains "$T/out" "Maria Schmidt" "list has both (2)"
expect 0 "list by stage" -- c case list --stage booked
if grep -q "Ahmed" "$T/out"; then bad "stage filter"; else ok "stage filter"; fi
expect 0 "search a procedure" -- c case list --search implant
contains "$T/out" "Ahmed Khan" "search finds by procedure"
expect 0 "search a note" -- c case list --search daughter
contains "$T/out" "Maria Schmidt" "search finds by note"
expect 0 "search quotes are harmless" -- c case list --search '"knee OR'
expect 0 "list --json" -- c --json case list
contains "$T/out" '"stage":' "list --json"

# bad input: a one-line error naming the field, exit 2, nothing written
before=$(c --json case show "$P" | grep '"digest"')
expect 2 "unknown field" -- c case set "$P" shoe_size=41
one_line_error "unknown field"
contains "$T/err" "shoe_size" "names the unknown field"
expect 2 "impossible date" -- c case set "$P" dob=1961-02-30
contains "$T/err" "dob" "names the bad date field"
expect 2 "time without offset" -- c appt add "$P" --kind surgery --start 2030-03-12T09:00
contains "$T/err" "offset" "asks for the offset"
expect 2 "unknown currency" -- c cost add "$P" --charge 10 XYZ
contains "$T/err" "currency" "names the currency"
expect 2 "negative amount" -- c cost add "$P" --charge -10 EUR
expect 2 "bad stage" -- c case stage "$P" flying
expect 2 "bad rating" -- c feedback "$P" --rating 9
expect 2 "invalid UTF-8" -- c note add "$P" "$(printf 'bad \xff text')"
expect 2 "not field=value" -- c case set "$P" justaword
expect 1 "no such case" -- c case show 0000ffff
after=$(c --json case show "$P" | grep '"digest"')
[ "$before" = "$after" ] && ok "refused input changed nothing" || bad "state changed"

expect 0 "no conflicts on one node" -- c conflicts
contains "$T/out" "No conflicts." "conflicts says there are none"
expect 0 "conflicts --json" -- c --json conflicts
expect 1 "resolve an unknown conflict" -- c resolve 0123456789abcdef --take x

# the log and verify
expect 0 "log" -- c log "$P"
contains "$T/out" "Maria Schmidt" "log shows the change"
expect 0 "log --json" -- c --json log --since 2020-01-01
contains "$T/out" '"author":' "log --json"
expect 0 "verify with rebuild" -- c verify --rebuild
contains "$T/out" "rebuild      ok" "rebuild is identical"
contains "$T/out" "changes      ok" "every change verifies"

# stage can move back, and every move is in the log
expect 0 "postpone" -- c case stage "$P" postponed
expect 0 "back to booked" -- c case stage "$P" booked
[ "$(c log "$P" | grep -c 'stage=')" -ge 3 ] && ok "every stage move is logged" || bad "stage moves"

finish
