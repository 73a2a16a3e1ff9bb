#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise replay against the demo shop on loopback: the bundled checkout passes, and passes
# again in a fresh tenant; --drift fails naming the field; a dead target exits 3 with every
# exchange listed; a missing secret exits 2 with nothing sent; diff reproduces a failure offline.
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
need curl jq xmllint
: "${REPRISE_FAULT_SERVER:?set REPRISE_FAULT_SERVER to reprise-fault-server}"
run() { # runs reprise, keeps stdout/stderr in $tmp/out, $tmp/err and the exit code in $code
    code=0
    timeout 120 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
}

export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple
n_exchanges=$(zcat "$rec" | tail -n +2 | grep -c .)

demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); good=$DEMO_URL

# 1. The checkout passes, twice in a row (each run its own tenant).
run replay "$rec" --target "$good" --results "$tmp/r1.jsonl.gz" --junit "$tmp/j1.xml" --no-color
check "replay passes (exit $code)" test "$code" -eq 0
check "every exchange is reported ok" test "$(grep -c ' ok$' "$tmp/out")" -eq "$n_exchanges"
check "the tenant is fresh and logged" grep -qE '#1: tenant acme -> acme-[a-z0-9]{8}-1$' "$tmp/err"
tenant1=$(sed -nE 's/.*tenant acme -> (acme-[a-z0-9]+-1)$/\1/p' "$tmp/err")
run replay "$rec" --target "$good" --no-color
check "replay passes a second time (exit $code)" test "$code" -eq 0
tenant2=$(sed -nE 's/.*tenant acme -> (acme-[a-z0-9]+-1)$/\1/p' "$tmp/err")
check "the second run uses another tenant" test -n "$tenant2" -a "$tenant1" != "$tenant2"

# The results file is a recording, holds no secret, and its requests carry the run header.
check "the results file reads as a recording" bash -c "'$REPRISE' show '$tmp/r1.jsonl.gz' >/dev/null"
check "no secret value in the results file" bash -c "! zcat '$tmp/r1.jsonl.gz' | grep -q '$REPRISE_SECRET_PASSWORD'"
check "no secret value in the report" bash -c "! grep -q '$REPRISE_SECRET_PASSWORD' '$tmp/out' '$tmp/err' '$tmp/j1.xml'"
check "requests carry X-Reprise-Run" test "$(zcat "$tmp/r1.jsonl.gz" | tail -n +2 | jq -r '.request.headers[] | select(.[0]=="X-Reprise-Run") | .[1]' | sort -u | wc -l)" -eq 1
check "the order was fetched by its live id" bash -c "zcat '$tmp/r1.jsonl.gz' | tail -n +2 | jq -r 'select(.request.method==\"POST\" and (.request.url|test(\"/api/orders\$\"))) | .response.body | fromjson | .id' >'$tmp/id' && grep -q \"/api/orders/\$(cat '$tmp/id')/pay\" <(zcat '$tmp/r1.jsonl.gz')"
check "the JUnit report is well-formed" xmllint --noout "$tmp/j1.xml"
check "the JUnit report has a testcase per exchange" test "$(xmllint --xpath 'count(//testcase)' "$tmp/j1.xml")" -eq "$n_exchanges"

# The same, streaming the recording from its file in the session instead of from memory.
run replay "$rec" --target "$good" --stream --results "$tmp/r-stream.jsonl.gz" --no-color
check "replay --stream passes (exit $code)" test "$code" -eq 0
check "--stream sends the same requests" test "$(zcat "$tmp/r1.jsonl.gz" | tail -n +2 | jq -r 'select(.request) | .request.method + " " + (.request.url|sub("acme-[a-z0-9]+-1";"T")|sub("orders/[0-9]+";"orders/N"))' | md5sum)" = "$(zcat "$tmp/r-stream.jsonl.gz" | tail -n +2 | jq -r 'select(.request) | .request.method + " " + (.request.url|sub("acme-[a-z0-9]+-1";"T")|sub("orders/[0-9]+";"orders/N"))' | md5sum)"

