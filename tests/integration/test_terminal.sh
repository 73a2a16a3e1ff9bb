#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What reprise shows on a terminal, read from a real one (tmux) as a person would see it: a run
# of 200 sessions against the drifted demo shop shows a progress line while it runs and, at
# the end, the failures grouped by step with their counts and the summary, and leaves no
# progress text behind; the same run piped shows no progress line. Then -q (only failures and
# the summary), the global options after the command, and "-" as standard output for every
# output flag (no file named "-" is ever created). Everything on 127.0.0.1; servers stopped by
# PID.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
rec="$src/recordings/demo-checkout.jsonl.gz"
tmp=$(mktemp -d)
source "$src/tools/lib/demo-app.sh"

pids=()
sock=$tmp/tmux.sock
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    demo_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

source "$src/tools/lib/check.sh"
need tmux curl jq xmllint zcat

export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple
export LANG=C.UTF-8
sessions=200
n_exchanges=$(zcat "$rec" | tail -n +2 | grep -c .)
steps=$((sessions * n_exchanges))
demo_start "$DEMO_BIN" --drift; pids+=("$DEMO_PID")
# Every output file of this test is made in $tmp/cwd, so a file named "-" would show there.
mkdir "$tmp/cwd"
cd "$tmp/cwd"

# A terminal of 160 x 50 running a shell, on a socket of this test's own.
tm() { tmux -u -S "$sock" "$@"; }
# Its history holds the whole run (1,800 rows and more), beyond tmux's default 2,000 lines.
echo 'set -g history-limit 20000' >"$tmp/tmux.conf"
tm -f "$tmp/tmux.conf" new-session -d -s t -x 160 -y 50 "env -i PATH=$PATH HOME=$tmp TERM=tmux-256color LANG=C.UTF-8 REPRISE_SECRET_PASSWORD=$REPRISE_SECRET_PASSWORD bash --norc --noprofile"
tmux_pid=$(tm display-message -p '#{pid}')
pids+=("$tmux_pid")
pane() { tm capture-pane -p -J -t t "$@"; }
# Waits, at most SECS seconds, for the visible pane to match the extended regex RE.
pane_waits_for() { wait_for "$1" bash -c "tmux -u -S '$sock' capture-pane -p -J -t t | grep -qE '$2'"; }

# 1. On a terminal: a progress line while it runs. --rate keeps the run longer than the second
# before the line first shows, however fast the machine.
run="'$REPRISE' replay '$rec' --target '$DEMO_URL' --sessions $sessions --concurrency 4 --rate 400 --no-color"
tm send-keys -t t "cd '$tmp/cwd' && $run; echo EXIT=\$?" Enter
progress="[0-9]+/$steps steps, [0-9]+ failed, [0-9.]+/s, [0-9:]+ left"
# The capture that matched is kept: the line may be gone (the run over) by a second capture.
seen=$tmp/seen.txt
if wait_for 120 bash -c "tmux -u -S '$sock' capture-pane -p -J -t t >'$seen'; grep -qE '$progress' '$seen'"; then
    ok "the pane shows the progress line while the run goes on"
    line=$(grep -oE "$progress" "$seen" | tail -n1)
    check "the progress line counts failed steps ($line)" bash -c "[[ '$line' =~ ,\ ([0-9]+)\ failed ]] && [ \${BASH_REMATCH[1]} -gt 0 ]"
else
    bad "the pane shows the progress line while the run goes on"
fi
check "the run ends within 300 s" pane_waits_for 300 '^EXIT=[0-9]+$'
history=$tmp/pane.txt
pane -S - -E - >"$history"
check "it exits 1 (drift)" grep -qx 'EXIT=1' "$history"
check "no progress text is left on the terminal" bash -c "! grep -qE '/$steps steps' '$history'"
check "the recap is there" grep -qx 'failures by step:' "$history"
check "each drifted step is one heading of the recap" test "$(grep -cE '^  demo-checkout, step [0-9]+: (GET|POST) /t/' "$history")" -eq 4
check "each mismatch is counted over the 200 sessions" test "$(grep -cE '^      \$\.(orders\[0\]\.)?items\[[01]\]\.price: expected number, got string  × 200 sessions, first demo-checkout#[0-9]+$' "$history")" -eq 8
check "the summary follows the recap" grep -qE "^[0-9]+ passed, $((4 * sessions)) failed, 0 errors, 0 skipped in " "$history"
check "each mismatch is printed in full once, not per session" test "$(grep -cE '^      \$\.items\[0\]\.price: expected number, got string "' "$history")" -eq 3
check "the other sessions' failures name the first one" test "$(grep -cE 'FAILED  \(same as demo-checkout#[0-9]+\)$' "$history")" -eq $((4 * sessions - 4))

