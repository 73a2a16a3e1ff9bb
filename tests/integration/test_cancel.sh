#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise replay cancelled from outside, as a CI job is (issue 13, item 1), against the demo
# shop and the fault server:
#
#   sigterm   SIGTERM mid-way through the checkout (one request a second): exit 143; the steps
#             not sent are CANCELLED in the terminal, in a JUnit file that two XML readers and a
#             JUnit parser (python3-junitparser) accept with counts that add up, and in a
#             results file whose end record says so; `reprise diff` of it says the run did not
#             finish and exits 4; the shop's state shows the cancelled write was not sent
#   sigkill   SIGKILL mid-way: the results file has no end record; diff says so and exits 4
#   inflight  SIGTERM while a request hangs: it is abandoned after --cancel-grace and reported
#             CANCELLED, the session that never started is counted, the reports are written and
#             the chat notice (--notify) says cancelled
#   twice     SIGTERM, then SIGINT, while a request hangs with a long grace: the second signal
#             abandons it at once, and the reports are still written
#
#   test_cancel.sh DEMO [sigterm|sigkill|inflight|twice]
# ctest-parts: sigterm sigkill inflight twice
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
part=${2:-all}
case $part in sigterm|sigkill|inflight|twice|all) ;; *) echo "$0: no part '$part'" >&2; exit 2 ;; esac
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
rec="$src/recordings/demo-checkout.jsonl.gz"
source "$src/tools/lib/check.sh"
source "$src/tools/lib/demo-app.sh"
need curl jq xmllint zcat python3
# The JUnit parser is Debian's python3-junitparser (tools/install-deps.sh), for Debian's python.
py=/usr/bin/python3
[ -x "$py" ] && "$py" -c 'import junitparser' 2>/dev/null ||
    skip "python3-junitparser is not installed (tools/install-deps.sh)"
: "${REPRISE_FAULT_SERVER:?set REPRISE_FAULT_SERVER to reprise-fault-server}"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple
n_steps=$(zcat "$rec" | tail -n +2 | grep -c .)
why() { (grep -h -E 'FAILED|ERROR|^reprise: ' "$tmp/out" "$tmp/err" || true) | head -n2 | tr -s ' ' | tr '\n' ' ' | cut -c1-240; }
# Lines of the results file so far (the writer makes whole gzip members at least every second).
results_lines() { zcat "$tmp/r.jsonl.gz" 2>/dev/null | tail -n +2 | grep -c . || true; }
# The replay in the background, its pid in $rp; stdout, stderr and reports in $tmp.
start_replay() { # TARGET [ARGS...]
    local target=$1; shift
    rm -f "$tmp/j.xml" "$tmp/r.jsonl.gz" # a report seen is this run's
    "$REPRISE" replay "$rec" --target "$target" --no-color --junit "$tmp/j.xml" \
        --results "$tmp/r.jsonl.gz" "$@" >"$tmp/out" 2>"$tmp/err" &
    rp=$!
    pids+=("$rp")
}
end_replay() { code=0; wait "$rp" || code=$?; }
# The outcomes of the results file's steps, one word per step in order ("pass pass cancelled").
outcomes() { zcat "$tmp/r.jsonl.gz" | tail -n +2 | jq -r 'select(.check) | .check.outcome' | tr '\n' ' ' | sed 's/ $//'; }

