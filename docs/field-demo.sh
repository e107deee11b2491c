#!/usr/bin/env bash
# The field demo: one week of an agency's work, made from scratch in a
# temporary folder and told as it happens.
#
#   head office  a hub node, and the agency's git server: a bare repository
#                served by `git daemon` on 127.0.0.1 (stopped at the end)
#   Ana, Ben     two coordinators' laptops, offline most of the day
#   the clinic   a partner hospital's international-patient office
#   Dr. Weber    the patient's doctor at home: a key pair, no node
#
# Every node is a folder (its home); `ana> caseway X` below means
# `caseway --home ana X`. Bundles travel through the usb/ folder, the handoff
# and the reply through mail/. At the end every node's state digest of every
# case it holds must equal head office's, or the demo fails (exit 1).
# Usage: bash docs/field-demo.sh path/to/caseway
set -euo pipefail
CW=${1:-build/caseway}
CW=$(cd "$(dirname "$CW")" && pwd)/$(basename "$CW")
W=$(mktemp -d "${TMPDIR:-/tmp}/caseway-demo.XXXXXX")
DAEMON_PID=
# stop_daemon: end the git daemon started below, by its pid (also on any failure).
stop_daemon() {
  if [ -n "$DAEMON_PID" ]; then kill "$DAEMON_PID" 2>/dev/null || true; wait "$DAEMON_PID" 2>/dev/null || true; fi
  DAEMON_PID=
}
trap 'stop_daemon; rm -rf "$W"' EXIT
cd "$W"
mkdir usb mail srv dr-weber
unset CASEWAY_HOME
export CASEWAY_PASSPHRASE="demo passphrase - use your own"
DR_PASSPHRASE="Dr. Weber's own passphrase"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

# ---- how the story is printed ------------------------------------------------------
now() { date +%s%N; }
ms_since() { echo $((($(now) - $1) / 1000000)); }
start=$(now)
chapter_start=
chapter_name=
TIMES=()
end_chapter() {
  if [ -n "$chapter_start" ]; then
    local t; t=$(ms_since "$chapter_start")
    printf '   ... %s ms\n' "$t"
    TIMES+=("$(printf '%6s ms  %s' "$t" "$chapter_name")")
  fi
}
chapter() { end_chapter; chapter_name=$1; chapter_start=$(now); printf '\n== %s\n' "$1"; }
tell() { printf '   %s\n' "$*"; }
fail() { printf '   FAILED: %s\n' "$*"; exit 1; }
# show NODE ARGS...: print the command as one would type it (quotes where needed).
show() {
  local who=$1 a line=""
  shift
  for a in "$@"; do
    case $a in
      *[!A-Za-z0-9_./:=@+,-]*) case $a in [a-z_]*=*) line+=" ${a%%=*}=\"${a#*=}\"" ;; *) line+=" \"$a\"" ;; esac ;;
      *) line+=" $a" ;;
    esac
  done
  printf '%s> caseway%s\n' "$who" "$line"
}
# as NODE ARGS...: NODE runs caseway on its own home folder.
as() { local who=$1; shift; show "$who" "$@"; "$CW" --home "$who" "$@"; }
# quietly NODE ARGS...: the same, not shown (bookkeeping the story does not need).
quietly() { local who=$1; shift; "$CW" --home "$who" -q "$@"; }
# doctor ARGS...: Dr. Weber, with her own passphrase and no node (HOME is her folder).
doctor() { show dr-weber "$@"; HOME="$W/dr-weber" CASEWAY_PASSPHRASE=$DR_PASSPHRASE "$CW" "$@"; }
size() { stat -c %s "$1"; }
# packs DIR: bytes of the git packs in the repository DIR (what git transfers).
packs() { local n=0 f; for f in "$1"/objects/pack/*.pack; do [ -e "$f" ] && n=$((n + $(size "$f"))); done; echo "$n"; }
USB_BYTES=0 USB_FILES=0 NET_IN=0 NET_OUT=0 NET_SYNCS=0
# carry FROM TO FILE: FROM writes a bundle for TO onto the stick, TO reads it.
carry() {
  local from=$1 to=$2 file=$3 t0 t1
  t0=$(now)
  as "$from" sync export --to "$to" -o "$file"
  t1=$(now)
  as "$to" sync import "$file"
  USB_BYTES=$((USB_BYTES + $(size "$file"))) USB_FILES=$((USB_FILES + 1))
  tell "$file: $(size "$file") bytes on the stick; written in $(((t1 - t0) / 1000000)) ms, read in $(ms_since "$t1") ms"
}
# nightly NODE: NODE syncs with the agency's git server (pull, then push). The bytes
# are the git packs that arrive in NODE's log and on the server.
nightly() {
  local who=$1 t0 hub0 own0 got sent
  hub0=$(packs srv/agency.git) own0=$(packs "$who/log.git") t0=$(now)
  as "$who" sync "$URL"
  got=$(($(packs "$who/log.git") - own0)) sent=$(($(packs srv/agency.git) - hub0))
  NET_IN=$((NET_IN + got)) NET_OUT=$((NET_OUT + sent)) NET_SYNCS=$((NET_SYNCS + 1))
  tell "$who: $got bytes fetched, $sent bytes pushed, $(ms_since "$t0") ms"
}
# digest NODE CASE: the case's state digest on NODE, empty if NODE does not hold it.
digest() { "$CW" --home "$1" --json case show "$2" 2>/dev/null | grep '"digest"' | grep -o '[0-9a-f]\{64\}' || true; }
# new NODE ARGS...: like `as`, for a command that makes a case or an item; keeps its
# short id in $NEW (the first id its --json output names, read to the end).
new() {
  local who=$1
  shift
  show "$who" "$@"
  NEW=$("$CW" --home "$who" --json "$@" | grep -o '[0-9a-f]\{32\}' | sed -n '1s/^\(.\{8\}\).*/\1/p')
  [ -n "$NEW" ] || fail "no id"
  tell "-> $NEW"
}