# What the server did: the 200 sessions each created one order (ids are one counter over every
# tenant), so a new tenant's first order now gets id 201.
jar=$tmp/jar
c() { curl -sS --max-time 60 -b "$jar" -c "$jar" -H 'Content-Type: application/json' "$@"; }
body='{"tenant":"after","email":"o@after.test","password":"pw-after-1234"}'
c -o /dev/null -d "$body" "$DEMO_URL/api/signup"
csrf=$(c -d "$body" "$DEMO_URL/api/login" | jq -r .csrf_token)
next=$(c -H "X-CSRF-Token: $csrf" -d '{"items":[{"product_id":1,"quantity":1}]}' "$DEMO_URL/t/after/api/orders" | jq -r .id)
check "the shop holds the 200 orders the sessions made (next id $next)" test "$next" = $((sessions + 1))

# 2. The same run piped: no progress line, no carriage return, no erase sequence.
tm send-keys -t t "clear; $run 2>&1 | cat >'$tmp/piped.txt'; echo PIPED=\$?" Enter
check "the piped run ends within 300 s" pane_waits_for 300 '^PIPED=[0-9]+$'
check "piped: no progress line" bash -c "! grep -qE 'steps, [0-9]+ failed' '$tmp/piped.txt'"
check "piped: no carriage return or erase sequence" bash -c "! grep -q \$'\\r\\|\\e\\[K' '$tmp/piped.txt'"
check "piped: the same recap" test "$(grep -c '× 200 sessions' "$tmp/piped.txt")" -eq 8
check "piped: rows fit the fixed table width" test "$(grep -E ' (ok|FAILED)$' "$tmp/piped.txt" | awk '{ if (length($0) > 101) n++ } END { print n+0 }')" -eq 0
# A gzip results file is not sent to the terminal: a usage error, nothing sent.
tm send-keys -t t "clear; '$REPRISE' replay '$rec' --target '$DEMO_URL' --results -; echo GZIP=\$?" Enter
check "--results - on a terminal is refused with exit 2" pane_waits_for 60 '^GZIP=2$'
check "... saying why" bash -c "tmux -u -S '$sock' capture-pane -p -J -t t | grep -q 'a gzip file would go to the terminal'"
tm kill-server || true

# 3. -q after the command: only the failures, the recap and the summary; no log line.
code=0
"$REPRISE" replay -q "$rec" --target "$DEMO_URL" --sessions 3 --no-color >"$tmp/q.out" 2>"$tmp/q.err" || code=$?
check "-q after the command is accepted (exit $code)" test "$code" -eq 1
check "-q prints no passing row" bash -c "! grep -q ' ok$' '$tmp/q.out'"
check "-q prints no header" bash -c "! grep -q '^replaying' '$tmp/q.out'"
check "-q prints the failing rows" test "$(grep -c ' FAILED' "$tmp/q.out")" -eq 12
check "-q prints the recap and the summary" bash -c "grep -q '× 3 sessions' '$tmp/q.out' && grep -qE '^15 passed, 12 failed' '$tmp/q.out'"
check "-q prints nothing on stderr" test ! -s "$tmp/q.err"
code=0
"$REPRISE" replay "$rec" --target "$DEMO_URL" --verbose --no-color >/dev/null 2>"$tmp/v.err" || code=$?
check "--verbose after the command is accepted (exit $code)" test "$code" -eq 1
check "--verbose after the command prints debugging detail" grep -q 'correlations, origin' "$tmp/v.err"

