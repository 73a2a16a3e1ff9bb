#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise replay --teardown (issue 11, item 3), checked by the demo's own state (GET /__state).
#
# A main recording signs up, logs in, orders in the shop, creates a GraphQL order (3 on a demo
# started with --first-id 3) and pays it; a teardown recording, made afterwards in the same
# browser session, refunds it (refundOrder(id: "3")). Each replay runs on a demo where a victim
# tenant holds orders 1..10, so the replay's order is 11: the teardown must refund 11 (learned
# from the main session's live createOrder, in its tenant, with its cookie and CSRF token),
# never the recorded 3, which is the victim's.
#
#   pass    the session passes; its order is refunded; reports keep the teardown apart
#   fail    the main session fails (--drift): the teardown runs all the same, exit stays 1
#   unsafe  a teardown refunding an id no response gave is refused; --strict-teardown fails
#   signal  SIGTERM in the middle: main steps stop, the teardown runs, exit 143
#
#   test_teardown.sh DEMO [pass|fail|unsafe|signal]
# ctest-parts: pass fail unsafe signal
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
part=${2:-all}
case $part in pass|fail|unsafe|signal|all) ;; *) echo "$0: no part '$part'" >&2; exit 2 ;; esac
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tools/lib/check.sh"
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/proxy.sh"
need curl jq
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
signup() { json -o /dev/null -w '%{http_code}' -d "{\"tenant\":\"$2\",\"email\":\"owner@$2.test\",\"password\":\"$password\"}" "$1/api/signup"; }
login() { csrf=$(json -d "{\"tenant\":\"$2\",\"email\":\"owner@$2.test\",\"password\":\"$password\"}" "$1/api/login" | jq -r .csrf_token); }
run() { code=0; timeout 300 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?; }
why() { (grep -h -E 'FAILED|ERROR|UNSAFE|^reprise: ' "$tmp/out" "$tmp/err" || true) | head -n2 | tr -s ' ' | tr '\n' ' ' | cut -c1-240; }
replay_tenant() { sed -nE 's/.*tenant acme -> (acme-[a-z0-9]+-[0-9]+)$/\1/p' "$tmp/err" | head -n1; }
sq() { jq -r "$@" "$tmp/state.json"; }
status_of() { sq --argjson i "$1" '.objects[] | select(.id==$i) | "\(.tenant) \(.status)"'; }
refund_body() { echo "{\"query\":\"mutation Refund(\$id: ID!) { refundOrder(id: \$id) { id status } }\",\"variables\":{\"id\":\"$1\"},\"operationName\":\"Refund\"}"; }

# ----- the recordings, made once through `reprise record` on a demo with --first-id 3 ----------
demo_start "$DEMO_BIN" --first-id 3; pids+=("$DEMO_PID"); R=$DEMO_URL
MAIN=$tmp/main.jsonl.gz TD=$tmp/refund.jsonl.gz BAD=$tmp/badrefund.jsonl.gz
px_start "$tmp/px-main" --upstream "$R" -o "$MAIN" --tenant acme
P=$PX_URL
check "recording: sign-up" test "$(signup "$P" acme)" = 201
login "$P" acme
check "recording: log-in gives a CSRF token" test -n "$csrf"
code=$(json -o /dev/null -w '%{http_code}' -H "X-CSRF-Token: $csrf" -d '{"items":[{"product_id":1,"quantity":2}]}' "$P/t/acme/api/orders")
check "recording: a shop order ($code)" test "$code" = 201
r=$(gql "$P" '{"query":"mutation { createOrder(input: {product: \"Espresso\", quantity: 2}) { id status } }"}' acme)
check "recording: createOrder gives order 3 ($r)" test "$(jq -r .data.createOrder.id <<<"$r")" = 3
r=$(gql "$P" '{"query":"mutation Pay($id: ID!) { payOrder(id: $id) { id status } }","variables":{"id":"3"},"operationName":"Pay"}' acme)
check "recording: payOrder pays it ($r)" test "$(jq -r .data.payOrder.status <<<"$r")" = PAID
gql "$P" '{"query":"{ orders { id status } }"}' acme >/dev/null
gql "$P" '{"query":"query Get($id: ID!) { order(id: $id) { id status } }","variables":{"id":"3"},"operationName":"Get"}' acme >/dev/null
px_stop INT
check "recording: the main proxy stopped cleanly (exit $code)" test "$code" -eq 0
# The teardown, recorded afterwards in the same browser session (its cookie, its CSRF token).
if [ "$part" != unsafe ]; then
    px_start "$tmp/px-td" --upstream "$R" -o "$TD" --tenant acme
    r=$(gql "$PX_URL" "$(refund_body 3)" acme)
    check "recording: the teardown refunds order 3 ($r)" test "$(jq -r .data.refundOrder.status <<<"$r")" = REFUNDED
    px_stop INT
    check "recording: the teardown proxy stopped cleanly (exit $code)" test "$code" -eq 0
