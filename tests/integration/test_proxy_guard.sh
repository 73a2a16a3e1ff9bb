#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise record's guards: forward mode listening beyond loopback needs --allow CIDR, and serves
# only the clients in those ranges; forward mode does not relay or tunnel to loopback and
# link-local addresses (403, recorded unanswered) unless --allow-local; reverse mode sends an
# absolute-form request target upstream in origin form. Traffic only on 127.0.0.1 (one proxy
# listens on 0.0.0.0 and is reached at 127.0.0.1; 169.254.169.254 and [::1] are refused
# before any connection is made).
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
need curl jq zcat

demo_start "$DEMO_BIN"; pids+=("$DEMO_PID")
port=${DEMO_URL##*:}

# 1. Usage: forward mode on a non-loopback address without --allow; bad ranges.
code=0
timeout 30 "$REPRISE" record --forward --listen 0.0.0.0:0 --ca-dir "$tmp/ca" -o "$tmp/u1.jsonl.gz" \
    2>"$tmp/u1.err" || code=$?
check "forward mode on 0.0.0.0 without --allow is a usage error (exit $code)" test "$code" -eq 2
check "... saying --allow is needed" grep -q 'needs --allow CIDR' "$tmp/u1.err"
code=0
timeout 30 "$REPRISE" record --forward --allow 10.0.0.0/33 --ca-dir "$tmp/ca" -o "$tmp/u2.jsonl.gz" \
    2>"$tmp/u2.err" || code=$?
check "a bad --allow range is a usage error (exit $code)" test "$code" -eq 2
check "... naming it" grep -q -- '--allow 10.0.0.0/33: want ADDRESS or ADDRESS/BITS' "$tmp/u2.err"
code=0
timeout 30 "$REPRISE" record --upstream "$DEMO_URL" --allow-local -o "$tmp/u3.jsonl.gz" 2>"$tmp/u3.err" || code=$?
check "--allow-local without --forward is a usage error (exit $code)" test "$code" -eq 2

# 2. Forward mode, no --allow-local: local and link-local upstreams are refused with 403.
rec=$tmp/refused.jsonl.gz
px_start "$tmp/px1" --forward --ca-dir "$tmp/ca" -o "$rec"
get() { curl -sS --max-time 30 -x "$PX_URL" -o "$tmp/body" -w '%{http_code}' "$@" || true; }
s1=$(get "$DEMO_URL/healthz")
cp "$tmp/body" "$tmp/403.body"
s2=$(get "http://localhost:$port/healthz")
s3=$(get "http://169.254.169.254/latest/meta-data/")
s4=$(get "http://[::1]:$port/healthz")
s5=$(get "http://0.0.0.0:$port/healthz")
px_stop
check "a 127.0.0.1 upstream is refused with 403 ($s1)" test "$s1" = 403
check "... saying why" grep -q 'loopback or link-local address, which forward mode reaches only with --allow-local' "$tmp/403.body"
check "a name resolving to loopback is refused ($s2)" test "$s2" = 403
check "169.254.169.254 is refused ($s3)" test "$s3" = 403
check "[::1] is refused ($s4)" test "$s4" = 403
check "0.0.0.0 is refused ($s5)" test "$s5" = 403
check "the proxy stops with exit 0 (exit $code)" test "$code" -eq 0
check "the refused requests are recorded without a response" \
    test "$(zcat "$rec" | tail -n +2 | jq -r 'select(has("response")|not) | .error' | grep -c 'allow-local')" -eq 5
check "the summary counts them" grep -q 'refused 5 ' "$tmp/px1.stderr"

# 3. Tunnelled CONNECT (outside --only) is refused as well, before the tunnel opens.
px_start "$tmp/px2" --forward --ca-dir "$tmp/ca" -o "$tmp/only.jsonl.gz" --only '*.example.test'
s1=$(curl -sS --max-time 30 -x "$PX_URL" -p -o /dev/null -w '%{http_connect}' "$DEMO_URL/healthz" || true)
px_stop
check "a CONNECT tunnel to 127.0.0.1 outside --only gets 403 ($s1)" test "$s1" = 403

# 4. --allow-local relays to them.
px_start "$tmp/px3" --forward --allow-local --ca-dir "$tmp/ca" -o "$tmp/local.jsonl.gz"
s1=$(get "$DEMO_URL/healthz")
s2=$(get "http://localhost:$port/healthz")
px_stop
check "--allow-local: 127.0.0.1 is relayed ($s1)" test "$s1" = 200
check "--allow-local: localhost is relayed ($s2)" test "$s2" = 200

# 5. --allow on 0.0.0.0: clients in the ranges are served, others get 403.
px_start "$tmp/px4" --forward --allow-local --listen 0.0.0.0:0 --allow 127.0.0.0/8 \
    --ca-dir "$tmp/ca" -o "$tmp/allow.jsonl.gz"
PX_URL=http://127.0.0.1:${PX_URL##*:}
s1=$(get "$DEMO_URL/healthz")
px_stop
check "--listen 0.0.0.0 --allow 127.0.0.0/8: a 127.0.0.1 client is served ($s1)" test "$s1" = 200
px_start "$tmp/px5" --forward --allow-local --listen 0.0.0.0:0 --allow 192.0.2.0/24 \
    --allow 2001:db8::/32 --ca-dir "$tmp/ca" -o "$tmp/deny.jsonl.gz"
PX_URL=http://127.0.0.1:${PX_URL##*:}
s1=$(get "$DEMO_URL/healthz")
cp "$tmp/body" "$tmp/deny.body"
px_stop
check "--allow 192.0.2.0/24: a 127.0.0.1 client gets 403 ($s1)" test "$s1" = 403
check "... saying why" grep -q "not in the proxy's --allow" "$tmp/deny.body"
check "... nothing is recorded" test "$(zcat "$tmp/deny.jsonl.gz" | tail -n +2 | grep -c . || true)" -eq 0
check "... and the summary counts it" grep -q 'refused 1 ' "$tmp/px5.stderr"

# 6. Reverse mode: an absolute-form target goes upstream in origin form.
rec=$tmp/reverse.jsonl.gz
px_start "$tmp/px6" --upstream "$DEMO_URL" -o "$rec"
s1=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' \
    --request-target "http://${PX_URL#http://}/healthz?x=1" "$PX_URL/" || true)
px_stop
check "reverse mode: an absolute-form request is answered ($s1)" test "$s1" = 200
url=$(zcat "$rec" | tail -n +2 | jq -r .request.url)
check "... and recorded with the upstream's URL in origin form ($url)" test "$url" = "$DEMO_URL/healthz?x=1"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
