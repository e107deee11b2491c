#!/usr/bin/env bash
# tests/cli/docs_sync.sh - document files travel with their records
# (docs/FORMATS.md, "doc.<address>" tree entries): a document added on a
# coordinator reaches the hub and a member clinic by bundle and by a git
# remote, byte for byte; a node outside the case gets only ciphertext in its
# git log and no document file; erasure removes the received files; a
# document blob that does not open to its address is refused (exit 4); a
# large document moves in memory that does not grow past a few copies of it.
# Usage: bash tests/cli/docs_sync.sh path/to/caseway
. "$(dirname "$0")/lib.sh"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
BIG_MB=${CW_DOCS_SYNC_BIG_MB:-50}
MARK="Docmark-Omega-$$-4471"

# a document: the marker, then random bytes (KB kilobytes in all)
mkdoc() { { echo "$MARK $2"; head -c $(($3 * 1024)) /dev/urandom; } >"$1"; }
xfer() { # xfer FROM TO: FROM exports a bundle for TO, TO imports it
  expect 0 "$1 exports to $2" -- cw --home "$T/$1" -q sync export --to "$2" -o "$T/$1-$2.bundle"
  expect 0 "$2 imports from $1" -- cw --home "$T/$2" -q sync import "$T/$1-$2.bundle"
}
docfiles() { find "$T/$1/docs" -type f ! -name '.tmp-*' 2>/dev/null | wc -l; }
get_same() { # get_same NODE CASE DOC ORIGINAL WHAT
  rm -f "$T/got"
  expect 0 "$5: $1 gets the document" -- cw --home "$T/$1" doc get "$2" "$3" -o "$T/got"
  if cmp -s "$T/got" "$4"; then ok "$5: $1's copy is identical"; else bad "$5: $1's copy differs"; fi
}

# ---- the agency: hub, coordinator anna, member clinic, outsider clinic far ----
mkorg || bad "agency made"
enrolled "$T/anna" anna coordinator || bad "anna enrolled"
enrolled "$T/clinic" clinic clinic || bad "clinic enrolled"
enrolled "$T/far" far clinic || bad "far enrolled"
for n in hub anna clinic far; do cw --home "$T/$n" whoami --cert -o "$T/$n.crt" 2>/dev/null; done
for n in anna clinic far; do
  cw --home "$T/$n" -q peer add hub --cert "$T/hub.crt" || bad "$n adds the hub"
  cw --home "$T/hub" -q peer add "$n" --cert "$T/$n.crt" || bad "hub adds $n"
done
cw --home "$T/anna" -q peer add clinic --cert "$T/clinic.crt" || bad "anna adds the clinic"
ok "agency and peers made"

M=$(cw --home "$T/anna" --json case new --patient "Doc Patient" | grep -o '[0-9a-f]\{32\}')
[ -n "$M" ] && ok "anna made case M" || bad "anna made case M"
expect 0 "anna shares M with the clinic" -- cw --home "$T/anna" share "$M" --with clinic

# ---- 1. by bundle: anna -> hub -> clinic --------------------------------------
mkdoc "$T/scan.bin" one 600
D1=$(cw --home "$T/anna" --json doc add "$M" "$T/scan.bin" --title "Scan" | grep -o '[0-9a-f]\{32\}')
[ -n "$D1" ] && ok "anna adds a 600 KB document" || bad "anna adds a 600 KB document"
xfer anna hub
xfer hub clinic
get_same hub "$M" "$D1" "$T/scan.bin" "bundle"
get_same clinic "$M" "$D1" "$T/scan.bin" "bundle"

