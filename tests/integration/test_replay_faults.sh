#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise replay against targets that misbehave (tests/integration/fault_server.c): one that
# never answers, one that answers bytes that are not HTTP, one that resets, one that cuts a
# response short. Each is a target failure: exit 3, one clear line on stderr naming the
# request, and every exchange of the session in the report (the first as ERROR, the rest as
# SKIPPED). Everything on 127.0.0.1; servers stopped by PID.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
: "${REPRISE_FAULT_SERVER:?set REPRISE_FAULT_SERVER to reprise-fault-server}"
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
rec="$src/recordings/demo-checkout.jsonl.gz"
tmp=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    rm -rf "$tmp"
}
trap cleanup EXIT

source "$src/tools/lib/check.sh"

export REPRISE_SECRET_PASSWORD=x
n_exchanges=$(zcat "$rec" | tail -n +2 | grep -c .)

has_url() { [ -s "$tmp/url" ] || ! kill -0 "$pid" 2>/dev/null; }
start() { # mode -> sets pid and url
    # The previous server's URL goes first: the new server's redirection truncates the file
    # only once its process runs, and the wait below must not read the old one meanwhile.
    rm -f "$tmp/url"
    "$REPRISE_FAULT_SERVER" "$1" --max-seconds 120 >"$tmp/url" &
    pid=$!
    wait_for 60 has_url || true
    url=$(head -n1 "$tmp/url")
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; }

expect_failure() { # mode, what the error line must say (regex), extra args...
    local mode=$1 want=$2; shift 2
    start "$mode"
    local code=0 t0=$SECONDS
    timeout 60 "$REPRISE" replay "$rec" --target "$url" --no-color "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
    stop
    check "$mode: exit 3 (got $code)" test "$code" -eq 3
    check "$mode: the first exchange is reported as ERROR" test "$(grep -c ' ERROR$' "$tmp/out")" -eq 1
    check "$mode: the rest are SKIPPED" test "$(grep -c ' SKIPPED$' "$tmp/out")" -eq $((n_exchanges - 1))
    check "$mode: one error line naming the request" grep -qE "^reprise: GET http://127\.0\.0\.1:[0-9]+/: $want" "$tmp/err"
    # Well under the fault server's life and the timeout above, even on a loaded machine.
    check "$mode: within bounds ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 40
}

expect_failure hang 'Operation timed out' --timeout 2s
expect_failure garbage '(Unsupported HTTP|Weird server reply|Received HTTP/0.9)'
expect_failure reset '(Recv failure|Connection reset|Empty reply)'
expect_failure truncate '(transfer closed|Transferred a partial file)'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