# ---- the story ------------------------------------------------------------------------
chapter "Head office sets up the agency and its git server"
as hub init --name "Head office Istanbul" --role hub
as hub org create --name "Acme Medical Travel" | tee org.txt
ORG_FPR=$(grep -o '[0-9a-f]\{4\}\(-[0-9a-f]\{4\}\)\{7\}' org.txt | sed -n 1p)
tell "the agency key fingerprint goes on the letterhead: $ORG_FPR"
git init -q --bare srv/agency.git
# Keep every push as the pack that arrived, so the demo can weigh it.
git -C srv/agency.git config receive.unpackLimit 1
for _ in 1 2 3 4 5; do
  PORT=$((20000 + RANDOM % 20000))
  # bounded: the server lives ten minutes at most, whatever happens to this script
  timeout 600 git daemon --listen=127.0.0.1 --port="$PORT" --base-path="$W/srv" --export-all \
    --enable=receive-pack --reuseaddr "$W/srv" >daemon.log 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break 2; fi
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.1
  done
  stop_daemon
done
[ -n "$DAEMON_PID" ] || fail "git daemon would not start: $(cat daemon.log)"
URL="git://127.0.0.1:$PORT/agency.git"
tell "git daemon (pid $DAEMON_PID) serves $URL"

chapter "Two coordinators and a partner clinic join"
as ana init --name "Ana Lima (field laptop)"
as ana whoami --request -o mail/ana-request.txt
tell "the request is $(size mail/ana-request.txt) bytes of text: it fits in an e-mail"
as hub org enroll mail/ana-request.txt --role coordinator -o mail/ana-cert.txt
as ana org join mail/ana-cert.txt | tee join.txt
grep -q "$ORG_FPR" join.txt || fail "Ana's certificate names another agency key"
tell "Ana reads the fingerprint back to head office by phone: it matches"
for who in "ben:Ben Okafor (laptop):coordinator" "clinic:Memorial Sisli, international patients:clinic"; do
  IFS=: read -r home name role <<<"$who"
  as "$home" init --name "$name" --role "$role"
  quietly "$home" whoami --request -o "mail/$home-request.txt"
  quietly hub org enroll "mail/$home-request.txt" --role "$role" -o "mail/$home-cert.txt"
  as "$home" org join "mail/$home-cert.txt"
