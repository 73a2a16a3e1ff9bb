#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Latency budgets against the demo shop: a baseline run on the plain shop, then runs on a shop
# whose pay endpoint replies 2.5 s late (--delay). The pay step is reported slow against its
# recorded latency and against the baseline (a warning, exit 0), fails with --fail-on-slow
# (exit 1), and `reprise diff` finds it again offline; no other step is reported. The delay is
# far past both the 3x factor and the floor (1 s in the runs that check that nothing else is
# reported), so a loaded machine cannot flip a verdict either way.
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
    timeout 300 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
}
# The number of "slow:" notes in $tmp/out, and whether the one under step 8's row is there.
slow_notes() { grep -c '^ \+slow: ' "$tmp/out" || true; }
pay_is_slow() { grep -A1 -E '^  demo-checkout#[0-9]+ +8  POST .*/pay ' "$tmp/out" | grep -qE "^ *slow: [0-9]+ ms, $1"; }
# check.latency of the pay step (seq 8) and the count of slow steps in a results file.
pay_latency() { zcat "$1" | tail -n +2 | jq -c 'select(.check.recorded_seq == 8) | .check.latency'; }
slow_in_results() { zcat "$1" | tail -n +2 | jq -s '[.[] | select(.check.latency.slow == true)] | length'; }

export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple
delay='/t/*/api/orders/*/pay=2500'

check "the demo refuses a --delay without MS" bash -c "! '$DEMO_BIN' --delay '/x' >/dev/null 2>&1"

# 1. The baseline: three sessions on the plain shop.
demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); plain=$DEMO_URL
run replay "$rec" --target "$plain" --sessions 3 --results "$tmp/base.jsonl.gz" --no-color
check "the baseline run passes (exit $code)" test "$code" -eq 0
check "the baseline run holds 27 steps" test "$(zcat "$tmp/base.jsonl.gz" | tail -n +2 | grep -c '"check":')" -eq 27

demo_start "$DEMO_BIN" --delay "$delay"; pids+=("$DEMO_PID"); slow=$DEMO_URL

# 2. Against the recording alone: the pay step took 37 us when recorded.
run replay "$rec" --target "$slow" --no-color
check "slow against the recording: still exit 0 (exit $code)" test "$code" -eq 0
check "the pay step is reported slow against its recorded 0.04 ms" pay_is_slow 'recorded 0\.04 ms \(×[0-9]+'
check "the summary counts the slow step" grep -qE '^slow: [1-9][0-9]* steps? over the latency budget$' "$tmp/out"

# 3. Against the baseline: a warning, with both figures, kept in every report.
run replay "$rec" --target "$slow" --baseline "$tmp/base.jsonl.gz" --slower 3,1s \
    --results "$tmp/run.jsonl.gz" --junit "$tmp/run.xml" --no-color
check "slow against the baseline: exit 0 (exit $code)" test "$code" -eq 0
check "the pay step is reported with the recorded and the baseline figure" \
    pay_is_slow 'recorded 0\.04 ms, baseline [0-9.]+ ms \(×[0-9]+\.[0-9]\)$'
check "no other step is reported slow ($(slow_notes) notes)" test "$(slow_notes)" -eq 1
check "every step still passes" test "$(grep -c ' ok$' "$tmp/out")" -eq 9
check "the summary gives the run's p95 against the baseline's" \
    grep -qE '^slow: 1 step over the latency budget; p95 [0-9.]+ ms, baseline p95 [0-9.]+ ms: over budget$' "$tmp/out"
check "the shop paid the order: the list after it shows it paid" \
    test "$(zcat "$tmp/run.jsonl.gz" | tail -n +2 | jq -r 'select(.check.recorded_seq == 9) | .response.body | fromjson | .orders[0].status')" = paid
check "the results file keeps the figures of the pay step" \
    test "$(pay_latency "$tmp/run.jsonl.gz" | jq -r '[.recorded_us, (.baseline_us > 0), .slow] | @tsv')" = "$(printf '37\ttrue\ttrue')"
check "the results file marks no other step slow" test "$(slow_in_results "$tmp/run.jsonl.gz")" -eq 1
check "the JUnit report is well-formed" xmllint --noout "$tmp/run.xml"
check "JUnit: the pay testcase's system-out ends with the note" \
    bash -c "xmllint --xpath 'string(//testcase[contains(@name, \"/pay\")]/system-out)' '$tmp/run.xml' | tail -n 1 | grep -qE '^slow: [0-9]+ ms, recorded 0\.04 ms, baseline'"
