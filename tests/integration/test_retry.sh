#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise replay --retries (issue 13, item 3), checked by the demo shop's own state (GET /__state).
#
# A recording signs up, logs in, orders in the shop (what --drift breaks), creates a GraphQL
# order, reads the product list (what --fail-once and --gateway-error break) and pays the GraphQL
# order. Each attempt of a session must run in its own new tenant: the state shows one GraphQL
# order per attempt, each created and paid by its own tenant, and no attempt writing another's.
#
#   flaky   --fail-once: session 1 fails, is retried in a new tenant before session 2 starts, and
#           passes: flaky, <flakyFailure>, exit 0; --fail-on-flaky exits 1; diff agrees
#   failed  --drift: every attempt fails: failed, <failure> and a <rerunFailure> per retry, exit 1
#   infra   --gateway-error: a 502 in every attempt: infrastructure, <error>, exit 3
#   usage   --retries with a tenant template that gives every attempt one tenant: exit 2
#
#   test_retry.sh DEMO [flaky|failed|infra|usage]
# ctest-parts: flaky failed infra usage
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
part=${2:-all}
case $part in flaky|failed|infra|usage|all) ;; *) echo "$0: no part '$part'" >&2; exit 2 ;; esac
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tools/lib/check.sh"
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/proxy.sh"
need curl jq python3
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

password=correct-horse-battery-staple
export REPRISE_SECRET_PASSWORD=$password
jar=$tmp/jar
c() { curl -sS --max-time 60 -b "$jar" -c "$jar" "$@"; }
json() { c -H 'Content-Type: application/json' "$@"; }
gql() { json -H "X-CSRF-Token: $csrf" -d "$2" "$1/t/$3/graphql"; } # URL BODY TENANT
run() { code=0; timeout 300 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?; }
why() { (grep -h -E 'FAILED|ERROR|UNSAFE|^reprise: ' "$tmp/out" "$tmp/err" || true) | head -n3 | tr -s ' ' | tr '\n' ' ' | cut -c1-300; }
tenants() { sed -nE 's/.*: tenant acme -> (acme-[a-z0-9]+-[0-9]+(-r[0-9]+)?)$/\1/p' "$tmp/err"; }
sq() { jq -r "$@" "$tmp/state.json"; }

# The JUnit file as a JUnit parser reads it (Python's ElementTree): per testsuite its attributes,
# the counts computed from its testcases, and per testcase its children's tags, messages and
# stack traces.
junit_json() {
    python3 - "$1" <<'PY'
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = []
for s in root.iter("testsuite"):
    cases = []
    for c in s.findall("testcase"):
        # The outcome's elements; <system-out> (the step's heads) is not one of them.
        kids = [k for k in c if k.tag not in ("system-out", "system-err")]
        cases.append({"name": c.get("name"),
                      "tags": [k.tag for k in kids],
                      "messages": [k.get("message") for k in kids],
                      "types": [k.get("type") for k in kids],
                      "stack": [k.findtext("stackTrace") for k in kids]})
    def n(tag):
        return sum(1 for c in cases if tag in c["tags"])
    suites.append({"attrs": s.attrib, "cases": cases,
                   "computed": {"tests": str(len(cases)), "failures": str(n("failure")),
                                "errors": str(n("error")), "skipped": str(n("skipped"))}})
print(json.dumps({"attrs": root.attrib, "suites": suites}))
PY
}
jx() { jq -r "$@" "$tmp/junit.json"; }
# Each testsuite's attributes are what a parser counts from its testcases.
counts_agree() {
    test "$(jx '[.suites[] | (.attrs | {tests, failures, errors, skipped}) == .computed] | all')" = true
}