fi
# A teardown that refunds 7, an id no response of the session gave (the user typed it).
if [ "$part" = unsafe ] || [ "$part" = all ]; then
    px_start "$tmp/px-bad" --upstream "$R" -o "$BAD" --tenant acme
    gql "$PX_URL" "$(refund_body 7)" acme >/dev/null
    px_stop INT
fi
demo_stop

# The replay target: the victim holds orders 1..10 (3 paid), so the replay's order is 11.
target_start() { # [DEMO ARGS...]
    demo_start "$DEMO_BIN" "$@"; pids+=("$DEMO_PID"); T_URL=$DEMO_URL
    rm -f "$jar"
    test "$(signup "$T_URL" victim)" = 201 || bad "the victim signs up"
    login "$T_URL" victim
    local i
    for i in $(seq 1 10); do
        gql "$T_URL" "{\"query\":\"mutation { createOrder(input: {product: \\\"victim-$i\\\"}) { id } }\"}" victim >/dev/null
    done
    gql "$T_URL" '{"query":"mutation { payOrder(id: \"3\") { id } }"}' victim >/dev/null
    demo_state "$T_URL" >"$tmp/state.json"
    check "target: the victim holds orders 1..10 and 3 is paid" \
        test "$(sq '.next_id') $(status_of 3)" = "11 victim paid"
}
after() { # WHAT: the state after a replay, and the victim's orders untouched by it
    T=$(replay_tenant)
    demo_state "$T_URL" >"$tmp/state.json"
    check "$1: the replay used a fresh tenant ($T)" test -n "$T"
    check "$1: the victim's orders were not written by the replay ($(sq --arg t "$T" '[.audit[] | select(.tenant==$t and .id<=10)] | tostring'))" \
        test "$(sq --arg t "$T" '[.audit[] | select(.tenant==$t and .id<=10)] | length')" -eq 0
    check "$1: the victim's order 3 is still paid, 7 still pending" \
        test "$(status_of 3),$(status_of 7)" = "victim paid,victim pending"
}

# ================================================================================================
if [ "$part" = pass ] || [ "$part" = all ]; then
    target_start
    run replay "$MAIN" --const 1 --teardown "$TD" --target "$T_URL" --no-color \
        --junit "$tmp/junit.xml" --results "$tmp/results.jsonl.gz"
    check "pass: replay exits 0 (exit $code; $(why))" test "$code" -eq 0
    after pass
    check "pass: the session's order 11 is in its tenant and refunded ($(status_of 11))" \
        test "$(status_of 11)" = "$T refunded"
    check "pass: the refund was the replay tenant's write" \
        test "$(sq --arg t "$T" '[.audit[] | select(.id==11 and .op=="refund") | .tenant] | join(",")')" = "$T"
    check "pass: the terminal has a teardown section after the main lines" \
        bash -c "sed -n '/^teardown:\$/,\$p' '$tmp/out' | grep -qE 'POST +/t/$T/graphql +200 .* ok'"
    check "pass: the terminal's teardown summary" grep -q '^teardown: 1 passed, 0 failed, 0 unsafe, 0 errors, 0 skipped$' "$tmp/out"
    check "pass: the main summary counts the 7 main steps only" grep -q '^7 passed, 0 failed, 0 errors' "$tmp/out"
    check "pass: the teardown's start is logged" grep -q 'teardown: 1 step of' "$tmp/err"
    check "pass: JUnit: the teardown is a testsuite of its own" \
        bash -c "grep -q '<testsuite name=\"[^\"]*#1 teardown\" tests=\"1\" failures=\"0\"' '$tmp/junit.xml' && grep -q '<testsuite name=\"[^\"]*#1\" tests=\"7\"' '$tmp/junit.xml'"
    check "pass: the results file marks the teardown step, and only it" \
        test "$(zcat "$tmp/results.jsonl.gz" | tail -n +2 | jq -s -c '[.[] | select(.check) | .check.teardown // false] | [(map(select(.)) | length), length]')" = "[1,8]"
    check "pass: the results file ends with an end record: the run finished" \
        test "$(zcat "$tmp/results.jsonl.gz" | tail -n 1 | jq -c .end.finished)" = true
    run diff "$tmp/results.jsonl.gz" --no-color
    check "pass: reprise diff reads the results back (exit $code; $(why))" test "$code" -eq 0
    demo_stop