# 2. Concurrent sessions, each in its own tenant.
run replay "$rec" --target "$good" --sessions 3 --concurrency 3 --no-color
check "3 concurrent sessions pass (exit $code)" test "$code" -eq 0
run replay "$rec" --target "$good" --sessions 3 --concurrency 2 --stream --no-color
check "3 streamed sessions, 2 at a time, pass (exit $code)" test "$code" -eq 0
check "3 sessions, 3 tenants" test "$(grep -cE 'tenant acme -> acme-[a-z0-9]+-[123]$' "$tmp/err")" -eq 3

run replay "$rec" --target "$good" --sessions 2 --tenant 'acme=shared-{run}' --no-color
check "a --tenant without {session} for 2 sessions is warned about" grep -q "every session gets the same tenant" "$tmp/err"
check "... and the second session's sign-up then fails its check (exit $code)" test "$code" -eq 1

# 3. Drift: the price's type changed; exit 1 naming the JSON path.
demo_start "$DEMO_BIN" --drift; pids+=("$DEMO_PID"); drift=$DEMO_URL
run replay "$rec" --target "$drift" --results "$tmp/drift.jsonl.gz" --no-color
check "drift fails with exit 1 (exit $code)" test "$code" -eq 1
check "drift names the field's path" grep -qE '\$\.items\[0\]\.price: expected number, got string "[0-9.]+"' "$tmp/out"
kill "$DEMO_PID"; wait "$DEMO_PID" 2>/dev/null || true

# 4. diff reproduces the failure offline (the drift app is gone).
run diff "$tmp/drift.jsonl.gz" --no-color
check "diff exits 1 offline (exit $code)" test "$code" -eq 1
check "diff prints the same mismatch" grep -qE '\$\.items\[0\]\.price: expected number, got string' "$tmp/out"
# An edited shape file that accepts a string price makes the failure go away.
"$REPRISE" shape "$rec" -o "$tmp/edited.shape.json" >/dev/null
jq '(.. | objects | select(has("properties") and (.properties|has("price"))) | .properties.price.type) |= ["number","string"]' \
    "$tmp/edited.shape.json" >"$tmp/edited2.shape.json"
run diff "$tmp/drift.jsonl.gz" --shape "$tmp/edited2.shape.json" --no-color
check "diff against an edited shape file passes (exit $code)" test "$code" -eq 0

