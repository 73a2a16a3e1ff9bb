#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# replay --notify: the chat notice a webhook receives at the end of a run, checked as a chat
# would read it. A passing run and a drifted one (the demo shop's --drift) each post one
# Slack-compatible message whose verdict, counts and first failure match the run's own JUnit
# report; the webhook's URL (a credential) never appears in the output, the report or the
# results; a webhook that answers 500 or does not listen gives one warning and leaves the exit
# code as the checks made it; REPRISE_NOTIFY_URL stands for --notify.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
rec="$src/recordings/demo-checkout.jsonl.gz"
tmp=$(mktemp -d)
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/check.sh"
need curl jq xmllint python3

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

run() { # reprise ARGS...: stdout, stderr in $tmp/out, $tmp/err, the exit code in $code
    code=0
    timeout 120 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
}

# A webhook receiver answering STATUS: sets HOOK_URL, its requests land in $tmp/DIR.
hook_start() { # DIR STATUS
    mkdir -p "$tmp/$1"
    python3 "$src/tests/integration/webhook.py" "$tmp/$1" "$2" >"$tmp/$1.url" &
    pids+=("$!")
    wait_for 30 test -s "$tmp/$1.url" || { bad "the webhook receiver started"; exit 1; }
    HOOK_URL=$(head -n1 "$tmp/$1.url")
}

export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple
n_exchanges=$(zcat "$rec" | tail -n +2 | grep -c .)
key=T0000/B0000/XXXXsecretwebhookkey # the part of a webhook URL that is its credential

demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); good=$DEMO_URL
demo_start "$DEMO_BIN" --drift; pids+=("$DEMO_PID"); drifted=$DEMO_URL
hook_start ok 200

# 1. A passing run: one message, verdict passed, the counts of the run.
run replay "$rec" --target "$good" --no-color --notify "$HOOK_URL/services/$key" \
    --report-url "https://ci.example.test/runs/42" --results "$tmp/pass.jsonl.gz"
check "a passing run exits 0 with --notify (exit $code)" test "$code" -eq 0
check "the webhook got one request" test "$(ls "$tmp/ok" | wc -l)" -eq 1
msg=$tmp/ok/1.json
check "it is a POST of JSON to the webhook's path" \
    test "$(jq -r '.method + " " + .path + " " + .headers["content-type"]' "$msg")" = \
         "POST /services/$key application/json"
body=$(jq -r .body "$msg")
check "the text says passed, the target and the run id" \
    bash -c "grep -q '^reprise passed on $good: sessions 1 passed, 0 flaky, 0 failed, 0 infrastructure; 0 of $n_exchanges steps failed (run ' <<<'$(jq -r .text <<<"$body")'"
run_id=$(sed -nE 's/.*run ([A-Za-z0-9_-]+).*/\1/p' <<<"$(jq -r .text <<<"$body")")
sent_id=$(zcat "$tmp/pass.jsonl.gz" | tail -n +2 | jq -r 'select(.check) | .request.headers[] | select(.[0] == "X-Reprise-Run") | .[1]' | sort -u)
check "the run id is the one the requests carried ($run_id)" test -n "$run_id" -a "$run_id" = "$sent_id"
check "the header block says passed" \
    test "$(jq -r '.blocks[0].type + ": " + .blocks[0].text.text' <<<"$body")" = \
         "header: :white_check_mark: reprise: passed"
check "the counts: 1 session passed, $n_exchanges steps passed" \
    test "$(jq -r '[.blocks[1].fields[].text] | join("|")' <<<"$body")" = \
         "*Passed*
1|*Flaky*
0|*Failed*
0|*Infrastructure*
0|*Steps*
$n_exchanges passed, 0 failed, 0 unsafe, 0 errors, 0 skipped"
check "no failure list in a passing run" \
    test "$(jq '[.blocks[] | select(.type == "section" and .text != null)] | length' <<<"$body")" -eq 0
check "the context links the report" \
    bash -c "jq -r '.blocks[-1].elements[0].text' <<<'$body' | grep -qF '<https://ci.example.test/runs/42|report>'"
check "the webhook's key is not in the output" bash -c "! grep -qF 'XXXXsecretwebhookkey' '$tmp/out' '$tmp/err'"
check "the post is logged with the host and port only" grep -qE "notify: posted to http://127.0.0.1:[0-9]+$" "$tmp/err"

# 2. A drifted run: verdict failed, counts and first failures as the JUnit report has them.
run replay "$rec" --target "$drifted" --no-color --notify "$HOOK_URL/services/$key" \
    --junit "$tmp/drift.xml" --results "$tmp/drift.jsonl.gz"