# The JUnit file as a JUnit parser reads it: "tests failures errors skipped", summed over the
# testcases it finds, and the same four as the root element's attributes say.
junit_counts() {
    "$py" - "$tmp/j.xml" <<'EOF'
import sys
import junitparser
xml = junitparser.JUnitXml.fromfile(sys.argv[1])
counted = [0, 0, 0, 0]
for suite in xml:
    for case in suite:
        counted[0] += 1
        for r in case.result:
            kind = {junitparser.Failure: 1, junitparser.Error: 2, junitparser.Skipped: 3}[type(r)]
            counted[kind] += 1
root = xml._elem
said = [int(root.get(k)) for k in ("tests", "failures", "errors", "skipped")]
print(" ".join(map(str, counted)), "|", " ".join(map(str, said)))
EOF
}
# The messages of the JUnit file's <skipped> results, one a line, read by the JUnit parser.
junit_skipped() {
    "$py" - "$tmp/j.xml" <<'EOF'
import sys
import junitparser
for suite in junitparser.JUnitXml.fromfile(sys.argv[1]):
    for case in suite:
        for r in case.result:
            if isinstance(r, junitparser.Skipped):
                print(case.name, "|", r.message)
EOF
}
has_url() { [ -s "$tmp/url" ]; }
asked() { grep -q '^request 1$' "$tmp/url"; }
run_diff() { code=0; timeout 120 "$REPRISE" diff "$tmp/r.jsonl.gz" --no-color >"$tmp/dout" 2>"$tmp/derr" || code=$?; }

# ================================================================================================
if [ "$part" = sigterm ] || [ "$part" = all ]; then
    demo_start "$DEMO_BIN"; pids+=("$DEMO_PID")
    # One request a second, so that the run is mid-way when the signal comes: after the log-in
    # (step 3) is in the results file, and before the order (step 6) is sent.
    start_replay "$DEMO_URL" --rate 1
    has_login() { [ "$(results_lines)" -ge 3 ]; }
    if wait_for 120 has_login; then ok "sigterm: the replay logged in"; else bad "sigterm: the replay logged in"; fi
    kill -TERM "$rp"
    end_replay
    check "sigterm: exit 128 + SIGTERM (exit $code; $(why))" test "$code" -eq 143
    check "sigterm: the cancel is logged" grep -q 'cancelled: no more main steps are sent' "$tmp/err"
    o=$(outcomes)
    n_pass=$(grep -o pass <<<"$o" | wc -l || true)
    n_cancelled=$(grep -o cancelled <<<"$o" | wc -l || true)
    want=$(for i in $(seq 1 "$n_pass"); do printf 'pass '; done; for i in $(seq 1 "$n_cancelled"); do printf 'cancelled '; done)
    check "sigterm: every step is in the results file, passed then cancelled ($o)" \
        test "$o " = "$want" -a "$n_pass" -ge 3 -a "$n_cancelled" -ge 1 -a $((n_pass + n_cancelled)) -eq "$n_steps"
    check "sigterm: the terminal marks them CANCELLED" \
        test "$(grep -c 'CANCELLED$' "$tmp/out")" -eq "$n_cancelled"
    check "sigterm: the summary says it was cancelled, after how many steps" \
        grep -qx "cancelled by SIGTERM after $n_pass of $n_steps steps" "$tmp/out"
    check "sigterm: the summary counts what passed ($n_pass)" grep -q "^$n_pass passed, 0 failed, 0 errors, 0 skipped in " "$tmp/out"
    check "sigterm: the session is cancelled, not passed" \
        grep -qx "sessions: 0 passed, 0 flaky, 0 failed, 0 infrastructure, 1 cancelled" "$tmp/out"
    # The JUnit file: well-formed, and what a JUnit parser reads adds up to what it says.
    check "sigterm: the JUnit file is well-formed XML" xmllint --noout "$tmp/j.xml"
    check "sigterm: python's XML parser reads it" "$py" -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" "$tmp/j.xml"
    counts=$(junit_counts)
    check "sigterm: the JUnit parser counts $n_steps tests, $n_cancelled skipped, as the file says ($counts)" \
        test "$counts" = "$n_steps 0 0 $n_cancelled | $n_steps 0 0 $n_cancelled"
    check "sigterm: each cancelled step is <skipped message=\"cancelled: ...\">" \
        test "$(junit_skipped | grep -c '| cancelled: not sent: the run was cancelled$')" -eq "$n_cancelled"
    # The results file's end record, and diff of it.
    check "sigterm: the results file's end record says cancelled, with the count" \
        test "$(zcat "$tmp/r.jsonl.gz" | tail -n 1 | jq -c '.end | [.finished, .why, .cancelled]')" = "[false,\"cancelled by SIGTERM\",$n_cancelled]"
    run_diff
    check "sigterm: diff of it exits 4: the run did not finish (exit $code)" test "$code" -eq 4
    check "sigterm: diff says why, on stderr" grep -qx "reprise: $tmp/r.jsonl.gz: the run did not finish: cancelled by SIGTERM" "$tmp/derr"
    check "sigterm: diff's summary says it too" grep -qx "cancelled by SIGTERM after $n_pass of $n_steps steps" "$tmp/dout"
    check "sigterm: diff judges the session cancelled too" \
        grep -qx "sessions: 0 passed, 0 flaky, 0 failed, 0 infrastructure, 1 cancelled" "$tmp/dout"
    check "sigterm: show --json prints the end record last" \
        test "$("$REPRISE" show --json "$tmp/r.jsonl.gz" | tail -n 1 | jq -c .end.finished)" = false
    # The shop: the order step (6) was cancelled, so the replay's tenant has no order.
    check "sigterm: the order step was cancelled" \
        test "$(zcat "$tmp/r.jsonl.gz" | tail -n +2 | jq -r 'select(.check.recorded_seq == 6) | .check.outcome')" = cancelled
    T=$(sed -nE 's/.*tenant acme -> (acme-[a-z0-9]+-1)$/\1/p' "$tmp/err" | head -n1)
    jar=$tmp/jar
    code=$(curl -sS --max-time 60 -c "$jar" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "{\"tenant\":\"$T\",\"email\":\"owner@$T.test\",\"password\":\"$REPRISE_SECRET_PASSWORD\"}" "$DEMO_URL/api/login")
    check "sigterm: the replay's tenant $T exists and its owner logs in ($code)" test "$code" = 200
    orders=$(curl -sS --max-time 60 -b "$jar" "$DEMO_URL/t/$T/api/orders")
    check "sigterm: the shop holds no order of the replay's tenant: the write was not sent ($orders)" \
        test "$(jq '.orders | length' <<<"$orders")" -eq 0
    demo_stop
