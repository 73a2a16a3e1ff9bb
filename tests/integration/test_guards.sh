#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The tenant guard and the run guards, against the demo shop on loopback. A bearer-API session
# (sign-up, log-in, a note created and read) is recorded through the proxy without --tenant
# (record warns). Replay then refuses it, exit 2 with one line and nothing sent, as it does a
# recording whose declared tenant stands in no request; --tenant, --same-tenant and --dry-run let
# it go, and a recording of reads alone needs no tenant. --read-only sends only reads,
# --max-requests caps the whole run, --stop-on stops one session and not the others, and an
# output path that cannot be written is exit 2 with nothing sent. What reached the target is
# read from its own request log and from GET /__state.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tools/lib/check.sh"
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/proxy.sh"
need curl jq xmllint
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

password=correct-horse-battery-staple
export REPRISE_SECRET_PASSWORD=$password
json() { curl -sS --max-time 60 -H 'Content-Type: application/json' "$@"; }
run() { code=0; timeout 120 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?; }

# ----- 1. record without --tenant: a warning that says how -------------------------------------
demo_start "$DEMO_BIN" --first-id 3; pids+=("$DEMO_PID"); rec_demo=$DEMO_URL
REC=$tmp/notes.jsonl.gz
px_start "$tmp/px" --upstream "$rec_demo" -o "$REC"
P=$PX_URL v2=$PX_URL/api/v2/t/acme
curl -sS --max-time 60 -o /dev/null "$P/healthz"
json -o /dev/null -d "{\"tenant\":\"acme\",\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$P/api/signup"
tok=$(json -d "{\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$v2/login" | jq -r .access_token)
id=$(json -H "Authorization: Bearer $tok" -d '{"title":"first"}' "$v2/notes" | jq -r .id)
curl -sS --max-time 60 -o /dev/null -H "Authorization: Bearer $tok" "$v2/notes/$id"
curl -sS --max-time 60 -o /dev/null -H "Authorization: Bearer $tok" "$v2/notes"
px_stop INT
demo_stop
check "record without --tenant exits 0 (exit $code)" test "$code" -eq 0
check "record warns in one line, saying how" grep -qx 'reprise: warning: no tenant declared: add --tenant NAME (the tenant this session works in), or replay will refuse the recording'"'"'s writes' "$tmp/px.stderr"
n_ex=$(zcat "$REC" | tail -n +2 | grep -c .)
check "the recording has the 6 exchanges ($n_ex)" test "$n_ex" -eq 6
check "its header declares no tenant" test "$(zcat "$REC" | head -n1 | jq -c '.tenants // []')" = '[]'

"$REPRISE" import "$src/tests/data/har/chrome-session.har" -o "$tmp/har.jsonl.gz" >/dev/null 2>"$tmp/imp.err"
check "import without --tenant warns too" grep -q '^reprise: warning: no tenant declared: add --tenant NAME' "$tmp/imp.err"
"$REPRISE" import "$src/tests/data/har/chrome-session.har" -o "$tmp/har2.jsonl.gz" --tenant acme >/dev/null 2>"$tmp/imp.err"
check "import with --tenant does not" bash -c "! grep -q 'no tenant declared' '$tmp/imp.err'"

# Variants: the tenant declared (acme), a declared tenant no request holds (zeta), reads only.
zcat "$REC" | jq -c 'if .reprise then .tenants = ["acme"] else . end' | gzip >"$tmp/acme.jsonl.gz"
zcat "$REC" | jq -c 'if .reprise then .tenants = ["zeta"] else . end' | gzip >"$tmp/zeta.jsonl.gz"
# (the reads without their token: the log-in that gives it is a write)
zcat "$REC" | jq -c 'select(.reprise or .request.method == "GET") | if .request then .request.headers |= map(select(.[1] | test("[{][{]var:") | not)) else . end' \
    | gzip >"$tmp/reads.jsonl.gz"

# ----- the target: a demo that logs each request it gets ---------------------------------------
"$DEMO_BIN" --listen 127.0.0.1:0 >"$tmp/t.url" 2>"$tmp/t.log" & pids+=("$!")
t_pid=$!
has_url() { [ -s "$tmp/t.url" ] || ! kill -0 "$t_pid"; }
wait_for 60 has_url || true
T=$(head -n1 "$tmp/t.url")
check "the target started ($T)" test -n "$T"
# Requests the target got since the last mark, by method (state dumps left out).
mark() { wc -l <"$tmp/t.log" >"$tmp/mark"; }
got() { tail -n +$(($(cat "$tmp/mark") + 1)) "$tmp/t.log" | grep '^reprise-demo: ' | grep -v ' /__state ' || true; }
n_got() { got | grep -c . || true; }
# The demo logs a request once its response is sent, maybe after the client read it: wait for
# N lines (no more come once reprise has exited), then count.
reached() { [ "$(n_got)" -ge "$1" ]; }
settle() { wait_for 20 reached "$1" || true; }
state() { curl -sS --max-time 60 "$T/__state"; }

