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
run() { printf '$ caseway %s\n' "$*"; "$CW" "$@"; }
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

say "Everything the laptop stores is encrypted"
run --home "$W/ana" verify
printf '$ sqlite3 store.db .tables\n'
sqlite3 "$W/ana/store.db" .tables 2>&1 || true
if strings "$W/ana/store.db" | grep -q "Ana Lima"; then echo "   plaintext found - this is a bug"; exit 1; fi
echo "   'strings' finds no names in store.db ($(stat -c %s "$W/ana/store.db") bytes)"

say "A thief with the laptop but not the passphrase gets nothing"
set +e
CASEWAY_PASSPHRASE=guess "$CW" --home "$W/ana" whoami
echo "   (exit code $?)"
set -e

say "Done in $(ms) ms"
