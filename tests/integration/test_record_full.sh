#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A full disk under `reprise record` (issue 12, item 4). The recorder's file may not grow past
# 96 KiB (ulimit -f, with SIGXFSZ ignored, so a write past it fails with EFBIG as a full disk
# fails one with ENOSPC; no mount or LD_PRELOAD needed). Badly compressible 8 KiB answers fill
# it within a few dozen exchanges. The failed write is reported at once, naming the file and
# why; the recorder stops taking new exchanges and exits 3 by itself; the file reads cleanly
# with every exchange written before; the summary counts what was lost, and recorded + errors
# == relayed. Everything on 127.0.0.1.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
source "$src/tools/lib/proxy.sh"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

source "$src/tools/lib/check.sh"
need curl zcat /usr/bin/python3

# Can this shell limit a file's size? (bash's ulimit -f counts 1024-byte blocks.)
if ! (ulimit -f 96 && trap '' XFSZ && head -c 200000 /dev/zero >"$tmp/probe") 2>/dev/null; then
    [ "$(stat -c %s "$tmp/probe" 2>/dev/null || echo 0)" -eq 98304 ] ||
        skip "ulimit -f does not limit a file's size here"
else
    skip "ulimit -f does not limit a file's size here"
fi
rm -f "$tmp/probe"

/usr/bin/python3 "$src/tools/lib/upstream.py" --log "$tmp/answered.log" >"$tmp/up.port" 2>"$tmp/up.err" &
pids+=("$!")
up_ready() { [ -s "$tmp/up.port" ]; }
wait_for 30 up_ready || { echo "the upstream did not start: $(cat "$tmp/up.err")"; exit 1; }
up_port=$(head -n1 "$tmp/up.port")

# reprise with its file size limited: exec keeps the PID px_start tracks.
cat >"$tmp/limited.sh" <<SH
#!/usr/bin/env bash
trap '' XFSZ
ulimit -f 96
exec "$REPRISE" "\$@"
SH
chmod +x "$tmp/limited.sh"
rec=$tmp/full.jsonl.gz
REPRISE_REAL=$REPRISE
REPRISE=$tmp/limited.sh
px_start "$tmp/px" --upstream "http://127.0.0.1:$up_port" -o "$rec" --no-redact
REPRISE=$REPRISE_REAL

# A few exchanges (40 KiB, under the limit) first, and they are written (the file grows past its
# header) before more come: otherwise, on a loaded machine, the writer may take them all into
# its first member after the limit and nothing is written before the failure.
head_size=$(stat -c %s "$rec")
for i in 0 1 2 3 4; do
    curl -sS --max-time 10 -o /dev/null "$PX_URL/big/8192?n=$i" 2>/dev/null || true
done
grown() { [ "$(stat -c %s "$rec")" -gt "$head_size" ]; }
wait_for 30 grown || echo "# the first exchanges were not written within 30 s"

# One request at a time until the proxy stops by itself (bounded: 400 requests, 120 s).
sent=5
deadline=$((SECONDS + 120))
while kill -0 "$PX_PID" 2>/dev/null && [ "$sent" -lt 400 ] && [ "$SECONDS" -lt "$deadline" ]; do
    curl -sS --max-time 10 -o /dev/null "$PX_URL/big/8192?n=$sent" 2>/dev/null || true
    sent=$((sent + 1))
done
stopped=0
kill -0 "$PX_PID" 2>/dev/null || stopped=1
px_stop INT
sed -n '/error\|stopped\|recorded [0-9]\|File too large/p' "$tmp/px.stderr" | head -n 8

answered=$(grep -c . "$tmp/answered.log" || true)
sum=$(grep '^reprise: recorded ' "$tmp/px.stderr" | tail -n1)
s_recorded=$(sed -E 's/^reprise: recorded ([0-9]+) .*/\1/' <<<"$sum")
s_errors=$(sed -E 's/.* ([0-9]+) errors.*/\1/' <<<"$sum")
s_lost=$(sed -nE 's/.* ([0-9]+) lost to a failed write.*/\1/p' <<<"$sum")
first_err=$(grep -n 'full.jsonl.gz: write failed: File too large; the recording ends' "$tmp/px.stderr" | head -n1 | cut -d: -f1)
sum_line=$(grep -n '^reprise: recorded ' "$tmp/px.stderr" | tail -n1 | cut -d: -f1)

check "the proxy stopped by itself after the failed write ($sent requests sent)" test "$stopped" -eq 1
check "it exits 3 (exit $code)" test "$code" -eq 3
check "the failed write is reported, naming the file and why" test -n "$first_err"
check "... at once: before the proxy finished (line $first_err, summary at ${sum_line:-none})" test "${first_err:-99999}" -lt "${sum_line:-0}"
check "the recorder says it stops taking exchanges" grep -q '^reprise: recording stopped: .*full.jsonl.gz.*no new exchanges are taken' "$tmp/px.stderr"
check "the last line names the file and the reason" grep -q 'full.jsonl.gz: write failed: File too large$' <(tail -n1 "$tmp/px.stderr")
check "the file stayed within the limit" test "$(stat -c %s "$rec")" -le 98304
code=0
"$REPRISE" show "$rec" >"$tmp/show.out" 2>"$tmp/show.err" || code=$?
check "the recording reads (exit $code)" test "$code" -eq 0
check "... cleanly: no truncation warning" test ! -s "$tmp/show.err"
in_file=$(zcat "$rec" | tail -n +2 | grep -c . || true)
check "it holds every exchange the summary calls recorded ($in_file, $s_recorded)" test "$in_file" -eq "$s_recorded"
check "some were written before the failure ($in_file)" test "$in_file" -ge 3
check "the summary counts what was lost (${s_lost:-none})" test "${s_lost:-0}" -ge 1
check "recorded + errors == relayed ($s_recorded + $s_errors == $answered)" test $((s_recorded + s_errors)) -eq "$answered"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
