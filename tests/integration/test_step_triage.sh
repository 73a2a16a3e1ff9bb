#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Triage of one step against the demo shop: `diff --step N` prints the recorded and the live
# exchange (scrubbed) and the mismatches; `diff --step N --curl` prints a curl command that,
# with the session's cookie and the password set as REPRISE_SECRET_* variables, does what the
# step did (the shop's state shows it) and holds no secret value; `replay --step N --from
# RESULTS` sends that step alone with the earlier run's tenant and live ids; the dry run and
# the results file show the Host that was sent.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
rec="$src/recordings/demo-checkout.jsonl.gz"
tmp=$(mktemp -d)
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/check.sh"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
need curl jq

run() {
    code=0
    timeout 120 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
}
export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple

# Logs in to shop $1 as tenant $2's owner; prints the session cookie's value.
login() {
    curl -sS --max-time 30 -c "$tmp/jar" -o /dev/null -H 'Content-Type: application/json' \
        -d "{\"tenant\":\"$2\",\"email\":\"owner@$2.test\",\"password\":\"$REPRISE_SECRET_PASSWORD\"}" "$1/api/login"
    awk '$6 == "demo_session" { print $7 }' "$tmp/jar"
}

# 1. The dry run shows the Host that would be sent: the target's, not the recorded one.
demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); shop=$DEMO_URL
run replay "$rec" --target "$shop" --dry-run
check "the dry run exits 0 (exit $code)" test "$code" -eq 0
check "the dry run shows the target's Host" test "$(grep -c "^Host: ${shop#http://}\$" "$tmp/out")" -eq 9
check "the dry run shows no recorded Host" bash -c "! grep -q '^Host: 127.0.0.1:41957' '$tmp/out'"

# 2. A run cut short after the order is made (--max-requests 7: the pay and the list are kept
# back). Its results file shows the Host that was sent.
run replay "$rec" --target "$shop" --max-requests 7 --results "$tmp/r.jsonl.gz" --no-color
check "the short run passes what it sent (exit $code)" test "$code" -eq 0
check "the results file shows the Host that was sent" test "$(zcat "$tmp/r.jsonl.gz" | tail -n +2 | head -7 | jq -r '.request.headers[] | select(.[0] == "Host") | .[1]' | sort -u)" = "${shop#http://}"
tenant=$(zcat "$tmp/r.jsonl.gz" | sed -n 2p | jq -r '.check.tenants.acme')
order=$(zcat "$tmp/r.jsonl.gz" | tail -n +2 | jq -r 'select(.check.recorded_seq == 6) | .response.body | fromjson | .id')
check "the results file names the session's tenant" grep -qE '^acme-[a-z0-9]+-1$' <<<"$tenant"
check "the live order id differs from the recorded 4" test -n "$order" -a "$order" != 4

# 3. diff --step: the recorded and the live exchange, scrubbed, and what failed.
run diff "$tmp/r.jsonl.gz" --step 6
check "diff --step of a passed step exits 0 (exit $code)" test "$code" -eq 0
check "it names the step" grep -qxF 'step 6 of demo-checkout#1: POST /t/{tenant}/api/orders (pass)' "$tmp/out"
check "it shows the recorded request" grep -qxF 'POST http://127.0.0.1:41957/t/acme/api/orders HTTP/1.1' "$tmp/out"
check "it shows the live request" grep -qxF "POST $shop/t/$tenant/api/orders HTTP/1.1" "$tmp/out"
check "it shows the live response and body" bash -c "grep -qxF 'HTTP/1.1 201 Created' '$tmp/out' && grep -qF '\"id\":$order,' '$tmp/out'"
check "it shows no secret value" bash -c "! grep -qF '$REPRISE_SECRET_PASSWORD' '$tmp/out'"
run diff "$tmp/r.jsonl.gz" --step 42
check "diff --step of a step no session has exits 2 (exit $code)" test "$code" -eq 2
run diff "$tmp/r.jsonl.gz" --curl
check "--curl without --step exits 2 (exit $code)" test "$code" -eq 2

demo_start "$DEMO_BIN" --drift; pids+=("$DEMO_PID"); drift=$DEMO_URL
run replay "$rec" --target "$drift" --results "$tmp/rd.jsonl.gz" --no-color
check "a drifted run fails (exit $code)" test "$code" -eq 1
run diff "$tmp/rd.jsonl.gz" --step 7
check "diff --step of a failed step exits 1 (exit $code)" test "$code" -eq 1
check "it lists the mismatches" grep -qxF '  $.items[0].price: expected number, got string "2.50"' "$tmp/out"
check "it shows the drifted body" grep -qF '"price":"2.50"' "$tmp/out"

# 4. --curl: the live request of the order's page (step 7) with the session's cookie as a
# variable, run as printed with a fresh login's cookie: the shop returns the run's order.
export REPRISE_SECRET_COOKIE_DEMO_SESSION
REPRISE_SECRET_COOKIE_DEMO_SESSION=$(login "$shop" "$tenant")
run diff "$tmp/r.jsonl.gz" --step 7 --curl
check "diff --curl exits 0 (exit $code)" test "$code" -eq 0
cp "$tmp/out" "$tmp/step7.sh"
check "the command takes the cookie from the environment" grep -qF '"$REPRISE_SECRET_COOKIE_DEMO_SESSION"' "$tmp/step7.sh"
check "the command holds no cookie value" bash -c "! grep -qF '$REPRISE_SECRET_COOKIE_DEMO_SESSION' '$tmp/step7.sh'"
got=$(bash "$tmp/step7.sh" | jq -r '"\(.id) \(.status)"' 2>/dev/null || true)
check "the command fetches the run's order, still unpaid ($got)" test "$got" = "$order pending"

# The sign-up (step 2) as curl, with the password as a variable, against a fresh shop on the
# same address: the shop then knows the run's tenant and its owner's password.
run diff "$tmp/r.jsonl.gz" --step 2 --curl
cp "$tmp/out" "$tmp/step2.sh"
check "the sign-up's password is a variable" grep -qF '"$REPRISE_SECRET_PASSWORD"' "$tmp/step2.sh"
check "the sign-up command holds no password" bash -c "! grep -qF '$REPRISE_SECRET_PASSWORD' '$tmp/step2.sh'"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
if demo_start "$DEMO_BIN" --listen "${shop#http://}"; then
    pids+=("$DEMO_PID")
    made=$(bash "$tmp/step2.sh" | jq -r '.tenant.name' 2>/dev/null || true)
    check "the sign-up command creates the run's tenant ($made)" test "$made" = "$tenant"
    check "the fresh shop lets the run's owner log in" test -n "$(login "$shop" "$tenant")"
    kill "$DEMO_PID"; wait "$DEMO_PID" 2>/dev/null || true
else
    bad "a fresh shop could not listen on $shop again"
fi

# 5. replay --step N --from RESULTS: the pay step (8) was never sent. Step 7 alone goes to the
# run's order in the run's tenant; the sign-up alone, to a fresh shop, creates the run's tenant.
demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); fresh=$DEMO_URL
run replay "$rec" --target "$fresh" --step 2 --from "$tmp/r.jsonl.gz" --results "$tmp/s2.jsonl.gz" --no-color
check "replay --step 2 --from passes (exit $code)" test "$code" -eq 0
check "it sent one step" test "$(zcat "$tmp/s2.jsonl.gz" | tail -n +2 | grep -c '"check":')" -eq 1
check "the fresh shop now has the run's tenant" test -n "$(login "$fresh" "$tenant")"

