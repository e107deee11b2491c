#!/usr/bin/env bash
# tests/scenario/sync_daemon.sh - the four nodes again, with a real git
# server as the hub: `git daemon` on 127.0.0.1 serving a bare repository
# (receive-pack enabled), started and stopped by this test. The head-office
# node pulls from it like everyone else. Concurrent edits converge, the
# conflict is the same everywhere, the clinic reads only what was shared
# with it, and stock git finds the served repository sound and signed.
# Usage: bash tests/scenario/sync_daemon.sh path/to/caseway
. "$(dirname "$0")/../cli/lib.sh" "$1"

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

# ---- the served repository and the daemon ----------------------------------------
served_hub "$T/srv" || bad "served hub made"
serve_git "$T/srv"
if [ -n "$DAEMON_PID" ]; then ok "git daemon serves the hub on 127.0.0.1:$PORT"; else
  bad "git daemon did not start"; finish; exit 1; fi
URL="git://127.0.0.1:$PORT/hub.git"

# ---- the agency -------------------------------------------------------------------
mkorg || bad "agency made"
for n in anna:coordinator ben:coordinator clinic:clinic; do
  enrolled "$T/${n%%:*}" "${n%%:*}" "${n#*:}" || bad "${n%%:*} enrolled"
done
for n in hub anna ben clinic; do cw --home "$T/$n" whoami --cert -o "$T/$n.crt" 2>/dev/null; done
for n in anna ben clinic; do
  cw --home "$T/$n" -q peer add hub --cert "$T/hub.crt" --url "$URL" || bad "$n adds the hub"
  cw --home "$T/hub" -q peer add "$n" --cert "$T/$n.crt" || bad "hub adds $n"
done
cw --home "$T/hub" -q peer add served --cert "$T/hub.crt" --url "$URL" 2>/dev/null
cw --home "$T/anna" -q peer add ben --cert "$T/ben.crt"
cw --home "$T/anna" -q peer add clinic --cert "$T/clinic.crt"
ok "peers added"

digest() { cw --home "$T/$1" --json case show "$2" 2>/dev/null | grep '"digest"' | grep -o '[0-9a-f]\{64\}'; }

# ---- cases, pushed to the served hub ------------------------------------------------
M=$(cw --home "$T/anna" --json case new --patient "Daemon-Marker-3141" | grep -o '[0-9a-f]\{32\}')
P=$(cw --home "$T/anna" --json case new --patient "Daemon-Private-2718" | grep -o '[0-9a-f]\{32\}')
cw --home "$T/anna" -q share "$M" --with ben && cw --home "$T/anna" -q share "$M" --with clinic
expect 0 "anna pushes to the served hub" -- cw --home "$T/anna" sync push
expect 0 "a second push has nothing to send" -- cw --home "$T/anna" --json sync push
contains "$T/out" '"ops_received":	0' "second push received nothing"
for n in hub ben clinic; do expect 0 "$n pulls" -- cw --home "$T/$n" sync pull; done
[ -n "$(digest ben "$M")" ] && [ "$(digest ben "$M")" = "$(digest anna "$M")" ] && ok "ben reads the shared case" || bad "ben reads the shared case"
[ "$(digest clinic "$M")" = "$(digest anna "$M")" ] && ok "clinic reads the shared case" || bad "clinic reads the shared case"
[ "$(digest hub "$P")" = "$(digest anna "$P")" ] && ok "the hub reads the private case" || bad "the hub reads the private case"
expect 1 "the clinic cannot open the private case" -- cw --home "$T/clinic" case show "$P"

# ---- offline edits, then everyone syncs --------------------------------------------
cw --home "$T/anna" -q case set "$M" diet=vegan
cw --home "$T/ben" -q case set "$M" diet=kosher
cw --home "$T/clinic" -q cost add "$M" --charge 1200 EUR --label Surgery
for n in ben clinic anna; do expect 0 "$n syncs (pull, then push)" -- cw --home "$T/$n" sync; done
for n in ben clinic anna hub; do expect 0 "$n syncs again" -- cw --home "$T/$n" sync; done
d=$(digest anna "$M")
for n in hub ben clinic; do
  [ -n "$d" ] && [ "$(digest "$n" "$M")" = "$d" ] && ok "$n agrees on the shared case" || bad "$n agrees on the shared case"
done
for n in hub anna ben clinic; do cw --home "$T/$n" --json conflicts "$M" >"$T/conf.$n" 2>/dev/null; done
if grep -q vegan "$T/conf.anna" && grep -q kosher "$T/conf.anna" && cmp -s "$T/conf.anna" "$T/conf.ben" &&
  cmp -s "$T/conf.anna" "$T/conf.clinic" && cmp -s "$T/conf.anna" "$T/conf.hub"; then
  ok "the same conflict on all four"; else bad "the same conflict on all four"; fi
cw --home "$T/hub" case show "$M" | grep -q 1200 && ok "the hub sees the clinic's charge" || bad "the hub sees the clinic's charge"

# ---- the served repository, judged by stock git -------------------------------------
git --git-dir="$T/srv/hub.git" fsck --strict >"$T/fsck" 2>&1 && ok "served hub: git fsck --strict clean" || bad "served hub: fsck: $(head -3 "$T/fsck")"
cw --home "$T/hub" org allowed-signers -o "$T/signers" >/dev/null
good=0 total=0
for c in $(git --git-dir="$T/srv/hub.git" rev-list --glob='refs/cw/case/*'); do
  total=$((total + 1))
  git -c gpg.ssh.allowedSignersFile="$T/signers" --git-dir="$T/srv/hub.git" verify-commit "$c" 2>"$T/vc" &&
    grep -q 'Good "git" signature' "$T/vc" && good=$((good + 1))
done
[ "$total" -gt 0 ] && [ "$good" -eq "$total" ] && ok "git verify-commit: $good of $total chain commits good" || bad "git verify-commit: $good of $total"
if git --git-dir="$T/srv/hub.git" cat-file --batch-all-objects --batch 2>/dev/null | grep -a -q -e Daemon-Marker -e Daemon-Private; then
  bad "plaintext in the served hub"; else ok "no plaintext in the served hub"; fi
# A rewrite pushed with stock git is refused by the hub's hook.
ref=$(git --git-dir="$T/srv/hub.git" for-each-ref --format='%(refname)' 'refs/cw/case/' | head -1)
other=$(git --git-dir="$T/srv/hub.git" for-each-ref --format='%(objectname)' 'refs/cw/roster/' | head -1)
if git --git-dir="$T/anna/log.git" push -q --force "$URL" "$other:$ref" 2>/dev/null; then
  bad "the served hub accepted a rewritten chain"; else ok "the served hub refuses a rewritten chain"; fi

served_by=$DAEMON_PID
stop_daemon
if [ -n "$served_by" ] && ! kill -0 "$served_by" 2>/dev/null; then ok "git daemon stopped"; else bad "daemon still running"; fi
finish
