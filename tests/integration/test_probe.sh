#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The cross-tenant isolation probe against the demo shop on loopback. The bundled checkout has
# one read of an object a response gave (exchange 7, GET /t/acme/api/orders/4, the order #6
# created); the others (/, the dashboard, the products, the order list) name no object. So the
# probe sends one request: A's order read with B's session. The shop denies it (404, exit 0);
# with --leak it answers with A's order (200, exit 1, the leak line names the request and the
# value), which a plain replay does not notice (exit 0). A recording without a tenant, and a
# --tenant rule that would give A and B one tenant, are refused before anything is sent (exit 2).
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

# 1. An isolated shop: the one probed read is denied.
demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); good=$DEMO_URL
run probe "$rec" --target "$good" --junit "$tmp/ok.xml"
check "an isolated shop: exit 0 (exit $code)" test "$code" -eq 0
check "one request probed, none leaks" grep -qx 'probe: 1 request probed, 0 leaks, 1 denied' "$tmp/out"
# A (session 1) created order 1 on this fresh shop; B (session 2) reads it under A's tenant.
check "the probed read is A's order, as B, denied" grep -qE '^  ok    #7 GET /t/acme-[a-z0-9]+-1/api/orders/1 as demo-checkout#2: 404 \(denied\)$' "$tmp/out"
check "nothing on stderr but the tenant lines" test "$(grep -vc 'tenant acme ->' "$tmp/err")" -eq 0
check "JUnit is well-formed" xmllint --noout "$tmp/ok.xml"
check "JUnit has one testcase, passed" test "$(xmllint --xpath 'count(//testcase)' "$tmp/ok.xml"):$(xmllint --xpath 'count(//failure)' "$tmp/ok.xml")" = 1:0

# 2. --leak: the order read checks the session, not the tenant.
demo_start "$DEMO_BIN" --leak; pids+=("$DEMO_PID"); leaky=$DEMO_URL
run probe "$rec" --target "$leaky" --junit "$tmp/leak.xml"
check "a leaky shop: exit 1 (exit $code)" test "$code" -eq 1
check "the summary counts the leak" grep -qx 'probe: 1 request probed, 1 leak, 0 denied' "$tmp/out"
check "the leak line names the request, the status and A's order id" \
    grep -qE '^  LEAK  #7 GET /t/acme-[a-z0-9]+-1/api/orders/1 as demo-checkout#2: 200, leaked: 1$' "$tmp/out"
tc='//testcase[starts-with(@name, "7 GET /t/acme-") and contains(@name, "-1/api/orders/1")]'
check "JUnit is well-formed" xmllint --noout "$tmp/leak.xml"
check "JUnit has the leak testcase with an isolation failure" test "$(xmllint --xpath "count($tc/failure[@type='isolation'])" "$tmp/leak.xml")" -eq 1
check "... whose text names the status and the value" test "$(xmllint --xpath "string($tc/failure)" "$tmp/leak.xml")" \
    = "isolation: demo-checkout#1's object read as demo-checkout#2: 200, leaked: 1"
check "JUnit counts one failure" test "$(xmllint --xpath 'string(/testsuites/@failures)' "$tmp/leak.xml")" = 1

# 3. A plain replay does not see the bug.
run replay "$rec" --target "$leaky" --no-color
check "plain replay on --leak passes (exit $code)" test "$code" -eq 0

# 4. Refused before anything is sent (exit 2): no tenant, or one tenant for both sessions.
zcat "$rec" | jq -c 'if .reprise then .tenants = [] else . end' | gzip >"$tmp/notenant.jsonl.gz"
run probe "$tmp/notenant.jsonl.gz" --target "$good"
check "a recording without a tenant: exit 2 (exit $code)" test "$code" -eq 2
check "... saying why, in one line" grep -qF 'declares no tenant, so the probe cannot make two' "$tmp/err"
check "... with nothing probed" test ! -s "$tmp/out"
run probe "$rec" --target "$good" --tenant acme=acme-fixed
check "a --tenant rule without {session}: exit 2 (exit $code)" test "$code" -eq 2
check "... naming the rule" grep -qF -- '--tenant acme=acme-fixed: the probe needs two tenants' "$tmp/err"
run probe "$rec" --target "$good" --tenant 'acme=probe-{run}-{session}'
check "a --tenant rule with {session} probes (exit $code)" test "$code" -eq 0
check "... A's read under its tenant" grep -qE '^  ok    #7 GET /t/probe-[a-z0-9]+-1/api/orders/[0-9]+ as demo-checkout#2: 404 \(denied\)$' "$tmp/out"

# Other exits: an unwritable --junit before anything is sent (2), a dead target (3).
run probe "$rec" --target "$good" --junit "$tmp/no-such-dir/j.xml"
check "an unwritable --junit: exit 2 (exit $code)" test "$code" -eq 2
check "... naming it" grep -qF "no-such-dir/j.xml" "$tmp/err"
run probe "$rec" --target http://127.0.0.1:1
check "a target that refuses connections: exit 3 (exit $code)" test "$code" -eq 3

# 5. B's record-time variables: a bearer-token session recorded through the proxy. The token is
# a {{var:...}} filled with each session's own live token; the bearer API answers another
# tenant's token with 404, so the probe is denied only if it really sent B's token (A's would
# read A's note: a leak).
need curl
source "$src/tools/lib/proxy.sh"
demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); up=$DEMO_URL
px_start "$tmp/px" --upstream "$up" -o "$tmp/bearer.jsonl.gz" --tenant acme
j() { curl -sS --max-time 60 -H 'Content-Type: application/json' "$@"; }
j -o /dev/null -d '{"tenant":"acme","email":"owner@acme.test","password":"'"$REPRISE_SECRET_PASSWORD"'"}' "$PX_URL/api/signup"
tok=$(j -d '{"email":"owner@acme.test","password":"'"$REPRISE_SECRET_PASSWORD"'"}' "$PX_URL/api/v2/t/acme/login" | jq -r .access_token)
id=$(j -H "Authorization: Bearer $tok" -d '{"title":"mine"}' "$PX_URL/api/v2/t/acme/notes" | jq -r .id)
j -o /dev/null -H "Authorization: Bearer $tok" "$PX_URL/api/v2/t/acme/notes/$id"
px_stop INT
check "bearer: the recording proxy stopped cleanly (exit $code)" test "$code" -eq 0
check "bearer: the recording holds no live token" test "$(zcat "$tmp/bearer.jsonl.gz" | grep -c "$tok" || true)" -eq 0
check "bearer: ... but a variable in its place" zgrep -q '{{var:' "$tmp/bearer.jsonl.gz"
run probe "$tmp/bearer.jsonl.gz" --target "$good"
check "bearer: exit 0 (exit $code; $(head -c 300 "$tmp/err"))" test "$code" -eq 0
check "bearer: the note read is probed with B's token, and denied" \
    grep -qE '^  ok    #4 GET /api/v2/t/acme-[a-z0-9]+-1/notes/[0-9]+ as bearer#2: 404 \(denied\)$' "$tmp/out"
check "bearer: one request probed" grep -qx 'probe: 1 request probed, 0 leaks, 1 denied' "$tmp/out"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