fi

# ================================================================================================
if [ "$part" = sigkill ] || [ "$part" = all ]; then
    demo_start "$DEMO_BIN"; pids+=("$DEMO_PID")
    start_replay "$DEMO_URL" --rate 1
    has_some() { [ "$(results_lines)" -ge 2 ]; }
    if wait_for 120 has_some; then ok "sigkill: the replay is under way"; else bad "sigkill: the replay is under way"; fi
    kill -KILL "$rp"
    end_replay
    check "sigkill: killed (exit $code)" test "$code" -eq 137
    n=$(results_lines)
    check "sigkill: the results file keeps what was flushed ($n steps) and has no end record" \
        bash -c "[ '$n' -ge 2 ] && ! zcat '$tmp/r.jsonl.gz' 2>/dev/null | grep -q '^{\"end\"'"
    run_diff
    check "sigkill: diff of it exits 4: the run did not finish (exit $code)" test "$code" -eq 4
    check "sigkill: diff says the file has no end record" \
        grep -qx "reprise: $tmp/r.jsonl.gz: the run did not finish: killed or still running (no end record)" "$tmp/derr"
    check "sigkill: diff's summary says it after the counts" \
        grep -qE "^killed or still running \(no end record\) after $n steps?$" "$tmp/dout"
    demo_stop
fi