fi

# ================================================================================================
if [ "$part" = fail ] || [ "$part" = all ]; then
    target_start --drift
    run replay "$MAIN" --const 1 --teardown "$TD" --target "$T_URL" --no-color
    check "fail: the drifted shop order fails the run (exit $code; $(why))" test "$code" -eq 1
    check "fail: the shop order step is FAILED" grep -qE 'POST +/t/acme-[a-z0-9]+-1/api/orders +201 .*FAILED' "$tmp/out"
    after fail
    check "fail: the teardown ran after the failure: order 11 refunded ($(status_of 11))" \
        test "$(status_of 11)" = "$T refunded"
    check "fail: the teardown passed, apart" grep -q '^teardown: 1 passed' "$tmp/out"
    demo_stop
fi

# ================================================================================================
if [ "$part" = unsafe ] || [ "$part" = all ]; then
    target_start
    run replay "$MAIN" --const 1 --teardown "$BAD" --target "$T_URL" --no-color
    check "unsafe: a refused teardown does not fail the run (exit $code; $(why))" test "$code" -eq 0
    check "unsafe: the teardown step is UNSAFE, in the teardown section" \
        bash -c "sed -n '/^teardown:\$/,\$p' '$tmp/out' | grep -q 'UNSAFE' && sed -n '/^teardown:\$/,\$p' '$tmp/out' | grep -q 'unsourced id \"7\"'"
    check "unsafe: the teardown summary counts it" grep -q '^teardown: 0 passed, 0 failed, 1 unsafe' "$tmp/out"
    after unsafe
    run replay "$MAIN" --const 1 --teardown "$BAD" --strict-teardown --target "$T_URL" --no-color
    check "unsafe: with --strict-teardown it fails the run (exit $code)" test "$code" -eq 1
    after "unsafe, strict"
    run replay "$MAIN" --const 1 --strict-teardown --target "$T_URL"
    check "unsafe: --strict-teardown without --teardown is a usage error (exit $code)" test "$code" -eq 2
    run replay "$MAIN" --const 1 --teardown "$tmp/none.jsonl.gz" --target "$T_URL"
    check "unsafe: a missing teardown file is refused before sending (exit $code; $(why))" test "$code" -eq 2
    demo_stop
fi

# ================================================================================================
if [ "$part" = signal ] || [ "$part" = all ]; then
    target_start
    # One request a second, so that the run is mid-way when the signal comes.
    "$REPRISE" replay "$MAIN" --const 1 --teardown "$TD" --target "$T_URL" --no-color --rate 1 \
        >"$tmp/out" 2>"$tmp/err" &
    rp=$!
    pids+=("$rp")
    has_order() { # the replay's order exists (its createOrder was answered by the server)
        local t
        t=$(replay_tenant)
        [ -n "$t" ] && [ "$(demo_state "$T_URL" | jq --arg t "$t" '[.objects[] | select(.tenant==$t and .kind=="order")] | length')" -ge 1 ]
    }
    if wait_for 120 has_order; then ok "signal: the replay created its order"; else bad "signal: the replay created its order"; fi
    kill -TERM "$rp"
    code=0; wait "$rp" || code=$?
    check "signal: a cancelled run exits 128 + SIGTERM (exit $code; $(why))" test "$code" -eq 143
    after signal
    check "signal: the teardown ran after the cancel: order 11 refunded ($(status_of 11))" \
        test "$(status_of 11)" = "$T refunded"
    check "signal: the cancel is logged" grep -q 'cancelled: no more main steps' "$tmp/err"
    check "signal: the main steps after it are CANCELLED" \
        bash -c "grep -q 'CANCELLED' '$tmp/out' && grep -q 'the run was cancelled' '$tmp/out'"
    check "signal: the teardown passed" grep -q '^teardown: 1 passed' "$tmp/out"
    demo_stop
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