done
tell "each node learns who it syncs with, from certificates (\`whoami --cert\`) sent by e-mail:"
for n in hub ana ben clinic; do quietly "$n" whoami --cert -o "mail/$n.cert"; done
for n in ana ben clinic; do
  quietly "$n" peer add head-office --cert mail/hub.cert --url "$URL"
  quietly hub peer add "$n" --cert "mail/$n.cert"
done
quietly ana peer add ben --cert mail/ben.cert
quietly ana peer add clinic --cert mail/clinic.cert
quietly clinic peer add ana --cert mail/ana.cert
as ana peer list
as hub org roster

chapter "Dr. Weber, the patient's doctor in Hamburg, makes a key (no node, no account)"
doctor keygen -o dr-weber/weber | tee keygen.txt
WEBER_FPR=$(sed -n 's/^Fingerprint: \([0-9a-f-]*\).*/\1/p' keygen.txt)
cp dr-weber/weber.pub mail/
tell "she e-mails weber.pub ($(size mail/weber.pub) bytes) and reads her fingerprint to Ana by phone"

chapter "Day one, offline: Ana in Istanbul"
tell "an inquiry from Hamburg, by phone"
new ana case new --patient "Maria Schmidt" --dob 1961-04-02 --nationality DE --procedure "Knee replacement" \
    languages="German, English" interpreter=yes home_doctor="Dr. Petra Weber, Hamburg"
M=$NEW
as ana note add "$M" "Maria called: knee replacement, wants a German-speaking surgeon." --channel call
as ana cost add "$M" --estimate 12000 EUR --label "surgery package"
as ana case stage "$M" quoted
as ana case stage "$M" booked
as ana travel add "$M" --kind flight carrier=TK number=TK1590 from=FRA to=IST \
    depart=2030-03-10T08:00+01:00 arrive=2030-03-10T12:30+03:00 direction=outbound
new ana travel add "$M" --kind flight carrier=TK number=TK1595 from=IST to=FRA \
    depart=2030-03-18T14:00+03:00 arrive=2030-03-18T16:30+01:00 direction=return
RETURN=$NEW
new ana travel add "$M" --kind stay hotel="Hotel Sisli" check_in=2030-03-10 check_out=2030-03-18
STAY=$NEW
as ana travel add "$M" --kind transfer pickup=2030-03-10T13:00+03:00 from=IST to="Hotel Sisli"
as ana task add "$M" "Book a German-speaking interpreter" --due 2030-03-01
head -c 200000 /dev/urandom >mri-scan.jpg
as ana doc add "$M" mri-scan.jpg --kind scan --title "MRI left knee (scan)"
tell "Ben covers for Ana, and the clinic will treat Maria: Ana shares the case with both"
as ana share "$M" --with ben
as ana share "$M" --with clinic

chapter "Day one, offline: Ben takes two inquiries"
tell "an inquiry by e-mail"
new ben case new --patient "John Carter" --nationality GB --procedure "Dental implants"
B=$NEW
as ben note add "$B" "John: four implants, wants a quote for May." --channel email
as ben travel add "$B" --kind flight carrier=PC number=PC1172 from=STN to=SAW \
    depart=2030-05-04T06:40+01:00 arrive=2030-05-04T12:55+03:00 direction=outbound
tell "an inquiry by message"
new ben case new --patient "Leila Haddad" --nationality LB --procedure "Rhinoplasty"
C=$NEW
as ben note add "$C" "Asked for prices; will call back next week." --channel message
as ben case list

chapter "No link at the hospital: Ana and the clinic swap a USB stick"
carry ana clinic usb/ana-to-clinic.bundle
tell "(the bundle carries the scan's record, not its 200000 bytes: those stay on Ana's laptop)"
tell "the clinic books the surgery; the surgeon wants 10 days of recovery before she flies"
as clinic appt add "$M" --kind surgery --start 2030-03-12T09:00+03:00 --end 2030-03-12T13:00+03:00 \
    --provider "Dr. Aydin" --location "Memorial Sisli"
as clinic case set "$M" recovery_days=10 consent=signed
carry clinic ana usb/clinic-to-ana.bundle