check "JUnit: one note in all the system-outs, no failure" \
    test "$(xmllint --xpath 'concat(count(//system-out[contains(., "slow: ")]), " ", count(//failure))' "$tmp/run.xml")" = "1 0"

# 4. --fail-on-slow: the same step fails.
run replay "$rec" --target "$slow" --baseline "$tmp/base.jsonl.gz" --slower 3,1s --fail-on-slow \
    --junit "$tmp/fail.xml" --no-color
check "--fail-on-slow exits 1 (exit $code)" test "$code" -eq 1
check "--fail-on-slow: the pay step is FAILED" grep -qE '^  demo-checkout#1 +8  POST .* FAILED$' "$tmp/out"
check "--fail-on-slow: only the pay step" test "$(grep -c ' FAILED$' "$tmp/out")" -eq 1
check "--fail-on-slow: JUnit has its failure" \
    bash -c "xmllint --xpath 'string(//testcase[contains(@name, \"/pay\")]/failure)' '$tmp/fail.xml' | grep -q '^slow: '"
check "--fail-on-slow: the failure's type is latency, not shape" \
    test "$(xmllint --xpath 'string(//testcase[contains(@name, "/pay")]/failure/@type)' "$tmp/fail.xml")" = latency

# 5. diff, offline: the shops are stopped.
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
pids=()
run diff "$tmp/run.jsonl.gz" --baseline "$tmp/base.jsonl.gz" --no-color
check "diff --baseline: exit 0 (exit $code)" test "$code" -eq 0
check "diff --baseline re-finds the pay step" pay_is_slow 'recorded 0\.04 ms, baseline [0-9.]+ ms'
run diff "$tmp/run.jsonl.gz" --baseline "$tmp/base.jsonl.gz" --slower 3,1s --no-color
check "diff --baseline --slower 3,1s: only the pay step ($(slow_notes) notes)" test "$(slow_notes)" -eq 1
check "diff --baseline of a finished run: no warning about it" test "$(grep -c 'did not finish' "$tmp/err")" -eq 0
# A baseline run killed before its end record: its figures are used, and the run says so.
zcat "$tmp/base.jsonl.gz" | sed '$d' | gzip -c >"$tmp/cut.jsonl.gz"
run diff "$tmp/run.jsonl.gz" --baseline "$tmp/cut.jsonl.gz" --no-color
check "diff --baseline of a killed run: exit 0 still ($code)" test "$code" -eq 0
check "diff --baseline of a killed run: warns that it did not finish" \
    grep -qF "cut.jsonl.gz: that run did not finish (killed or still running (no end record))" "$tmp/err"
check "diff --baseline of a killed run: still re-finds the pay step" pay_is_slow 'recorded 0\.04 ms, baseline [0-9.]+ ms'
run diff "$tmp/run.jsonl.gz" --baseline "$tmp/base.jsonl.gz" --junit "$tmp/no-such-dir/j.xml" --no-color
check "diff --baseline with an unwritable --junit: exit 2, nothing leaked (exit $code)" test "$code" -eq 2
run diff "$tmp/run.jsonl.gz" --baseline "$tmp/base.jsonl.gz" --fail-on-slow --no-color
check "diff --fail-on-slow exits 1 (exit $code)" test "$code" -eq 1
check "diff --fail-on-slow: the pay step is FAILED" grep -qE '^  demo-checkout#1 +8  POST .* FAILED$' "$tmp/out"
run diff "$tmp/run.jsonl.gz" --slower 3,1s --no-color
check "diff without --baseline uses the figures the results file kept" \
    pay_is_slow 'recorded 0\.04 ms, baseline [0-9.]+ ms'
run diff "$tmp/run.jsonl.gz" --slower off --no-color
check "diff --slower off: no note (exit $code)" test "$code" -eq 0 -a "$(slow_notes)" -eq 0
run diff "$tmp/run.jsonl.gz" --baseline "$tmp/run.jsonl.gz" --no-color
check "a run is not slow against itself" test "$code" -eq 0 -a "$(slow_notes)" -eq 0
run diff "$tmp/run.jsonl.gz" --baseline "$rec" --no-color
check "a recording is refused as a baseline (exit $code)" test "$code" -eq 2
check "... naming it" grep -q 'not a results file' "$tmp/err"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
