#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Replay never sends a recorded server value by accident, against the demo shop on loopback:
# the checkout edited so that (a) the pay step sends an order id no response gave (unsourced)
# and (b) the order's id comes from a field the live response lacks. Each step is refused as
# UNSAFE, with a one-line reason, the session stops, exit 1; JUnit holds the refusal and
# `reprise diff` shows it from the results file; show --correlations previews it; --const and
# --allow-unsourced lift the refusal of an unsourced id.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
rec="$src/recordings/demo-checkout.jsonl.gz"
tmp=$(mktemp -d)
source "$src/tools/lib/demo-app.sh"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

source "$src/tools/lib/check.sh"
need jq xmllint
run() { # runs reprise, keeps stdout/stderr in $tmp/out, $tmp/err and the exit code in $code
    code=0
    timeout 120 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
}
export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple

# The checkout's exchange 8 pays order 999, which no response gave.
zcat "$rec" | jq -c 'if .seq == 8 then .request.url |= sub("/orders/4/pay"; "/orders/999/pay") else . end' \
    | gzip >"$tmp/unsourced.jsonl.gz"
# The checkout's exchange 6 recorded its id as "order_id", which the live shop does not send.
zcat "$rec" | jq -c 'if .seq == 6 then .response.body |= (fromjson | .order_id = .id | del(.id) | tojson) else . end' \
    | gzip >"$tmp/missing.jsonl.gz"

demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); good=$DEMO_URL

# 1. Preview: show --correlations lists the unsourced id, and --const takes it off the list.
run show --correlations "$tmp/unsourced.jsonl.gz"
check "show --correlations exits 0 (exit $code)" test "$code" -eq 0
check "show lists the unsourced id of the write" grep -qE '^ +8  POST +path segment 4 +999 +refused \(write\)$' "$tmp/out"
check "show counts it" grep -q '^1 unsourced (1 in writes' "$tmp/out"
run show --correlations "$tmp/unsourced.jsonl.gz" --const 999
check "show --const 999: nothing unsourced" grep -q '^0 unsourced' "$tmp/out"
# A bind shows what it would do before anything is sent: here, a poor one (a product id that
# also stands as a quantity).
run show --correlations "$rec" --bind 'p=$.products[1].id'
check "show --bind previews the bound value" grep -qE '^ +5 +6  body \$\.products\[1\]\.id +body \$\.items\[0\]\.quantity +2  \(bound\)$' "$tmp/out"
run show "$tmp/unsourced.jsonl.gz" --const 999
check "--const without --correlations is a usage error (exit $code)" test "$code" -eq 2

# 2. Replay refuses the unsourced write: exit 1, UNSAFE with its reason, the rest SKIPPED.
run replay "$tmp/unsourced.jsonl.gz" --target "$good" --results "$tmp/r.jsonl.gz" --junit "$tmp/j.xml" --no-color
check "an unsourced id in a write exits 1 (exit $code)" test "$code" -eq 1
check "the steps before it pass" test "$(grep -c ' ok$' "$tmp/out")" -eq 7
check "the write is reported UNSAFE" grep -qE '^  demo-checkout#1 +8  POST +/t/acme-[a-z0-9]+-1/api/orders/999/pay +---  +- +UNSAFE$' "$tmp/out"
msg='unsourced id "999" at path segment 4 of a POST: no earlier response gave it; not sent (--const 999 if it is the same in every tenant, --allow-unsourced to send it anyway)'
check "the reason is one line under it" grep -qxF "      $msg" "$tmp/out"
check "the step after it is SKIPPED" grep -qE '^  demo-checkout#1 +9  GET .* SKIPPED$' "$tmp/out"
check "the summary counts it" grep -qE '^7 passed, 0 failed, 1 unsafe, 0 errors, 1 skipped in ' "$tmp/out"
check "nothing on stderr but the tenant line" test "$(grep -vc 'tenant acme ->' "$tmp/err")" -eq 0
check "the JUnit report is well-formed" xmllint --noout "$tmp/j.xml"
check "JUnit has the refusal as a failure" test "$(xmllint --xpath 'string(//testcase[failure/@type="unsafe"]/failure/@message)' "$tmp/j.xml")" = "$msg"
check "JUnit counts it" test "$(xmllint --xpath 'string(/testsuites/@failures)' "$tmp/j.xml")" = 1
check "the results file has outcome unsafe" test "$(zcat "$tmp/r.jsonl.gz" | tail -n +2 | jq -r 'select(.check.outcome=="unsafe") | .check.error')" = "$msg"
run diff "$tmp/r.jsonl.gz" --no-color
check "diff exits 1 offline (exit $code)" test "$code" -eq 1
check "diff shows the refusal" grep -qE '^  demo-checkout#1 +8  POST .* UNSAFE$' "$tmp/out"
check "diff shows its reason" grep -qxF "      $msg" "$tmp/out"

# 3. --const and --allow-unsourced let it go (the shop has no order 999: 404, a check failure).
run replay "$tmp/unsourced.jsonl.gz" --target "$good" --const 999 --no-color
check "--const 999: the pay is sent" grep -qE '^  demo-checkout#1 +8  POST +/t/acme-[a-z0-9]+-1/api/orders/999/pay +404 ' "$tmp/out"
check "--const 999: nothing UNSAFE" test "$(grep -c 'UNSAFE' "$tmp/out")" -eq 0
run replay "$tmp/unsourced.jsonl.gz" --target "$good" --allow-unsourced --no-color
check "--allow-unsourced: the pay is sent" grep -qE '^  demo-checkout#1 +8  POST .* 404 ' "$tmp/out"
check "--allow-unsourced: warned in one line" grep -qF "exchange 8: $(sed 's/; not sent.*/; sent as recorded (--allow-unsourced)/' <<<"$msg")" "$tmp/err"

# 4. A correlated value missing live: the fetch that needs it is refused, exit 1.
run replay "$tmp/missing.jsonl.gz" --target "$good" --junit "$tmp/jm.xml" --no-color
check "a correlated value missing live exits 1 (exit $code)" test "$code" -eq 1
check "the fetch is reported UNSAFE" grep -qE '^  demo-checkout#1 +7  GET +/t/acme-[a-z0-9]+-1/api/orders/4 +---  +- +UNSAFE$' "$tmp/out"
check "the reason names the value, its source and place" grep -qxF '      body $.order_id not in the live response of #6: not sent (the recorded "4" stands at path segment 4)' "$tmp/out"
check "the two steps after it are SKIPPED" test "$(grep -c ' SKIPPED$' "$tmp/out")" -eq 2
check "JUnit has the refusal" test "$(xmllint --xpath 'count(//failure[@type="unsafe"])' "$tmp/jm.xml")" -eq 1

# 5. --dry-run refuses nothing (no value is missing where nothing is answered), and warns of
# the write a real run would refuse.
run replay "$tmp/unsourced.jsonl.gz" --target "$good" --dry-run
check "dry run exits 0 (exit $code)" test "$code" -eq 0
check "dry run prints every request" test "$(grep -c '^# demo-checkout#1, exchange' "$tmp/out")" -eq 9
check "dry run warns of the refusal to come" grep -qF "exchange 8: $msg" "$tmp/err"

# 6. The bundled checkout still replays green: nothing unsourced, nothing missing.
run replay "$rec" --target "$good" --no-color
check "the bundled checkout passes (exit $code)" test "$code" -eq 0
check "... with no warning" test "$(grep -vc 'tenant acme ->' "$tmp/err")" -eq 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