chapter "Ana checks the journey before anything goes wrong"
as ana check "$M" | tee check.txt
grep -q "flight-in-recovery" check.txt || fail "check missed the flight home inside the recovery window"
tell "the flight home is inside the recovery window: Ana moves it to the 23rd and extends the hotel"
as ana case edit "$M" "$RETURN" depart=2030-03-23T14:00+03:00 arrive=2030-03-23T16:30+01:00
as ana case edit "$M" "$STAY" check_out=2030-03-23
as ana check "$M" | tee check.txt
if grep -q "flight-in-recovery" check.txt; then fail "the flight home is still inside the recovery window"; fi

chapter "Night: everyone syncs through head office's git server"
for n in ana ben clinic hub; do nightly "$n"; done
tell "the morning round brings each node what the others sent after it"
for n in ana ben clinic; do nightly "$n"; done
as hub case list
as clinic case list
show clinic case show "$B"
if "$CW" --home clinic case show "$B"; then fail "the clinic reads a case never shared with it"; fi
tell "(the clinic holds only Maria's case: John's was never shared with it)"

chapter "Day two: Ana and Ben both change Maria's phone number, apart"
as ana case set "$M" phone="+90 555 010 2030"
tell "(at the same time Ben, covering for Ana, takes a call from Maria's daughter)"
as ben case set "$M" phone="+49 170 555 0199"
tell "the clinic sends its invoice"
as clinic cost add "$M" --charge 11800 EUR --label "surgery, final invoice"
for n in ana ben clinic hub; do nightly "$n"; done
as hub conflicts
CONFLICT=$("$CW" --home hub --json conflicts | grep '"id"' | grep -o '[0-9a-f]\{16\}' | sed -n 1p)
[ -n "$CONFLICT" ] || fail "head office sees no conflict"
tell "head office calls Maria: she uses a Turkish SIM while in Istanbul"
as hub resolve "$CONFLICT" --take "+90 555 010 2030"
for n in hub ana ben clinic; do nightly "$n"; done
for n in ana ben clinic; do
  as "$n" conflicts "$M" | tee conflicts.txt
  grep -q "No conflicts" conflicts.txt || fail "$n still has the conflict"
done
"$CW" --home clinic --json case show "$M" >clinic-case.json
grep -q '"phone":[[:space:]]*"+90 555 010 2030"' clinic-case.json || fail "the clinic does not show the number head office chose"
tell "settled at head office, the same on every node: phone +90 555 010 2030"

chapter "Maria flies home: the handoff to Dr. Weber"
as ana case stage "$M" returned
as ana handoff create "$M" --to mail/weber.pub -o mail/schmidt-handoff.cwh \
    --contact "Ana Lima, +90 555 010 0000, ana@acme.example" | tee create.txt
grep -q "$WEBER_FPR" create.txt || fail "the handoff is sealed to another key than Dr. Weber's"
tell "Ana checks the key fingerprint: it is the one Dr. Weber read out on the phone"
tell "mail/schmidt-handoff.cwh: $(size mail/schmidt-handoff.cwh) bytes, signed by Ana's laptop, sealed to Dr. Weber"
tell "Dr. Weber opens it, pinning the agency fingerprint from the letterhead (--org):"
doctor handoff open mail/schmidt-handoff.cwh --key dr-weber/weber.key --out dr-weber/schmidt \
    --org "$ORG_FPR" | tee open.txt
grep -q "^Agency key fingerprint: $ORG_FPR" open.txt || fail "the handoff names another agency key"
tell "verified: Acme Medical Travel's key, fingerprint $ORG_FPR, as on the letterhead"
for f in summary.html ips.json; do
  [ -s "dr-weber/schmidt/$f" ] || fail "no $f"
  tell "dr-weber/schmidt/$f: $(size "dr-weber/schmidt/$f") bytes"
done
tell "ips.json is a FHIR document: $(grep -o '"resourceType":[[:space:]]*"[A-Za-z]*"' dr-weber/schmidt/ips.json |
  grep -o '[A-Za-z]*"$' | tr -d '"' | sort | uniq -c | awk '{printf "%s%s %s", s, $1, $2; s=", "}')"
