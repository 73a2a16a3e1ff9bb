#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The one recording pipeline behind every recorder: `reprise record` in front of the demo shop
# and `reprise import` of a hand-written HAR, both with --redact-header X-Api-Key and
# --redact-field card, write placeholders and never the values; import leaves a static asset
# out (the demo shop serves none); the shared parser refuses the same contradiction for all.
# Everything on 127.0.0.1; servers stopped by PID.
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

key=k-7f3a9c21
card=4111111111111111
demo_start "$DEMO_BIN"; pids+=("$DEMO_PID")

# 1. record: the extra header and field are scrubbed as the defaults are.
rec=$tmp/rec.jsonl.gz
px_start "$tmp/px" --upstream "$DEMO_URL" -o "$rec" --redact-header X-Api-Key --redact-field card
curl -sS --max-time 20 -o /dev/null -H "X-Api-Key: $key" -H 'Content-Type: application/json' \
    -d "{\"email\":\"a@acme.test\",\"password\":\"pw-secret-1\",\"card_number\":\"$card\"}" \
    "$PX_URL/api/login" || true
px_stop INT
check "record stops with exit 0 (exit $code)" test "$code" -eq 0
check "record wrote the exchange" test "$(zcat "$rec" | tail -n +2 | grep -c .)" -eq 1
line=$(zcat "$rec" | tail -n +2)
check "record: no API key in the file" test "$(zcat "$rec" | grep -c "$key" || true)" -eq 0
check "record: no card number in the file" test "$(zcat "$rec" | grep -c "$card" || true)" -eq 0
check "record: no password in the file" test "$(zcat "$rec" | grep -c "pw-secret-1" || true)" -eq 0
check "record: X-Api-Key is a placeholder" test "$(jq -r '.request.headers[]|select(.[0]=="X-Api-Key")|.[1]' <<<"$line")" = "{{secret:x_api_key}}"
check "record: card_number is a placeholder" test "$(jq -r '.request.body|fromjson|.card_number' <<<"$line")" = "{{secret:card_number}}"
check "record: the e-mail is kept" test "$(jq -r '.request.body|fromjson|.email' <<<"$line")" = "a@acme.test"

# 2. import: the same flags give the same placeholders.
har=$tmp/s.har
cat >"$har" <<HAR
{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[
 {"startedDateTime":"2026-03-01T08:00:00.000Z","time":1,
  "request":{"method":"POST","url":"$DEMO_URL/api/pay","httpVersion":"HTTP/1.1",
   "headers":[{"name":"X-Api-Key","value":"$key"},{"name":"Content-Type","value":"application/json"}],
   "postData":{"mimeType":"application/json","text":"{\"card\":\"$card\",\"qty\":2}"}},
  "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],
   "content":{"size":2,"mimeType":"application/json","text":"{}"}}},
 {"startedDateTime":"2026-03-01T08:00:01.000Z","time":1,
  "request":{"method":"GET","url":"$DEMO_URL/logo.png","httpVersion":"HTTP/1.1","headers":[]},
  "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],
   "content":{"size":3,"mimeType":"image/png","text":"PNG"}}}]}}
HAR
imp=$tmp/imp.jsonl.gz
code=0
"$REPRISE" import "$har" -o "$imp" --redact-header X-Api-Key --redact-field card >"$tmp/imp.out" 2>"$tmp/imp.err" || code=$?
check "import exits 0 (exit $code)" test "$code" -eq 0
check "import says what it did" grep -q "imported 1 of 2 entries from $har to $imp (1 static assets left out, 0 not replayable)" "$tmp/imp.out"
line=$(zcat "$imp" | tail -n +2)
check "import: no API key in the file" test "$(zcat "$imp" | grep -c "$key" || true)" -eq 0
check "import: no card number in the file" test "$(zcat "$imp" | grep -c "$card" || true)" -eq 0
check "import: X-Api-Key is a placeholder" test "$(jq -r '.request.headers[]|select(.[0]=="X-Api-Key")|.[1]' <<<"$line")" = "{{secret:x_api_key}}"
check "import: card is a placeholder" test "$(jq -r '.request.body|fromjson|.card' <<<"$line")" = "{{secret:card}}"

# 3. The shared parser refuses the same contradiction everywhere.
for cmd in "record --upstream $DEMO_URL -o $tmp/x.jsonl.gz" "import $har" "capture -r $har -o $tmp/y.jsonl.gz"; do
    code=0
    # shellcheck disable=SC2086
    "$REPRISE" $cmd --no-redact --redact-field card >/dev/null 2>"$tmp/err" || code=$?
    check "${cmd%% *}: --no-redact with --redact-field is a usage error (exit $code)" test "$code" -eq 2
    check "${cmd%% *}: the error names both flags" grep -q -- "--no-redact cannot go with --redact-header or --redact-field" "$tmp/err"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