# 5. The target is down: exit 3, and the report still lists every exchange.
# A port that was just free'd by a stopped server refuses connections.
demo_start "$DEMO_BIN"; dead=$DEMO_URL; demo_stop
port=${dead##*:}
run replay "$rec" --target "$dead" --no-color --timeout 5s
check "a dead target exits 3 (exit $code)" test "$code" -eq 3
check "the failed exchange is reported as ERROR" test "$(grep -c ' ERROR$' "$tmp/out")" -eq 1
check "the rest are reported as SKIPPED" test "$(grep -c ' SKIPPED$' "$tmp/out")" -eq $((n_exchanges - 1))
check "stderr names the failure in one line" grep -q "^reprise: .*127.0.0.1.*$port" "$tmp/err"

# 6. A missing secret: exit 2 naming the variable, nothing sent. The target is the fault
# server in count mode: asked once reprise has exited, it says how many connections it accepted,
# ours included, so 1 means reprise never connected.
rm -f "$tmp/url"
"$REPRISE_FAULT_SERVER" count --max-seconds 600 >"$tmp/url" & pids+=("$!")
count_pid=$!
has_url() { [ -s "$tmp/url" ] || ! kill -0 "$count_pid"; }
wait_for 60 has_url || true
watched=$(head -n1 "$tmp/url")
check "the counting server started ($watched)" test -n "$watched"
connections() { curl -sS --max-time 60 "$watched/count" || echo "no answer"; }
code=0
env -u REPRISE_SECRET_PASSWORD "$REPRISE" replay "$rec" --target "$watched" >"$tmp/out" 2>"$tmp/err" || code=$?
check "a missing secret exits 2 (exit $code)" test "$code" -eq 2
check "the error names the variable" grep -q 'REPRISE_SECRET_PASSWORD' "$tmp/err"
check "the error is one line" test "$(wc -l <"$tmp/err")" -eq 1
n=$(connections)
check "nothing was sent (connections: $n, the count's own included)" test "$n" = 1

# 7. --dry-run prints requests and sends nothing.
run replay "$rec" --target "$watched" --dry-run
check "dry run exits 0" test "$code" -eq 0
check "dry run prints every request" test "$(grep -cE '^(GET|POST) http://' "$tmp/out")" -eq "$n_exchanges"
check "dry run keeps placeholders" grep -q '{{secret:password}}' "$tmp/out"
check "dry run shows the run header" grep -q '^X-Reprise-Run: ' "$tmp/out"
n=$(connections)
check "dry run sent nothing (connections: $n, the two counts' own included)" test "$n" = 2

# 8. Another host is skipped and reported, unless --map-host sends it somewhere.
cat >"$tmp/two-hosts.jsonl" <<'JSONL'
{"reprise":1,"name":"two-hosts","source":{"kind":"har"},"tenants":[]}
{"seq":1,"request":{"method":"GET","url":"http://shop.example.test/healthz","headers":[]},"response":{"status":200,"headers":[["Content-Type","text/plain"]],"body":"ok\n"}}
{"seq":2,"request":{"method":"GET","url":"http://cdn.example.test:8443/healthz","headers":[]},"response":{"status":200,"headers":[["Content-Type","text/plain"]],"body":"ok\n"}}
JSONL
gzip -c "$tmp/two-hosts.jsonl" >"$tmp/two-hosts.jsonl.gz"
run replay "$tmp/two-hosts.jsonl.gz" --target "$good" --no-color
check "another host: the run still passes (exit $code)" test "$code" -eq 0
check "another host is reported SKIPPED with the reason" grep -qE 'SKIPPED$' "$tmp/out"
check "... naming the host and --map-host" grep -q 'another host: cdn.example.test:8443 .*--map-host' "$tmp/out"
run replay "$tmp/two-hosts.jsonl.gz" --target "$good" --map-host "cdn.example.test:8443=$good" --no-color
check "--map-host sends it: both ok (exit $code)" test "$(grep -c ' ok$' "$tmp/out")" -eq 2

# 9. --rate holds the run back: 9 requests at 20/s take at least 8 intervals (0.4 s).
t0=$(date +%s%N)
run replay "$rec" --target "$good" --rate 20 --no-color
t1=$(date +%s%N)
check "--rate 20 passes (exit $code)" test "$code" -eq 0
check "--rate 20 spaces 9 requests over >= 0.4 s ($(( (t1 - t0) / 1000000 )) ms)" test $(( (t1 - t0) / 1000000 )) -ge 400

# 10. Usage errors exit 2.
run replay "$rec"
check "replay without --target exits 2" test "$code" -eq 2
run replay "$rec" --target "$good" --rate fast
check "a bad --rate exits 2" test "$code" -eq 2
check "a bad --rate says so" grep -q "^reprise: replay: --rate wants a positive rate" "$tmp/err"
run replay "$rec" --target "$good" --bind 'x=html:div[name=y]'
check "a --bind to a place it does not know exits 2" test "$code" -eq 2
check "a bad --bind lists the places" grep -q 'html: wants input\[name=N\]' "$tmp/err"
run replay "$rec" --target "$good" --bind 'csrf=html:meta[name=csrf-token]' --bind 'id=header:Location#4' --no-color
check "--bind to an HTML meta tag and a Location segment: replay passes (exit $code)" test "$code" -eq 0

# 11. show --correlations lists the order id carried into later requests.
run show --correlations "$rec"
check "correlations: the order id goes into two later paths" test "$(grep -cE 'body \$\.id +path segment' "$tmp/out")" -ge 2
check "correlations: the CSRF token goes into X-CSRF-Token" grep -qE 'X-CSRF-Token' "$tmp/out"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