# ================================================================================================
if [ "$part" = inflight ] || [ "$part" = all ]; then
    "$REPRISE_FAULT_SERVER" hang --max-seconds 120 >"$tmp/url" &
    fpid=$!
    pids+=("$fpid")
    wait_for 60 has_url || true
    url=$(head -n1 "$tmp/url")
    # Two sessions, one at a time: the first hangs at its first step, the second never starts.
    mkdir -p "$tmp/hook"
    python3 "$src/tests/integration/webhook.py" "$tmp/hook" 200 >"$tmp/hook.url" &
    pids+=("$!")
    wait_for 30 test -s "$tmp/hook.url" || bad "inflight: the webhook receiver started"
    start_replay "$url" --sessions 2 --timeout 60s --cancel-grace 1s --notify "$(head -n1 "$tmp/hook.url")/hook"
    if wait_for 60 asked; then ok "inflight: the first request is in flight"; else bad "inflight: the first request is in flight"; fi
    t0=$SECONDS
    kill -TERM "$rp"
    end_replay
    took=$((SECONDS - t0))
    check "inflight: exit 128 + SIGTERM (exit $code; $(why))" test "$code" -eq 143
    check "inflight: the hanging request was abandoned after the grace, not the 60 s timeout (${took} s)" \
        test "$took" -lt 30
    check "inflight: it is CANCELLED, in flight" \
        bash -c "grep -q 'CANCELLED' '$tmp/out' && grep -q 'cancelled in flight: no response within 1000 ms' '$tmp/out'"
    check "inflight: the summary counts the session that never started ($n_steps steps of it)" \
        grep -qx "cancelled by SIGTERM after 0 of $((2 * n_steps)) steps" "$tmp/out"
    counts=$(junit_counts)
    check "inflight: the JUnit parser reads the first session's steps, all skipped ($counts)" \
        test "$counts" = "$n_steps 0 0 $n_steps | $n_steps 0 0 $n_steps"
    check "inflight: the end record counts the steps no line stands for" \
        test "$(zcat "$tmp/r.jsonl.gz" | tail -n 1 | jq -c '.end | [.finished, .cancelled, .not_started]')" = "[false,$((2 * n_steps)),$n_steps]"
    body=$(jq -r .body "$tmp/hook/1.json" 2>/dev/null || true)
    check "inflight: the chat notice says cancelled, not passed ($(jq -r '.blocks[0].text.text' <<<"$body" 2>/dev/null))" \
        test "$(jq -r '.blocks[0].text.text' <<<"$body" 2>/dev/null)" = ":stop_sign: reprise: cancelled by SIGTERM"
    check "inflight: and counts the cancelled steps" \
        bash -c "jq -r '.blocks[1].fields[].text' <<<'$body' | tr '\n' ' ' | grep -q 'Cancelled\* $((2 * n_steps))'"
    run_diff
    check "inflight: diff of it exits 4 (exit $code)" test "$code" -eq 4
    check "inflight: diff's summary counts the same" \
        grep -qx "cancelled by SIGTERM after 0 of $((2 * n_steps)) steps" "$tmp/dout"
fi

# ================================================================================================
if [ "$part" = twice ] || [ "$part" = all ]; then
    : >"$tmp/url"
    "$REPRISE_FAULT_SERVER" hang --max-seconds 120 >"$tmp/url" &
    pids+=("$!")
    wait_for 60 has_url || true
    url=$(head -n1 "$tmp/url")
    start_replay "$url" --timeout 100s --cancel-grace 90s --teardown-timeout 100s
    if wait_for 60 asked; then ok "twice: the first request is in flight"; else bad "twice: the first request is in flight"; fi
    t0=$SECONDS
    kill -TERM "$rp"
    cancelled() { grep -q 'cancelled: no more main steps' "$tmp/err"; }
    if wait_for 60 cancelled; then ok "twice: the first signal cancelled the run"; else bad "twice: the first signal cancelled the run"; fi
    kill -INT "$rp"
    end_replay
    took=$((SECONDS - t0))
    check "twice: exit 128 + the first signal, SIGTERM (exit $code; $(why))" test "$code" -eq 143
    check "twice: the second signal did not wait out the 90 s grace (${took} s)" test "$took" -lt 30
    check "twice: the abandoned request is CANCELLED" grep -q 'cancelled in flight: the run was cancelled a second time' "$tmp/out"
    check "twice: the JUnit file is written, and a JUnit parser reads it ($(junit_counts))" \
        test "$(junit_counts)" = "$n_steps 0 0 $n_steps | $n_steps 0 0 $n_steps"
    check "twice: the results file's end record says cancelled" \
        test "$(zcat "$tmp/r.jsonl.gz" | tail -n 1 | jq -c '.end | [.finished, .why]')" = '[false,"cancelled by SIGTERM"]'
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
