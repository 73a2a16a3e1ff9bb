#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise diff re-runs the identity check offline: a results file (hand-made, as replay writes
# one) whose GET after the create returned another order fails again with the same message,
# with no recording and no network; the same file with the right order passes.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source "$src/tools/lib/check.sh"

gzip -c "$src/tests/data/identity/results.jsonl" >"$tmp/results.jsonl.gz"

code=0
"$REPRISE" diff --no-color "$tmp/results.jsonl.gz" >"$tmp/out" 2>"$tmp/err" || code=$?
check "diff exits 1 on an identity failure (exit $code)" test "$code" -eq 1
check "diff prints the identity mismatch" grep -qF '$.id: expected 21 (the order created by #3), got 7' "$tmp/out"
check "diff does not report the other session's order" bash -c "! grep -q 'expected 22' '$tmp/out'"

# The stored verdict said "fail"; diff decides from the live response, not from the verdict.
sed -e 's/{\\"id\\":7,/{\\"id\\":21,/' "$src/tests/data/identity/results.jsonl" | gzip -c >"$tmp/fixed.jsonl.gz"
code=0
"$REPRISE" diff --no-color "$tmp/fixed.jsonl.gz" >"$tmp/out" 2>"$tmp/err" || code=$?
check "diff exits 0 when the later response names the created order (exit $code)" test "$code" -eq 0
check "diff prints no identity mismatch then" bash -c "! grep -q 'expected 21' '$tmp/out'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