# ----- the recording, made once through `reprise record` on a demo with --first-id 3 ----------
demo_start "$DEMO_BIN" --first-id 3; pids+=("$DEMO_PID"); R=$DEMO_URL
MAIN=$tmp/main.jsonl.gz
px_start "$tmp/px" --upstream "$R" -o "$MAIN" --tenant acme
P=$PX_URL
s=$(json -o /dev/null -w '%{http_code}' -d "{\"tenant\":\"acme\",\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$P/api/signup")
check "recording: sign-up ($s)" test "$s" = 201
csrf=$(json -d "{\"tenant\":\"acme\",\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$P/api/login" | jq -r .csrf_token)
check "recording: log-in gives a CSRF token" test -n "$csrf"
s=$(json -o /dev/null -w '%{http_code}' -H "X-CSRF-Token: $csrf" -d '{"items":[{"product_id":1,"quantity":2}]}' "$P/t/acme/api/orders")
check "recording: a shop order ($s)" test "$s" = 201
r=$(gql "$P" '{"query":"mutation { createOrder(input: {product: \"Espresso\", quantity: 2}) { id status } }"}' acme)
check "recording: createOrder gives order 3 ($r)" test "$(jq -r .data.createOrder.id <<<"$r")" = 3
s=$(c -o /dev/null -w '%{http_code}' "$P/t/acme/api/products")
check "recording: the product list ($s)" test "$s" = 200
r=$(gql "$P" '{"query":"mutation Pay($id: ID!) { payOrder(id: $id) { id status } }","variables":{"id":"3"},"operationName":"Pay"}' acme)
check "recording: payOrder pays it ($r)" test "$(jq -r .data.payOrder.status <<<"$r")" = PAID
px_stop INT
check "recording: the proxy stopped cleanly (exit $code)" test "$code" -eq 0
demo_stop
steps=$(zcat "$MAIN" | tail -n +2 | grep -c .)
check "recording: 6 steps ($steps)" test "$steps" -eq 6

target_start() { demo_start "$DEMO_BIN" "$@"; pids+=("$DEMO_PID"); T_URL=$DEMO_URL; }
replay() { run replay "$MAIN" --const 1 --target "$T_URL" --no-color "$@"; }
# The state after a run: the GraphQL orders, one per attempt, each in its own tenant, created and
# paid by it; no write by one tenant to another's object.
state_per_attempt() { # WHAT N_ATTEMPTS
    demo_state "$T_URL" >"$tmp/state.json"
    local t n=$2
    mapfile -t ts < <(tenants)
    check "$1: $n attempts logged $n tenants (${ts[*]})" test "${#ts[@]}" -eq "$n"
    check "$1: every attempt had a tenant of its own" test "$(printf '%s\n' "${ts[@]}" | sort -u | wc -l)" -eq "$n"
    check "$1: one GraphQL order per attempt ($(sq '[.objects[] | select(.kind=="order") | .tenant] | join(",")'))" \
        test "$(sq '[.objects[] | select(.kind=="order")] | length')" -eq "$n"
    for t in "${ts[@]}"; do
        check "$1: $t has its own order, paid" \
            test "$(sq --arg t "$t" '[.objects[] | select(.kind=="order" and .tenant==$t) | .status] | join(",")')" = paid
    done
    check "$1: no attempt wrote another attempt's order ($(sq '[.audit[] as $a | .objects[] | select(.id==$a.id and .tenant!=$a.tenant)] | length'))" \
        test "$(sq '[.audit[] as $a | .objects[] | select(.id==$a.id and .tenant!=$a.tenant)] | length')" -eq 0
}

