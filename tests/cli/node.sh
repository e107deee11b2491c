#!/usr/bin/env bash
# The node home, device keys, the agency and the encrypted store, through
# the command line: what a coordinator and head office see, and what they
# see when something is wrong.
. "$(dirname "$0")/lib.sh"

flip_byte() { # flip_byte FILE OFFSET: invert one bit of the byte at OFFSET
  local f=$1 off=$2 b
  b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
  printf "$(printf '\\%03o' $(( b ^ 1 )))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# --- a new node -------------------------------------------------------------
expect 0 "init a coordinator" -- cw --home "$T/ana" init --name "Ana MARKERNAME" $FAST
contains "$T/out" "Made a new coordinator node" "init says what it made"
[ "$(stat -c %a "$T/ana")" = 700 ] && ok "home is private (0700)" || bad "home mode"
[ "$(stat -c %a "$T/ana/keys")" = 600 ] && ok "keystore is 0600" || bad "keystore mode"
[ -d "$T/ana/inbox" ] && ok "inbox made" || bad "no inbox"
expect 1 "init twice refuses" -- cw --home "$T/ana" init --name Ana $FAST
one_line_error "init twice"
contains "$T/err" "already exists" "init twice says a node exists"
expect 2 "init without --name is a usage error" -- cw --home "$T/x" init
expect 2 "init with a bad role" -- cw --home "$T/x" init --name X --role pilot
expect 2 "init with an absurd KDF cost" -- cw --home "$T/x" init --name X --kdf-memory 1
expect 2 "unknown command" -- cw frobnicate
one_line_error "unknown command"
expect 2 "unknown option" -- cw --home "$T/ana" whoami --frob

# --- unlocking ----------------------------------------------------------------
expect 1 "no node at home" -- cw --home "$T/nowhere" whoami
contains "$T/err" "caseway init" "no node: says to run caseway init"
cp "$T/ana/store.db" "$T/store.before"
expect 3 "wrong passphrase" -- env CASEWAY_PASSPHRASE=wrong "$CW_BINARY" --home "$T/ana" whoami
if [ "$(cat "$T/err")" = "caseway: wrong passphrase for $T/ana" ]; then ok "wrong passphrase message"
else bad "wrong passphrase message: $(cat "$T/err")"; fi
cmp -s "$T/ana/store.db" "$T/store.before" && ok "wrong passphrase wrote nothing" || bad "store changed"
printf '%s\n' "$CASEWAY_PASSPHRASE" >"$T/pass"
expect 0 "passphrase from a file" -- env -u CASEWAY_PASSPHRASE "$CW_BINARY" --home "$T/ana" --passphrase-file "$T/pass" whoami
expect 3 "no passphrase and no terminal" -- env -u CASEWAY_PASSPHRASE setsid "$CW_BINARY" --home "$T/ana" whoami
expect 0 "CASEWAY_HOME is honoured" -- env CASEWAY_HOME="$T/ana" "$CW_BINARY" whoami
contains "$T/out" "Ana MARKERNAME" "whoami names the device"
contains "$T/out" "not enrolled yet" "whoami says it is not enrolled"
expect 0 "whoami --json" -- cw --home "$T/ana" --json whoami
contains "$T/out" '"signing_key"' "whoami --json has the keys"
contains "$T/out" '"agency":	null' "whoami --json: no agency yet"

# --- the agency -----------------------------------------------------------------
mknode "$T/hub" "Head office" hub
expect 2 "org create on a coordinator is refused" -- cw --home "$T/ana" org create --name X
expect 0 "org create on the hub" -- cw --home "$T/hub" org create --name "Acme Medical Travel" $FAST
[ "$(stat -c %a "$T/hub/org.key")" = 600 ] && ok "org key is 0600" || bad "org key mode"
expect 1 "org create twice" -- cw --home "$T/hub" org create --name Again $FAST
expect 0 "enrolment request" -- cw --home "$T/ana" whoami --request -o "$T/ana.req"
grep -q '^caseway-request-v1:' "$T/ana.req" && ok "request is one armoured line" || bad "request format"
expect 0 "hub enrols the coordinator" -- cw --home "$T/hub" org enroll "$T/ana.req" --role coordinator -o "$T/ana.cert"
expect 0 "enrolling again gives the certificate again" -- cw --home "$T/hub" org enroll "$T/ana.req" --role coordinator -o "$T/ana2.cert"
expect 1 "enrolling again with another role is refused" -- cw --home "$T/hub" org enroll "$T/ana.req" --role clinic -o "$T/ana3.cert"
expect 0 "coordinator joins" -- cw --home "$T/ana" org join "$T/ana.cert"
contains "$T/out" "Acme Medical Travel" "join names the agency"
expect 0 "join again is harmless" -- cw --home "$T/ana" org join "$T/ana.cert"
expect 0 "roster on the coordinator" -- cw --home "$T/ana" org roster
contains "$T/out" "Head office" "roster lists the hub"
contains "$T/out" "Ana MARKERNAME" "roster lists the coordinator"
expect 0 "roster --json" -- cw --home "$T/hub" --json org roster
[ "$(grep -c '"role":' "$T/out")" -eq 2 ] && ok "roster --json has two devices" || bad "roster json"
expect 0 "whoami --cert" -- cw --home "$T/ana" whoami --cert -o "$T/ana.mycert"
cmp -s "$T/ana.mycert" "$T/ana.cert" && ok "whoami --cert gives back the certificate" || bad "whoami --cert differs"

# forged, foreign and other-agency certificates
mknode "$T/bob" "Bob" coordinator
cw --home "$T/bob" whoami --request -o "$T/bob.req"
expect 4 "someone else's certificate is refused" -- cw --home "$T/bob" org join "$T/ana.cert"
one_line_error "foreign certificate"
sed 's/A/B/5; s/a/b/9' "$T/ana.cert" >"$T/forged.cert"
expect 4 "a forged certificate is refused" -- cw --home "$T/ana" org join "$T/forged.cert"
echo "hello" >"$T/junk.cert"
expect 4 "a file that is not a certificate is refused" -- cw --home "$T/ana" org join "$T/junk.cert"
mknode "$T/hub2" "Rival office" hub
cw --home "$T/hub2" org create --name "Rival Agency" $FAST >/dev/null
cw --home "$T/hub2" org enroll "$T/ana.req" --role coordinator -o "$T/rival.cert" 2>/dev/null
expect 4 "a certificate from another agency is refused" -- cw --home "$T/ana" org join "$T/rival.cert"
contains "$T/err" "different agency" "other agency: says so"
printf 'caseway-request-v1:AAAA\n' >"$T/bad.req"
expect 4 "a broken enrolment request is refused" -- cw --home "$T/hub" org enroll "$T/bad.req" --role clinic

# --- verify and the passphrase ------------------------------------------------------
expect 0 "verify a healthy node" -- cw --home "$T/ana" verify
contains "$T/out" "store        ok" "verify reports the store"
contains "$T/out" "certificate  ok" "verify reports the certificate"
expect 0 "verify --json" -- cw --home "$T/hub" --json verify
contains "$T/out" '"ok":	true' "verify --json says ok"
cp "$T/ana/store.db" "$T/store.before"
expect 0 "passwd" -- env CASEWAY_NEW_PASSPHRASE="new secret words" "$CW_BINARY" --home "$T/ana" passwd --kdf-memory 8 --kdf-passes 1
expect 3 "old passphrase no longer opens" -- cw --home "$T/ana" whoami
expect 0 "new passphrase opens" -- env CASEWAY_PASSPHRASE="new secret words" "$CW_BINARY" --home "$T/ana" verify
cmp -s "$T/ana/store.db" "$T/store.before" && ok "passwd left the store alone" || bad "passwd changed the store"

# --- the store is opaque ------------------------------------------------------------
sqlite3 "$T/hub/store.db" "select * from sqlite_schema" >"$T/out" 2>"$T/err" && bad "stock sqlite3 read store.db" || ok "stock sqlite3 cannot read store.db"
contains "$T/err" "file is not a database" "sqlite3 says: file is not a database"
for f in "$T/ana/store.db" "$T/ana/keys" "$T/hub/store.db" "$T/hub/org.key"; do
  if strings -n 6 "$f" | grep -q -e MARKERNAME -e "Acme Medical" -e "Head office" -e CREATE; then bad "plaintext in $(basename "$f")"
  else ok "no plaintext in $(basename "$(dirname "$f")")/$(basename "$f")"; fi
done

# --- damage ------------------------------------------------------------------------
cp -a "$T/hub" "$T/hub.flip"
flip_byte "$T/hub.flip/store.db" 5000
expect 4 "a flipped bit in store.db is tampering" -- cw --home "$T/hub.flip" verify
contains "$T/err" "store.db page 2" "the error names the file and page"
one_line_error "flipped bit"
cp -a "$T/hub" "$T/hub.flip1"
flip_byte "$T/hub.flip1/store.db" 17
expect 4 "a flipped bit in page 1 is tampering" -- cw --home "$T/hub.flip1" whoami
cp -a "$T/hub" "$T/hub.trunc"
truncate -s 6000 "$T/hub.trunc/store.db"
expect 4 "a truncated store.db is tampering" -- cw --home "$T/hub.trunc" verify
cp -a "$T/hub" "$T/hub.ks"
flip_byte "$T/hub.ks/keys" 120
expect 4 "a flipped bit in the keystore is damage" -- cw --home "$T/hub.ks" whoami
contains "$T/err" "keystore is damaged" "keystore damage is named"
cp -a "$T/hub" "$T/hub.kst"
truncate -s 100 "$T/hub.kst/keys"
expect 4 "a truncated keystore is damage" -- cw --home "$T/hub.kst" whoami
cp -a "$T/hub" "$T/hub.ksl"
flip_byte "$T/hub.ksl/keys" 10   # the KDF limits
expect 4 "tampered KDF limits are damage" -- cw --home "$T/hub.ksl" whoami
cmp -s "$T/hub/store.db" "$T/hub.flip/store.db" && bad "copy did not differ" || ok "damaged copies were separate"
expect 0 "the original is untouched by all that" -- cw --home "$T/hub" verify

finish