[ ! -e dr-weber/.caseway ] || fail "opening the handoff made a node"
tell "Dr. Weber has no node; her folder holds: $(cd dr-weber && echo *)"
printf 'Wound check 2030-04-02: clean, no signs of infection.\n' >dr-weber/wound-check.txt
doctor handoff reply mail/schmidt-handoff.cwh --note "Stitches removed, healing well." \
    --note "Physiotherapy twice a week for 6 weeks." --file dr-weber/wound-check.txt \
    --key dr-weber/weber.key -o mail/schmidt-reply.cwr
tell "mail/schmidt-reply.cwr: $(size mail/schmidt-reply.cwr) bytes, back to Ana by e-mail"
as ana sync import mail/schmidt-reply.cwr
as ana case show "$M" | sed -n '/^FROM THE FOLLOW-UP DOCTOR/,/^$/p' | tee reply.txt
grep -q "Stitches removed" reply.txt || fail "Dr. Weber's notes are not in the case"
nightly ana
nightly hub
"$CW" --home hub case show "$M" >hub-case.txt
grep -q "Stitches removed" hub-case.txt || fail "head office does not have Dr. Weber's notes"
tell "head office reads Dr. Weber's notes too"

chapter "What a thief or the git server's host sees"
printf 'ana> sqlite3 ana/store.db .tables\n'
if sqlite3 ana/store.db .tables 2>&1; then fail "sqlite3 reads Ana's store"; fi
git --git-dir=srv/agency.git cat-file --batch-all-objects --batch >served-objects
if grep -a -q -e Maria -e Schmidt -e Carter -e Stitches ana/store.db* served-objects; then fail "plaintext found"; fi
tell "no patient's name in Ana's store or anywhere on the git server ($(packs srv/agency.git) bytes)"
printf 'ana> caseway whoami     (a thief who has the laptop guesses the passphrase)\n'
rc=0
CASEWAY_PASSPHRASE=guess "$CW" --home ana whoami || rc=$?
[ "$rc" -eq 3 ] || fail "a guessed passphrase got exit code $rc, not 3"
tell "(exit code 3: wrong passphrase, nothing opened)"

chapter "Every copy agrees"
for n in ana ben clinic hub; do nightly "$n"; done
# who should hold what: every case on head office; Maria's case on all four
should_hold() { case "$1:$2" in *:"$M"* | ben:"$B"* | ben:"$C"*) return 0 ;; *) return 1 ;; esac; }
printf '   %-9s %-14s %-9s %-9s %-9s %s\n' CASE PATIENT hub ana ben clinic
bad=0
while read -r id name; do
  want=$(digest hub "$id") row=""
  for n in ana ben clinic; do
    got=$(digest "$n" "$id")
    if [ -z "$got" ]; then
      if should_hold "$n" "$id"; then row+=$(printf ' %-9s' MISSING); bad=1; else row+=$(printf ' %-9s' -); fi
    elif [ "$got" = "$want" ]; then row+=$(printf ' %-9s' "${got:0:8}")
    else row+=$(printf ' %-9s' DIFFERS); bad=1; fi
  done
  printf '   %-9s %-14s %-9s%s\n' "${id:0:8}" "$name" "${want:0:8}" "$row"
done < <("$CW" --home hub --json case list | awk -F'"' '/"id"/ { id = $4 } /"patient"/ { print id, $4 }')
[ "$bad" -eq 0 ] || fail "the copies differ"
tell "digests equal: each node holds the same state of every case it holds (-: not shared with it)"

chapter "Head office stops its git server"
served_by=$DAEMON_PID
stop_daemon
if kill -0 "$served_by" 2>/dev/null || (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  fail "git daemon still running"
fi
tell "git daemon (pid $served_by) stopped; nothing listens on port $PORT any more"
end_chapter

printf '\n== The figures\n'
tell "USB stick: $USB_FILES bundles, $USB_BYTES bytes"
tell "git server: $NET_SYNCS syncs, $NET_IN bytes fetched, $NET_OUT bytes pushed"
tell "e-mail to and from Dr. Weber: handoff $(size mail/schmidt-handoff.cwh) bytes, reply $(size mail/schmidt-reply.cwr) bytes"
printf '%s\n' "${TIMES[@]}"
tell "the whole story: $(ms_since "$start") ms"