# 4. "-" is standard output for every output flag.
code=0
"$REPRISE" replay "$rec" --target "$DEMO_URL" --sessions 2 --junit - --no-color >"$tmp/j.xml" 2>"$tmp/j.err" || code=$?
check "replay --junit - (exit $code)" test "$code" -eq 1
check "--junit -: standard output is the JUnit document" xmllint --noout "$tmp/j.xml"
check "--junit -: a testcase per step" test "$(xmllint --xpath 'count(//testcase)' "$tmp/j.xml")" -eq $((2 * n_exchanges))
check "--junit -: the terminal report goes to stderr" grep -qE '^[0-9]+ passed, 8 failed' "$tmp/j.err"
code=0
"$REPRISE" replay "$rec" --target "$DEMO_URL" --results - --no-color >"$tmp/r.gz" 2>"$tmp/r.err" || code=$?
check "replay --results - (exit $code)" test "$code" -eq 1
check "--results -: standard output is a results file diff reads" bash -c "'$REPRISE' diff '$tmp/r.gz' --no-color | grep -q '× 1 session'"
check "--results -: an exchange per step" test "$(zcat "$tmp/r.gz" | tail -n +2 | grep -c '"check":')" -eq "$n_exchanges"
code=0
"$REPRISE" replay "$rec" --target "$DEMO_URL" -o - --junit - >/dev/null 2>"$tmp/both.err" || code=$?
check "two flags cannot both be standard output (exit $code)" bash -c "[ $code -eq 2 ] && grep -q 'both want standard output' '$tmp/both.err'"
code=0
"$REPRISE" probe "$rec" --target "$DEMO_URL" --junit - >"$tmp/p.xml" 2>"$tmp/p.err" || code=$?
check "probe --junit - (exit $code)" test "$code" -eq 0
check "probe --junit -: standard output is the JUnit document" xmllint --noout "$tmp/p.xml"
check "probe --junit -: its summary goes to stderr" grep -q '^probe: ' "$tmp/p.err"
check "shape -o -: standard output is the shape file" bash -c "'$REPRISE' shape '$rec' -o - 2>'$tmp/s.err' | jq -e . >/dev/null"
check "shape -o -: its note goes to stderr" grep -q 'shapes to -' "$tmp/s.err"
check "export --har -o -: standard output is the HAR" bash -c "'$REPRISE' export '$rec' --har -o - | jq -e '.log.entries | length == $n_exchanges' >/dev/null"
"$REPRISE" export "$rec" --har -o "$tmp/x.har" >/dev/null
check "import -o -: standard output is the recording" bash -c "'$REPRISE' import '$tmp/x.har' -o - 2>'$tmp/i.err' | '$REPRISE' show - >'$tmp/i.show'"
check "import -o -: every exchange came through" test "$("$REPRISE" import "$tmp/x.har" -o - 2>/dev/null | zcat | tail -n +2 | grep -c .)" -eq "$n_exchanges"
check "import -o -: its note goes to stderr" grep -q '^imported ' "$tmp/i.err"

# record -o -: the recording on standard output, the address on standard error.
"$REPRISE" record --listen 127.0.0.1:0 --upstream "$DEMO_URL" -o - >"$tmp/rec.gz" 2>"$tmp/rec.err" </dev/null &
px=$!
pids+=("$px")
addr() { sed -n 's/^listening on //p' "$tmp/rec.err"; }
if wait_for 60 bash -c "grep -qs '^listening on ' '$tmp/rec.err'"; then
    curl -sS --max-time 60 -o /dev/null "$(addr)/"
    curl -sS --max-time 60 -o /dev/null "$(addr)/api/products"
    kill -INT "$px"
    code=0
    wait "$px" || code=$?
    check "record -o - stops on SIGINT (exit $code)" test "$code" -eq 0
    check "record -o -: standard output is the recording" test "$(zcat "$tmp/rec.gz" | tail -n +2 | grep -c .)" -eq 2
else
    bad "record -o - prints its address on stderr"
fi

# capture -o -, from a pcap of the shared corpus when there is one.
pcap=${REPRISE_CORPUS:-$src/../shared/corpus}/pcap/zeek_http_get.pcap
if [ -f "$pcap" ]; then
    check "capture -o -: standard output is the recording" bash -c "'$REPRISE' capture -r '$pcap' -o - 2>'$tmp/c.err' | '$REPRISE' show - >/dev/null"
    check "capture -o -: its note goes to stderr" grep -q '^captured ' "$tmp/c.err"
else
    echo "skip - capture -o -: no $pcap (set REPRISE_CORPUS)"
fi
check "no file named - was created" test ! -e "$tmp/cwd/-"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