# ================================================================================================
if [ "$part" = flaky ] || [ "$part" = all ]; then
    target_start --fail-once /api/products
    replay --sessions 2 --retries 2 --junit "$tmp/junit.xml" --results "$tmp/results.jsonl.gz"
    check "flaky: replay exits 0 (exit $code; $(why))" test "$code" -eq 0
    check "flaky: the first attempt's product list FAILED with the 500" \
        grep -qE 'GET +/t/acme-[a-z0-9]+-1/api/products +500 .*FAILED' "$tmp/out"
    check "flaky: the retry is logged" grep -q 'main#1: failed; retry 1 of 2, from its start in a new tenant' "$tmp/err"
    check "flaky: the retry's lines say so, and its product list passed" \
        grep -qE '^  main#1 r1 +5 +GET +/t/acme-[a-z0-9]+-1-r1/api/products +200 .* ok$' "$tmp/out"
    check "flaky: the summary gives the sessions' verdicts" \
        grep -qx 'sessions: 1 passed, 1 flaky, 0 failed, 0 infrastructure' "$tmp/out"
    mapfile -t ts < <(tenants)
    check "flaky: session 1, its retry, then session 2 (${ts[*]})" \
        bash -c "[[ '${ts[0]:-}' == *-1 && '${ts[1]:-}' == *-1-r1 && '${ts[2]:-}' == *-2 ]]"
    state_per_attempt flaky 3
    check "flaky: the first attempt's order was paid by it before the retry began" \
        test "$(sq --arg t "${ts[0]:-}" '[.audit[] | select(.tenant==$t) | .op] | join(",")')" = create,pay
    junit_json "$tmp/junit.xml" >"$tmp/junit.json"
    check "flaky: JUnit: a testsuite per session, each with a testcase per step" \
        test "$(jx '[.suites[] | .cases | length] | join(",")')" = "$steps,$steps"
    check "flaky: JUnit: the product list's testcase has one <flakyFailure> and no <failure>" \
        test "$(jx '[.suites[0].cases[] | select(.name | test("api/products")) | .tags[]] | join(",")')" = flakyFailure
    check "flaky: JUnit: its message names the attempt, its stackTrace the mismatch" \
        test "$(jx '[.suites[0].cases[] | select(.name | test("api/products"))][0] | "\(.messages[0] | test("^attempt 1 of 2: [0-9]+ mismatch"))|\(.types[0])|\(.stack[0] | test("expected 200, got 500"))"')" = "true|shape|true"
    check "flaky: JUnit: nothing else but that one flaky failure" \
        test "$(jx '[.suites[].cases[].tags[]] | join(",")')" = flakyFailure
    check "flaky: JUnit: every suite's counts agree with its testcases" counts_agree
    check "flaky: JUnit: the totals are 0 failures, 0 errors" \
        test "$(jx '.attrs | "\(.tests) \(.failures) \(.errors)"')" = "$((2 * steps)) 0 0"
    check "flaky: the results file keeps both attempts of session 1, the retry's with attempt 1" \
        test "$(zcat "$tmp/results.jsonl.gz" | tail -n +2 | jq -s -c '[.[] | select(.check.session=="main#1") | .check.attempt // 0] | group_by(.) | map(length)')" = "[$steps,$steps]"
    run diff "$tmp/results.jsonl.gz" --no-color
    check "flaky: reprise diff judges the sessions as replay did (exit $code)" \
        bash -c "test $code -eq 0 && grep -qx 'sessions: 1 passed, 1 flaky, 0 failed, 0 infrastructure' '$tmp/out'"
    run diff "$tmp/results.jsonl.gz" --no-color --fail-on-flaky
    check "flaky: reprise diff --fail-on-flaky exits 1 (exit $code)" test "$code" -eq 1
    demo_stop

    target_start --fail-once /api/products
    replay --retries 1 --fail-on-flaky
    check "flaky: --fail-on-flaky exits 1 (exit $code; $(why))" test "$code" -eq 1
    check "flaky: ... with the session flaky, not failed" \
        grep -qx 'sessions: 0 passed, 1 flaky, 0 failed, 0 infrastructure' "$tmp/out"
    demo_stop
fi

