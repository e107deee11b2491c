#!/usr/bin/env bash
# The README's main job must keep working: run the field demo as a test.
set -euo pipefail
out=$(bash "$(dirname "$0")/../../docs/field-demo.sh" "$1" 2>&1)
echo "$out" | tail -5
echo "$out" | grep -q "Joined agency 'Acme Medical Travel'"
echo "$out" | grep -q "file is not a database"
echo "$out" | grep -q "wrong passphrase"
echo "$out" | grep -q "flight-in-recovery"
echo "$out" | grep -q "surgery-without-consent"
echo "1 passed, 0 failed"