# ---- 2. by a git remote: anna pushes, hub and clinic pull ---------------------------
git init -q --bare "$T/hub.git"
mkdoc "$T/lab.bin" two 600
D2=$(cw --home "$T/anna" --json doc add "$M" "$T/lab.bin" --title "Lab" | grep -o '[0-9a-f]\{32\}')
[ -n "$D2" ] && ok "anna adds a second 600 KB document" || bad "anna adds a second document"
expect 0 "anna pushes to the hub repository" -- cw --home "$T/anna" -q sync push "$T/hub.git"
expect 0 "the hub node pulls" -- cw --home "$T/hub" -q sync pull "$T/hub.git"
expect 0 "the clinic pulls" -- cw --home "$T/clinic" -q sync pull "$T/hub.git"
get_same hub "$M" "$D2" "$T/lab.bin" "remote"
get_same clinic "$M" "$D2" "$T/lab.bin" "remote"
expect 0 "the hub repository passes git fsck" -- git --git-dir="$T/hub.git" fsck --strict
n=$(git --git-dir="$T/hub.git" log --format=%T --all | while read -r t; do git --git-dir="$T/hub.git" ls-tree "$t"; done |
  grep -c ' blob [0-9a-f]*	doc\.[0-9a-f]\{64\}$')
[ "$n" -ge 2 ] && ok "the hub repository holds the document blobs ($n entries)" || bad "doc blobs in the hub repository ($n)"

# ---- 2b. head office hands the case over to a doctor, documents and all ------------
mkdir -p "$T/doctor"
expect 0 "a doctor's key" -- cw keygen -o "$T/doctor/jones" $FAST
expect 0 "the hub node creates a handoff of M" -- cw --home "$T/hub" handoff create "$M" --to "$T/doctor/jones.pub" -o "$T/m.cwh"
expect 0 "the doctor opens it" -- cw handoff open "$T/m.cwh" --key "$T/doctor/jones.key" --out "$T/doctor/m"
for d in scan lab; do
  f=$(find "$T/doctor/m/documents" -type f -name "$d*" | head -1)
  [ -n "$f" ] && cmp -s "$f" "$T/$d.bin" && ok "the doctor gets $d.bin byte for byte" || bad "the doctor gets $d.bin"
done

# ---- 3. an outsider pulls: ciphertext only -----------------------------------------
expect 0 "far pulls the hub repository" -- cw --home "$T/far" -q sync pull "$T/hub.git"
[ "$(docfiles far)" -eq 0 ] && ok "far stores no document file" || bad "far stores document files"
if grep -rqa "$MARK" "$T/far"; then bad "far holds plaintext of a document"; else ok "far holds no plaintext"; fi
expect 1 "far cannot open case M" -- cw --home "$T/far" case show "$M"
git --git-dir="$T/far/log.git" for-each-ref "refs/cw/case/$M/" | grep -q . &&
  ok "far keeps M's chain (ciphertext)" || bad "far keeps M's chain"

# ---- 4. a large document, in memory that does not grow past a few copies ------------
if [ -x /usr/bin/time ]; then
  N=$(cw --home "$T/anna" --json case new --patient "Big Patient" | grep -o '[0-9a-f]\{32\}')
  head -c $((BIG_MB << 20)) /dev/urandom >"$T/big.bin"
  DB=$(cw --home "$T/anna" --json doc add "$N" "$T/big.bin" --title "Big" | grep -o '[0-9a-f]\{32\}')
  git init -q --bare "$T/big.git"
  rss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/err"; }
  expect 0 "anna pushes a ${BIG_MB} MB document" -- /usr/bin/time -v "$CW_BINARY" --home "$T/anna" -q sync push "$T/big.git"
  push_kb=$(rss)
  expect 0 "the hub node pulls it" -- /usr/bin/time -v "$CW_BINARY" --home "$T/hub" -q sync pull "$T/big.git"
  pull_kb=$(rss)
  expect 0 "anna exports it in a bundle" -- /usr/bin/time -v "$CW_BINARY" --home "$T/anna" -q sync export --to hub -o "$T/big.bundle"
  export_kb=$(rss)
  echo "# peak RSS for a ${BIG_MB} MB document: push ${push_kb} KB, pull ${pull_kb} KB, export ${export_kb} KB"
  get_same hub "$N" "$DB" "$T/big.bin" "large"
  limit=$(((BIG_MB * 4 + 256) * 1024)) # libgit2 holds whole objects (docs/PERFORMANCE.md)
  for v in "push:$push_kb" "pull:$pull_kb" "export:$export_kb"; do
    [ -n "${v#*:}" ] && [ "${v#*:}" -lt "$limit" ] && ok "${v%%:*} peak RSS ${v#*:} KB < $limit KB" ||
      bad "${v%%:*} peak RSS ${v#*:} KB"
  done
  expect 2 "export --max-bytes below the large chain says so" -- cw --home "$T/anna" -q sync export --to hub -o "$T/small.bundle" --max-bytes 1048576
  contains "$T/err" "alone needs" "the error says the chain alone needs more"