# ----- 2. the tenant guard refuses, nothing sent -----------------------------------------------
refused() { # NAME FILE WHY: exit 2, one line naming FILE and WHY, the how, nothing sent
    check "$1: exit 2 (exit $code)" test "$code" -eq 2
    check "$1: one line on stderr" test "$(wc -l <"$tmp/err")" -eq 1
    check "$1: it names the recording and why" grep -qF "reprise: $2: refused: 3 writes (first: POST #2) and $3" "$tmp/err"
    check "$1: it says how (--tenant, re-record, --same-tenant)" grep -qF "use --tenant FROM=TO, re-record with --tenant NAME, or --same-tenant" "$tmp/err"
    check "$1: nothing on stdout" test ! -s "$tmp/out"
    check "$1: nothing reached the target ($(n_got))" test "$(n_got)" -eq 0
}
before=$(state)
mark
run replay "$REC" --target "$T" --junit "$tmp/j.xml" --results "$tmp/r.jsonl.gz" --no-color
refused "no tenant" "$REC" "no tenant declared"
check "no tenant: no report written" test ! -e "$tmp/j.xml" -a ! -e "$tmp/r.jsonl.gz"
mark
run replay "$tmp/zeta.jsonl.gz" --target "$T" --no-color
refused "tenant in no request" "$tmp/zeta.jsonl.gz" "tenant zeta in no request"
mark
run replay "$tmp/acme.jsonl.gz" "$REC" --target "$T" --no-color
refused "one of two recordings" "$REC" "no tenant declared"
check "the target's state is as it was" test "$(state)" = "$before"

run show "$REC"
check "show says replay would refuse it" grep -qF "refused: 3 writes (first: POST #2) and no tenant declared" "$tmp/out"
run show "$tmp/acme.jsonl.gz"
check "show says nothing of it with a tenant" bash -c "! grep -q 'refused' '$tmp/out'"

# --dry-run says it and sends nothing.
mark
run replay "$REC" --target "$T" --dry-run
check "dry run: exit 0 (exit $code)" test "$code" -eq 0
check "dry run: warns that replay would refuse it" grep -qF "warning: $REC: 3 writes (first: POST #2) and no tenant declared (--dry-run: nothing is sent; a replay would refuse it)" "$tmp/err"
check "dry run: nothing reached the target" test "$(n_got)" -eq 0

# ----- 3. what lets it go ------------------------------------------------------------------------
# Reads alone need no tenant (two fail their checks without the log-in, but all are sent).
mark
run replay "$tmp/reads.jsonl.gz" --target "$T" --no-color
n_reads=$(zcat "$tmp/reads.jsonl.gz" | tail -n +2 | grep -c .)
check "reads only: not refused (exit $code)" test "$code" -ne 2
settle "$n_reads"
check "reads only: all $n_reads sent ($(n_got))" test "$(n_got)" -eq "$n_reads"

# --tenant names the tenant at replay.
mark
run replay "$REC" --target "$T" --tenant 'acme=g-{run}' --no-color
settle 6
check "--tenant acme=...: passes (exit $code)" test "$code" -eq 0
t1=$(sed -nE 's/.*tenant acme -> (g-[a-z0-9]+)$/\1/p' "$tmp/err")
check "--tenant acme=...: the note is made in $t1" test "$(state | jq --arg t "$t1" '[.objects[] | select(.tenant == $t)] | length')" -eq 1

# --same-tenant: meant, with a warning; the writes go to the recorded tenant.
mark
run replay "$REC" --target "$T" --same-tenant --no-color
settle 6
check "--same-tenant: passes (exit $code)" test "$code" -eq 0
check "--same-tenant: warns" grep -qF "warning: $REC: 3 writes (first: POST #2) and no tenant declared (--same-tenant: its writes go to the recorded tenant)" "$tmp/err"
check "--same-tenant: the note is made in the recorded tenant acme" test "$(state | jq '[.objects[] | select(.tenant == "acme")] | length')" -eq 1

# ----- 4. --read-only ----------------------------------------------------------------------------
before=$(state)
mark
run replay "$tmp/acme.jsonl.gz" --target "$T" --read-only --no-color
check "--read-only: exit 0 (exit $code)" test "$code" -eq 0
settle 1
check "--read-only: only GET, HEAD, OPTIONS reached the target" test "$(got | grep -vcE '^reprise-demo: (GET|HEAD|OPTIONS) ' || true)" -eq 0
check "--read-only: GET /healthz was sent" test "$(got | grep -c '^reprise-demo: GET /healthz 200')" -eq 1
check "--read-only: nothing changed on the target" test "$(state)" = "$before"
check "--read-only: the 3 writes are SKIPPED with the reason" test "$(grep -cxF '      not sent: a POST, and --read-only sends only GET, HEAD, OPTIONS' "$tmp/out")" -eq 3
check "--read-only: a read needing the log-in's token is SKIPPED, not sent without it" grep -qE '^      not sent \(--read-only\): .*access_token' "$tmp/out"
check "--read-only: the read of the note it did not create is SKIPPED" grep -qE '^  notes#1 +5  GET .* SKIPPED$' "$tmp/out"
check "--read-only: the summary counts 1 passed, 5 skipped" grep -qE '^1 passed, 0 failed, 0 errors, 5 skipped in ' "$tmp/out"
mark
check "--read-only: a recording without a tenant is let go with a warning" bash -c "'$REPRISE' replay '$REC' --target '$T' --read-only --no-color 2>&1 >/dev/null | grep -qF '(--read-only: no write is sent)'"