REPRISE_SECRET_COOKIE_DEMO_SESSION=$(login "$fresh" "$tenant")
run replay "$rec" --target "$fresh" --step 7 --from "$tmp/r.jsonl.gz" --results "$tmp/s7.jsonl.gz" --no-color
check "replay --step 7 --from to a shop without the order fails its check (exit $code)" test "$code" -eq 1
check "it asked for the run's order in the run's tenant" test "$(zcat "$tmp/s7.jsonl.gz" | tail -n +2 | jq -r 'select(.check) | .request.url')" = "$fresh/t/$tenant/api/orders/$order"

demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); shop2=$DEMO_URL
run replay "$rec" --target "$shop2" --max-requests 7 --results "$tmp/r2.jsonl.gz" --no-color
tenant2=$(zcat "$tmp/r2.jsonl.gz" | sed -n 2p | jq -r '.check.tenants.acme')
order2=$(zcat "$tmp/r2.jsonl.gz" | tail -n +2 | jq -r 'select(.check.recorded_seq == 6) | .response.body | fromjson | .id')
REPRISE_SECRET_COOKIE_DEMO_SESSION=$(login "$shop2" "$tenant2")
run replay "$rec" --target "$shop2" --step 7 --from "$tmp/r2.jsonl.gz" --results "$tmp/s7b.jsonl.gz" --no-color
check "replay --step 7 --from passes against the run's shop (exit $code)" test "$code" -eq 0
check "it got the run's order" test "$(zcat "$tmp/s7b.jsonl.gz" | tail -n +2 | jq -r 'select(.response) | .response.body | fromjson | "\(.id) \(.status)"')" = "$order2 pending"
check "the cookie's value reached no report" bash -c "! zcat '$tmp/s7b.jsonl.gz' | grep -qF '$REPRISE_SECRET_COOKIE_DEMO_SESSION' && ! grep -qF '$REPRISE_SECRET_COOKIE_DEMO_SESSION' '$tmp/out' '$tmp/err'"
unset REPRISE_SECRET_COOKIE_DEMO_SESSION
run replay "$rec" --target "$shop2" --step 7 --from "$tmp/r2.jsonl.gz" --no-color
check "without the cookie's variable it exits 2 naming it (exit $code)" bash -c "test '$code' -eq 2 && grep -qF REPRISE_SECRET_COOKIE_DEMO_SESSION '$tmp/err'"
run replay "$rec" --target "$shop2" --step 7 --no-color
check "--step without --from exits 2 (exit $code)" test "$code" -eq 2
{ zcat "$rec"; zcat "$rec" | tail -n 1 | jq -c '.seq = 10'; } | gzip -c >"$tmp/twice.jsonl.gz"
run replay "$tmp/twice.jsonl.gz" --target "$shop2" --results "$tmp/rt.jsonl.gz" --no-color
run replay "$rec" --target "$shop2" --step 10 --from "$tmp/rt.jsonl.gz" --no-color
check "--step N of a recording without step N exits 2 naming it (exit $code)" bash -c "test '$code' -eq 2 && grep -qF 'no step 10 to send' '$tmp/err'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
