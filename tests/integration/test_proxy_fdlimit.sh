#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise record under a low file limit: at `ulimit -n 256` (soft and hard), 1,000 clients
# connect at once and each sends a request; the proxy takes as many as the limit leaves room
# for (two descriptors each), answers the others 503, stays up, serves a request afterwards
# and exits 0 on SIGINT with the turned-away count in its summary. With only the soft limit
# low, the proxy raises it to the hard one at start. Everything on 127.0.0.1.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/proxy.sh"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    demo_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

source "$src/tools/lib/check.sh"
need curl python3 zcat
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 1100 ]; then
    skip "the hard file limit ($hard) is too low for 1,000 client sockets"
fi

real=$REPRISE
# Runs reprise with the file limit given in LIMIT_ARGS (ulimit's arguments).
cat >"$tmp/limited" <<EOF
#!/usr/bin/env bash
ulimit \$LIMIT_ARGS || exit 125
exec "$real" "\$@"
EOF
chmod +x "$tmp/limited"
REPRISE=$tmp/limited
export LIMIT_ARGS

demo_start "$DEMO_BIN"; pids+=("$DEMO_PID")

# 1. Soft and hard limit 256: 1,000 clients at once.
LIMIT_ARGS="-n 256"
rec=$tmp/crowd.jsonl.gz
px_start "$tmp/px1" --upstream "$DEMO_URL" -o "$rec"
port=${PX_URL##*:}
check "the proxy runs with a file limit of 256" grep -q '^Max open files *256 *256 ' "/proc/$PX_PID/limits"
timeout 120 python3 "$src/tests/integration/crowd.py" "$port" 1000 /healthz 60 >"$tmp/crowd.out" || true
cat "$tmp/crowd.out"
n200=$(awk '$1 == "200" { print $2 }' "$tmp/crowd.out")
n503=$(awk '$1 == "503" { print $2 }' "$tmp/crowd.out")
none=$(awk '$1 == "none" { print $2 }' "$tmp/crowd.out")
check "the proxy is still up after 1,000 connections at once" kill -0 "$PX_PID"
check "some clients were served (${n200:-0})" test "${n200:-0}" -ge 1
# Room for (256 - what is open at start - 32 spare) / 2 connections: at most 111.
check "... no more than the limit leaves room for (${n200:-0} <= 111)" test "${n200:-0}" -le 111
check "the others were answered 503 (${n503:-0})" test "${n503:-0}" -ge 800
check "every client had an answer (${n200:-0} + ${n503:-0} = 1000, ${none:-0} without)" \
    test $((${n200:-0} + ${n503:-0})) -eq 1000
s=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' "$PX_URL/healthz" || true)
check "a request after the crowd is served ($s)" test "$s" = 200
px_stop
check "SIGINT stops the proxy with exit 0 (exit $code)" test "$code" -eq 0
check "the warning is printed once" test "$(grep -c 'as many as the file limit (256) leaves room for' "$tmp/px1.stderr")" -eq 1
check "the summary counts the connections turned away" \
    grep -q "turned away ${n503:-x} connections over the file limit" "$tmp/px1.stderr"
check "the served ones are recorded ($((${n200:-0} + 1)))" \
    test "$(zcat "$rec" | tail -n +2 | grep -c .)" -eq $((${n200:-0} + 1))

# 2. Only the soft limit low: raised to the hard one at start.
if [ "$hard" = unlimited ] || [ "$hard" -gt 256 ]; then
    LIMIT_ARGS="-Sn 256"
    px_start "$tmp/px2" --upstream "$DEMO_URL" -o "$tmp/raised.jsonl.gz"
    lim=$(awk '/^Max open files/ { print $4, $5 }' "/proc/$PX_PID/limits")
    want=$(awk '/^Max open files/ { print $5, $5 }' "/proc/$PX_PID/limits")
    check "the soft file limit is raised to the hard one ($lim)" test "$lim" = "$want"
    s=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' "$PX_URL/healthz" || true)
    check "... and the proxy serves ($s)" test "$s" = 200
    px_stop
    check "... and exits 0 (exit $code)" test "$code" -eq 0
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