check "a drifted run exits 1 with --notify (exit $code)" test "$code" -eq 1
check "the webhook got a second request" test -f "$tmp/ok/2.json"
body=$(jq -r .body "$tmp/ok/2.json")
failures=$(xmllint --xpath 'sum(//testsuite/@failures)' "$tmp/drift.xml")
passed=$(( $(xmllint --xpath 'count(//testcase)' "$tmp/drift.xml") - failures ))
check "the header block says failed" \
    test "$(jq -r '.blocks[0].text.text' <<<"$body")" = ":x: reprise: failed"
check "one session failed; its steps agree with the JUnit report ($failures failed, $passed passed)" \
    test "$(jq -r '[.blocks[1].fields[2,4].text] | join("|")' <<<"$body")" = "*Failed*
1|*Steps*
$passed passed, $failures failed, 0 unsafe, 0 errors, 0 skipped"
list=$(jq -r '.blocks[] | select(.type == "section" and .text != null) | .text.text' <<<"$body")
check "the first failures are listed" grep -q '^\*First failures\*' <<<"$list"
check "a failure names its session, step and mismatch" \
    grep -qE '^• demo-checkout#1 · [0-9]+ (POST|GET) /t/\{tenant\}/api/orders[^ ]* · \$\.items\[0\]\.price: expected number, got string' <<<"$list"
check "at most 5 failures are quoted" test "$(grep -c '^• ' <<<"$list")" -le 5
check "the webhook's key is in no report" \
    bash -c "! grep -qF 'XXXXsecretwebhookkey' '$tmp/out' '$tmp/err' '$tmp/drift.xml' && ! zcat '$tmp/drift.jsonl.gz' | grep -qF XXXXsecretwebhookkey"
check "no secret value in the message" bash -c "! grep -qF '$REPRISE_SECRET_PASSWORD' '$tmp/ok/1.json' '$tmp/ok/2.json'"

# A session that fails once and passes on its retry: flaky, exit 0, said so.
demo_start "$DEMO_BIN" --fail-once /api/products; pids+=("$DEMO_PID")
run replay "$rec" --target "$DEMO_URL" --no-color --retries 1 --notify "$HOOK_URL/services/$key"
check "a flaky run exits 0 (exit $code)" test "$code" -eq 0
body=$(jq -r .body "$tmp/ok/3.json")
check "the header says passed, with flaky sessions" \
    test "$(jq -r '.blocks[0].text.text' <<<"$body")" = ":large_yellow_circle: reprise: passed, with flaky sessions"
check "the counts: 0 passed, 1 flaky" \
    test "$(jq -r '[.blocks[1].fields[0,1].text] | join("|")' <<<"$body")" = "*Passed*
0|*Flaky*
1"
check "the failed first attempt's step is quoted" \
    grep -qE '^• demo-checkout#1 · [0-9]+ GET /t/\{tenant\}/api/products · ' \
        <<<"$(jq -r '.blocks[] | select(.type == "section" and .text != null) | .text.text' <<<"$body")"

# 3. The environment stands for --notify.
REPRISE_NOTIFY_URL="$HOOK_URL/services/$key" run replay "$rec" --target "$good" --no-color
check "REPRISE_NOTIFY_URL posts too (exit $code)" bash -c "test $code -eq 0 && test -f '$tmp/ok/4.json'"

# 4. A webhook that fails never changes the exit code: one warning, with the host only.
hook_start broken 500
run replay "$rec" --target "$good" --no-color --notify "$HOOK_URL/services/$key"
check "a webhook answering 500: still exit 0 (exit $code)" test "$code" -eq 0
check "one warning names the host and the answer" \
    test "$(grep -c 'notify: http://127.0.0.1:[0-9]* answered 500: no_service' "$tmp/err")" -eq 1
check "the warning does not print the key" bash -c "! grep -qF XXXXsecretwebhookkey '$tmp/err'"
run replay "$rec" --target "$drifted" --no-color --notify "$HOOK_URL/services/$key"
check "a webhook answering 500 beside a failure: still exit 1 (exit $code)" test "$code" -eq 1
# A port nothing listens on: the receiver's own, stopped.
dead=$HOOK_URL
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
run replay "$rec" --target "$good" --no-color --notify "$dead/services/$key"
check "an unreachable webhook: still exit 0 (exit $code)" test "$code" -eq 0
check "one warning says it could not post" grep -qE "notify: cannot post to http://127.0.0.1:[0-9]+: " "$tmp/err"

# 5. A bad URL is a usage error before anything is sent.
run replay "$rec" --target "$good" --notify "ftp://example.test/x"
check "--notify with a non-http URL exits 2 (exit $code)" test "$code" -eq 2

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
