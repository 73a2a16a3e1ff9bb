#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise capture -i lo, live: while curl drives the demo shop on loopback (keep-alive, a gzip
# response, a chunked response), reprise captures; SIGINT stops it and closes the file; the
# recording holds the checkout with secrets scrubbed, and it replays against the shop and
# passes. Needs root or CAP_NET_RAW: skipped (exit 77), saying so, without them.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
source "$src/tools/lib/demo-app.sh"
cap_pid=""
cleanup() {
    [ -n "$cap_pid" ] && { kill "$cap_pid" 2>/dev/null || true; wait "$cap_pid" 2>/dev/null || true; }
    demo_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

source "$src/tools/lib/check.sh"
need curl jq

demo_start "$DEMO_BIN"
port=${DEMO_URL##*:}

# Can this process capture at all? A one-second probe says.
code=0
timeout 60 "$REPRISE" capture -i lo --filter "tcp port $port" --duration 1s -o "$tmp/probe.jsonl.gz" \
    >/dev/null 2>"$tmp/probe.err" || code=$?
if [ "$code" -ne 0 ]; then
    skip "live capture on lo is not permitted here ($(head -n1 "$tmp/probe.err"))"
fi

rec=$tmp/live.jsonl.gz
"$REPRISE" capture -i lo --filter "tcp port $port" --tenant acme -o "$rec" \
    >"$tmp/cap.out" 2>"$tmp/cap.err" &
cap_pid=$!
# The ready line comes once the capture handle is active with its filter: from then on the
# kernel keeps every packet for it.
capturing() { grep -q '^reprise: capturing on lo' "$tmp/cap.err" || ! kill -0 "$cap_pid"; }
wait_for 60 capturing || true
if ! grep -q '^reprise: capturing on lo' "$tmp/cap.err"; then
    bad "the capture says it is capturing on lo ($(head -n1 "$tmp/cap.err"))"
    echo "$pass passed, $fail failed"
    exit 1
fi

c() { curl -s --max-time 30 -b "$tmp/jar" -c "$tmp/jar" "$@"; }
password=correct-horse-battery-staple
body='{"tenant":"acme","email":"owner@acme.test","password":"'$password'"}'
c -o /dev/null -H 'Content-Type: application/json' -d "$body" "$DEMO_URL/api/signup"
csrf=$(c -H 'Content-Type: application/json' -d "$body" "$DEMO_URL/api/login" | jq -r .csrf_token)
# Keep-alive: two requests on one connection; the dashboard (over the shop's 256-byte
# threshold) comes back gzip-compressed.
c -o /dev/null --compressed "$DEMO_URL/t/acme/api/products" -o /dev/null "$DEMO_URL/t/acme/"
id=$(c -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
       -d '{"items":[{"product_id":2,"quantity":1}]}' "$DEMO_URL/t/acme/api/orders" | jq -r .id)
c -o /dev/null -H "X-CSRF-Token: $csrf" -X POST "$DEMO_URL/t/acme/api/orders/$id/pay"
c -o /dev/null "$DEMO_URL/t/acme/api/orders" # chunked
# Every connection is closed: the capture pairs the 7 exchanges and its writer flushes them to
# the file within a second or so; stop it once they are there (or after a minute, and fail).
complete() {
    zcat "$rec" 2>/dev/null | tail -n +2 |
        jq -s 'map(select(.response != null and (.incomplete | not))) | length' 2>/dev/null
}
seven() { [ "$(complete || true)" = 7 ]; }
wait_for 60 seven || echo "# the file holds $(complete || true) complete exchanges after 60 s"
kill -INT "$cap_pid"
code=0; wait "$cap_pid" || code=$?; cap_pid=""
check "SIGINT stops the capture cleanly (exit $code)" test "$code" -eq 0

check "the recording reads" bash -c "'$REPRISE' show '$rec' >/dev/null"
n=$(zcat "$rec" | tail -n +2 | jq -s 'map(select(.response != null and (.incomplete | not))) | length')
check "all 7 exchanges were captured complete ($n)" test "$n" -eq 7
check "keep-alive: two exchanges shared a connection" test "$(zcat "$rec" | tail -n +2 | jq -s 'group_by(.conn) | map(length) | max')" -ge 2
dash='select(.request.url | endswith("/t/acme/"))
      | (.response.headers | any(.[0] == "Content-Encoding" and .[1] == "gzip"))
        and (.response.body | test("csrf-token"))'
check "the gzip response (the dashboard) was decoded" \
    test "$(zcat "$rec" | tail -n +2 | jq "$dash")" = true
check "the chunked response was de-framed" bash -c "zcat '$rec' | tail -n +2 | jq -e 'select(.request.method==\"GET\" and (.request.url|endswith(\"/api/orders\"))) | .response.body | fromjson | .orders | length == 1' >/dev/null"
check "the password is not in the recording" bash -c "! zcat '$rec' | grep -q '$password'"
check "the tenant is in the header" test "$(zcat "$rec" | head -n1 | jq -r '.tenants[0]')" = acme

REPRISE_SECRET_PASSWORD=$password timeout 60 "$REPRISE" replay "$rec" --target "$DEMO_URL" --no-color \
    >"$tmp/replay.out" 2>&1 && code=0 || code=$?
check "the captured session replays against the shop and passes (exit $code)" test "$code" -eq 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