fi

# ---- 5. erasure removes the received document files too ---------------------------
E=$(cw --home "$T/anna" --json case new --patient "Erase Patient" | grep -o '[0-9a-f]\{32\}')
expect 0 "anna shares E with the clinic" -- cw --home "$T/anna" share "$E" --with clinic
mkdoc "$T/erase.bin" erase 64
before=$(find "$T/hub/docs" "$T/clinic/docs" -type f ! -name '.tmp-*' | sort)
expect 0 "anna adds a document to E" -- cw --home "$T/anna" -q doc add "$E" "$T/erase.bin"
expect 0 "anna pushes E" -- cw --home "$T/anna" -q sync push "$T/hub.git"
expect 0 "the hub node pulls E" -- cw --home "$T/hub" -q sync pull "$T/hub.git"
expect 0 "the clinic pulls E" -- cw --home "$T/clinic" -q sync pull "$T/hub.git"
new=$(comm -13 <(echo "$before") <(find "$T/hub/docs" "$T/clinic/docs" -type f ! -name '.tmp-*' | sort))
[ "$(echo "$new" | grep -c .)" -eq 2 ] && ok "E's document reached the hub and the clinic" || bad "E's document reached the hub and the clinic ($new)"
expect 0 "anna erases E" -- cw --home "$T/anna" -q erase "$E" --yes
expect 0 "anna pushes the erasure" -- cw --home "$T/anna" -q sync push "$T/hub.git"
expect 0 "the hub node pulls the erasure" -- cw --home "$T/hub" -q sync pull "$T/hub.git"
expect 0 "the clinic pulls the erasure" -- cw --home "$T/clinic" -q sync pull "$T/hub.git"
left=0
for f in $new; do [ -e "$f" ] && left=$((left + 1)); done
[ "$left" -eq 0 ] && ok "the erasure removed E's document on the hub and the clinic" || bad "$left of E's document files remain"
get_same clinic "$M" "$D2" "$T/lab.bin" "after erasing E"

# ---- 6. a document blob that does not open to its address is refused --------------
# anna's own copy of D3 is swapped for D4's ciphertext before she commits: the
# blob doc.<D3's address> then holds another document.
mkdoc "$T/d3.bin" three 64
mkdoc "$T/d4.bin" four 64
files() { find "$T/anna/docs" -type f ! -name '.tmp-*' | sort; }
before=$(files)
D3=$(cw --home "$T/anna" --json doc add "$M" "$T/d3.bin" --title "Three" | grep -o '[0-9a-f]\{32\}')
f3=$(comm -13 <(echo "$before") <(files))
before=$(files)
cw --home "$T/anna" -q doc add "$M" "$T/d4.bin" --title "Four" >/dev/null || bad "anna adds D4"
f4=$(comm -13 <(echo "$before") <(files))
if [ -n "$D3" ] && [ -f "$f3" ] && [ -f "$f4" ]; then
  cp "$f4" "$f3" && ok "anna's copy of D3 swapped for D4's ciphertext"
else bad "set up the swapped document ($f3, $f4)"; fi
git init -q --bare "$T/evil.git"
expect 0 "anna pushes to another repository" -- cw --home "$T/anna" -q sync push "$T/evil.git"
a3=$(basename "$(dirname "$f3")")$(basename "$f3")
expect 4 "the hub node refuses the swapped document" -- cw --home "$T/hub" sync pull "$T/evil.git"
one_line_error "swapped document"
contains "$T/err" "${a3:0:16}" "the error names the document"
[ -e "$T/hub/docs/${a3:0:2}/${a3:2}" ] && bad "the hub stored the swapped document" || ok "the hub stored nothing under D3's address"
expect 1 "the hub does not hold D3's record" -- cw --home "$T/hub" doc get "$M" "$D3" -o "$T/got3"
expect 0 "the hub still verifies" -- cw --home "$T/hub" -q verify

finish