settle 1

# ----- 5. --max-requests -------------------------------------------------------------------------
mark
run replay "$tmp/acme.jsonl.gz" --target "$T" --max-requests 3 --no-color
check "--max-requests 3: exit 0 (exit $code)" test "$code" -eq 0
settle 3
check "--max-requests 3: 3 requests reached the target ($(n_got))" test "$(n_got)" -eq 3
check "--max-requests 3: the other 3 SKIPPED, saying why" test "$(grep -cxF '      not sent: --max-requests 3 reached' "$tmp/out")" -eq 3
check "--max-requests 3: the summary says the cap was hit" grep -qxF 'reprise: warning: --max-requests 3 reached: 3 requests sent, 3 steps SKIPPED' "$tmp/err"
mark
run replay "$tmp/acme.jsonl.gz" --target "$T" --sessions 3 --concurrency 2 --max-requests 8 --no-color
settle 8
check "--max-requests 8 over 3 sessions: 8 requests in all ($(n_got))" test "$(n_got)" -eq 8
check "--max-requests 8 over 3 sessions: 10 steps SKIPPED" grep -qxF 'reprise: warning: --max-requests 8 reached: 8 requests sent, 10 steps SKIPPED' "$tmp/err"
mark
run replay "$tmp/acme.jsonl.gz" --target "$T" --max-requests 6 --no-color
settle 6
check "--max-requests 6 of 6: passes, no warning (exit $code)" test "$code" -eq 0 -a "$(grep -c 'max-requests' "$tmp/err" || true)" -eq 0

# ----- 6. --stop-on ------------------------------------------------------------------------------
# The copy's sign-up sends a bad e-mail (400): its session stops there, the other goes on.
zcat "$tmp/acme.jsonl.gz" | jq -c 'if .reprise then .name = "bad" elif .seq == 2 then .request.body |= sub("owner@acme.test"; "nobody") else . end' \
    | gzip >"$tmp/bad.jsonl.gz"
mark
run replay "$tmp/acme.jsonl.gz" "$tmp/bad.jsonl.gz" --target "$T" --stop-on 5xx,4xx --no-color
check "--stop-on: exit 1, the sign-up's check failed (exit $code)" test "$code" -eq 1
check "--stop-on: the bad sign-up got 400" grep -qE '^  bad#2 +2  POST +/api/signup +400 ' "$tmp/out"
check "--stop-on: its 4 later steps SKIPPED" test "$(grep -cxF '      not sent: the session stopped at exchange 2 (status 400, --stop-on 5xx,4xx)' "$tmp/out")" -eq 4
check "--stop-on: the other session passes all 6" test "$(grep -cE '^  notes#1 .* ok$' "$tmp/out")" -eq 6
check "--stop-on: said on stderr" grep -qF 'bad#2: stopped at exchange 2: status 400 (--stop-on 5xx,4xx)' "$tmp/err"
settle 8
check "--stop-on: 8 requests reached the target ($(n_got))" test "$(n_got)" -eq 8
run replay "$tmp/acme.jsonl.gz" --target "$T" --stop-on 5x
check "--stop-on 5x: a usage error (exit $code)" test "$code" -eq 2

# ----- 7. output paths are checked before the first request -----------------------------------
bad_path() { # NAME ARGS...: exit 2, one line, nothing sent
    local name=$1; shift
    mark
    run replay "$tmp/acme.jsonl.gz" --target "$T" --no-color "$@"
    check "$name: exit 2 (exit $code)" test "$code" -eq 2
    check "$name: one line saying nothing was sent" test "$(wc -l <"$tmp/err")" -eq 1 -a "$(grep -c 'nothing was sent$' "$tmp/err")" -eq 1
    check "$name: nothing reached the target ($(n_got))" test "$(n_got)" -eq 0
}
bad_path "--junit in a missing directory" --junit "$tmp/no/such/dir/j.xml"
check "... named in the message" grep -qF -- "--junit $tmp/no/such/dir/j.xml: no directory $tmp/no/such/dir" "$tmp/err"
mkdir "$tmp/adir"
bad_path "--results that is a directory" --results "$tmp/adir"
check "... named in the message" grep -qF -- "--results $tmp/adir: is a directory" "$tmp/err"
if [ "$(id -u)" -ne 0 ]; then
    mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
    bad_path "--results in a read-only directory" --results "$tmp/ro/r.jsonl.gz"
else
    echo "# running as root: a read-only directory is writable, not tested"
fi
mark
run replay "$tmp/acme.jsonl.gz" --target "$T" --no-color --junit "$tmp/adir/j.xml" --results "$tmp/adir/r.jsonl.gz"
check "good paths: passes and writes both (exit $code)" test "$code" -eq 0 -a -s "$tmp/adir/j.xml" -a -s "$tmp/adir/r.jsonl.gz"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