# ================================================================================================
if [ "$part" = failed ] || [ "$part" = all ]; then
    target_start --drift
    replay --retries 2 --junit "$tmp/junit.xml" --results "$tmp/results.jsonl.gz"
    check "failed: replay exits 1 (exit $code; $(why))" test "$code" -eq 1
    check "failed: the shop order FAILED in each of the 3 attempts" \
        test "$(grep -cE 'POST +/t/acme-[a-z0-9]+-1(-r[12])?/api/orders +201 .*FAILED' "$tmp/out")" -eq 3
    check "failed: the summary" grep -qx 'sessions: 0 passed, 0 flaky, 1 failed, 0 infrastructure' "$tmp/out"
    state_per_attempt failed 3
    junit_json "$tmp/junit.xml" >"$tmp/junit.json"
    check "failed: JUnit: the shop order's testcase: <failure> and a <rerunFailure> per retry" \
        test "$(jx '[.suites[0].cases[] | select(.name | test("POST .*api/orders$")) | .tags[]] | join(",")')" = failure,rerunFailure,rerunFailure
    check "failed: JUnit: the reruns name their attempts" \
        test "$(jx '[.suites[0].cases[] | select(.name | test("POST .*api/orders$")) | .messages[1:][] | sub(":.*"; "")] | join(",")')" = "attempt 2 of 3,attempt 3 of 3"
    check "failed: JUnit: one testcase per step, not per attempt" test "$(jx '.suites[0].cases | length')" -eq "$steps"
    check "failed: JUnit: the suite counts 1 failure" test "$(jx '.suites[0].attrs.failures')" = 1
    check "failed: JUnit: every suite's counts agree with its testcases" counts_agree
    run diff "$tmp/results.jsonl.gz" --no-color
    check "failed: reprise diff agrees (exit $code)" \
        bash -c "test $code -eq 1 && grep -qx 'sessions: 0 passed, 0 flaky, 1 failed, 0 infrastructure' '$tmp/out'"
    demo_stop
fi

# ================================================================================================
if [ "$part" = infra ] || [ "$part" = all ]; then
    target_start --gateway-error /api/products
    replay --retries 1 --junit "$tmp/junit.xml" --results "$tmp/results.jsonl.gz"
    check "infra: replay exits 3 (exit $code; $(why))" test "$code" -eq 3
    check "infra: the summary" grep -qx 'sessions: 0 passed, 0 flaky, 0 failed, 1 infrastructure' "$tmp/out"
    check "infra: one line says why" grep -q '^reprise: 1 session failed on the infrastructure' "$tmp/err"
    state_per_attempt infra 2
    junit_json "$tmp/junit.xml" >"$tmp/junit.json"
    check "infra: JUnit: the product list's testcase: <error type=gateway> and a <rerunError>" \
        test "$(jx '[.suites[0].cases[] | select(.name | test("api/products")) | "\(.tags[]):"] | join("")')$(jx '[.suites[0].cases[] | select(.name | test("api/products")) | .types[]] | join(",")')" = "error:rerunError:gateway,gateway"
    check "infra: JUnit: the suite counts 1 error, 0 failures" \
        test "$(jx '.suites[0].attrs | "\(.errors) \(.failures)"')" = "1 0"
    check "infra: JUnit: every suite's counts agree with its testcases" counts_agree
    run diff "$tmp/results.jsonl.gz" --no-color
    check "infra: reprise diff agrees (exit $code)" \
        bash -c "test $code -eq 3 && grep -qx 'sessions: 0 passed, 0 flaky, 0 failed, 1 infrastructure' '$tmp/out'"
    demo_stop
fi

# ================================================================================================
if [ "$part" = usage ] || [ "$part" = all ]; then
    target_start
    replay --retries 1 --tenant acme=acme-fixed
    check "usage: a template without {session} or {uuid} is refused (exit $code)" test "$code" -eq 2
    check "usage: ... saying why" grep -q 'a retry needs a new tenant; put {session} or {uuid} in it' "$tmp/err"
    s=$(json -o /dev/null -w '%{http_code}' -d "{\"tenant\":\"acme-fixed\",\"email\":\"a@acme.test\",\"password\":\"$password\"}" "$T_URL/api/signup")
    check "usage: ... with nothing sent: the tenant is still free ($s)" test "$s" = 201
    replay --retries 11
    check "usage: --retries 11 is refused (exit $code)" test "$code" -eq 2
    demo_stop
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
