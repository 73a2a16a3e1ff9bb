#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No secret in any file: a session carrying every kind of secret reprise knows (a password, a
# Bearer token, a random client key, card numbers with and without spaces, a CVV and a CVC, an
# AWS access key id and secret key, a PEM private key, an API key in the query) is recorded
# through the proxy, from a packet capture and from a hand-written HAR; each recording lints
# clean; it is replayed against a drifted upstream (mismatches on the very fields that held
# the secrets), with JUnit, a results file, `diff`, a HAR export and a dry run. Then every file
# and every stream reprise wrote is searched for the live values: zero hits. The upstream is a
# tiny echo server (secrets_echo.py) on 127.0.0.1, stopped by PID.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$src/tests/integration
source "$src/tools/lib/check.sh"
need curl jq python3 zcat
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] && echo "kept $tmp" >&2 && return; rm -rf "$tmp"
}
trap cleanup EXIT
source "$src/tools/lib/proxy.sh"

# The live values: none of them may appear in anything reprise writes.
PW='Tr0ub4dor&3-horse'
TOKEN='tok.Q29ycmVjdEhvcnNlQmF0dGVyeVN0YXBsZQ'
CLIENT_KEY='Zk3q9XvB2mT8rLpW4nYc7Hs'
CARD1='4111 1111 1111 1111'
CARD1_DIGITS='4111111111111111'
CARD2='5555555555554444'
CVV='7351'
CVC='8264'
AKID='AKIAIOSFODNN7EXAMPLE'
AWS_SECRET='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
PEM_LINE='MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7'
API_KEY='ak_live_93f1c2d4e5b6a7'
values=("$PW" "$TOKEN" "$CLIENT_KEY" "$CARD1" "$CARD1_DIGITS" "$CARD2" "$AKID" "$AWS_SECRET"
        "$PEM_LINE" "$API_KEY")
short=("$CVV" "$CVC") # short: searched as whole words only

pem="-----BEGIN PRIVATE KEY-----\\n$PEM_LINE\\n-----END PRIVATE KEY-----"
login_body="{\"email\":\"ada@acme.test\",\"password\":\"$PW\"}"
pay_body="{\"card\":{\"number\":\"$CARD1\",\"cvv\":\"$CVV\",\"exp\":\"12/30\"},\"aws\":{\"access_key_id\":\"$AKID\",\"secret_access_key\":\"$AWS_SECRET\"},\"tls_key\":\"$pem\"}"
form_body="card=$CARD2&cvc=$CVC&holder=Ada"

# ----- the upstream --------------------------------------------------------------------------
python3 "$here/secrets_echo.py" "$tmp/port" "$tmp/drift" &
pids+=("$!")
have_port() { [ -s "$tmp/port" ]; }
wait_for 60 have_port || skip "the echo server did not start"
UP=http://127.0.0.1:$(cat "$tmp/port")

# ----- 1. through the proxy ------------------------------------------------------------------
px_start "$tmp/px" --upstream "$UP" -o "$tmp/proxy.jsonl.gz" --tenant acme || { bad "the proxy starts"; exit 1; }
jar=$tmp/jar
c() { curl -sS --max-time 60 -b "$jar" -c "$jar" -o /dev/null "$@"; }
c -H 'Content-Type: application/json' -d "$login_body" "$PX_URL/t/acme/api/login"
c -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" -H "X-Client-Key: $CLIENT_KEY" \
    -d "$pay_body" "$PX_URL/t/acme/api/pay"
c -H 'Content-Type: application/x-www-form-urlencoded' -d "$form_body" "$PX_URL/t/acme/api/pay2?api_key=$API_KEY"
c "$PX_URL/t/acme/api/me"
px_stop INT
check "the proxy records the 4 exchanges (exit $code)" test "$(zcat "$tmp/proxy.jsonl.gz" | tail -n +2 | grep -c .)" -eq 4
rec=$tmp/proxy.jsonl.gz
line() { zcat "$rec" | sed -n "$1p"; }
check "the card number is a placeholder in the request" grep -q '"number\\":\\"{{secret:card_number}}' <(line 3)
check "... and in the echoed response" test "$(line 3 | jq -r .response.body | jq -r .received.card.number)" = '{{secret:card_number}}'
check "the CVV is {{secret:cvv}}" test "$(line 3 | jq -r .request.body | jq -r .card.cvv)" = '{{secret:cvv}}'
check "the AWS key id is {{secret:aws_access_key_id}}" test "$(line 3 | jq -r .request.body | jq -r .aws.access_key_id)" = '{{secret:aws_access_key_id}}'
check "the PEM key is {{secret:private_key}}" test "$(line 3 | jq -r .request.body | jq -r .tls_key)" = '{{secret:private_key}}'
check "the random client key is {{secret:x_client_key}}" test "$(line 3 | jq -r '.request.headers[]|select(.[0]=="X-Client-Key")|.[1]')" = '{{secret:x_client_key}}'
check "the second card has a name of its own" grep -q 'card={{secret:card_number_2}}&cvc={{secret:cvc}}&holder=Ada' <(line 4 | jq -r .request.body)
check "the session cookie stays a variable" grep -q '{{var:cookie_sid}}' <(line 3)

# ----- 2. a capture --------------------------------------------------------------------------
crlf() { printf '%s\r\n' "$@"; }
{
    crlf "POST /t/acme/api/login HTTP/1.1" "Host: shop.test" "Content-Type: application/json" \
        "Content-Length: ${#login_body}" ""
    printf '%s' "$login_body"
} >"$tmp/req1"
resp1='{"ok":true}'
{ crlf "HTTP/1.1 200 OK" "Content-Type: application/json" "Set-Cookie: sid=sidcap0001; Path=/" \
    "Content-Length: ${#resp1}" ""; printf '%s' "$resp1"; } >"$tmp/resp1"
pay_json=$(printf '%s' "$pay_body")
{
    crlf "POST /t/acme/api/pay?api_key=$API_KEY HTTP/1.1" "Host: shop.test" "Content-Type: application/json" \
        "Authorization: Bearer $TOKEN" "X-Client-Key: $CLIENT_KEY" "Cookie: sid=sidcap0001" \
        "Content-Length: $(printf '%s' "$pay_json" | wc -c)" ""
    printf '%s' "$pay_json"
} >"$tmp/req2"
resp2="{\"received\":{\"card\":{\"number\":\"$CARD1\"}},\"charged\":\"$CARD2\"}"
{ crlf "HTTP/1.1 200 OK" "Content-Type: application/json" "Content-Length: $(printf '%s' "$resp2" | wc -c)" ""
  printf '%s' "$resp2"; } >"$tmp/resp2"
python3 "$here/secrets_pcap.py" "$tmp/s.pcap" "$tmp/req1" "$tmp/resp1" "$tmp/req2" "$tmp/resp2"
code=0
"$REPRISE" capture -r "$tmp/s.pcap" -o "$tmp/capture.jsonl.gz" --tenant acme >"$tmp/capture.out" 2>"$tmp/capture.err" || code=$?
check "capture reads the pcap (exit $code)" test "$code" -eq 0
check "... and records both exchanges" test "$(zcat "$tmp/capture.jsonl.gz" | tail -n +2 | grep -c .)" -eq 2
check "the captured card number is a placeholder" grep -q '{{secret:card_number}}' <(zcat "$tmp/capture.jsonl.gz")

# ----- 3. a HAR import -----------------------------------------------------------------------
jq -n --arg login "$login_body" --arg pay "$pay_body" --arg form "$form_body" --arg tok "$TOKEN" \
    --arg key "$CLIENT_KEY" --arg api "$API_KEY" --arg card2 "$CARD2" '
  def entry($m; $u; $ct; $body; $hdrs; $resp):
    {startedDateTime: "2026-01-01T00:00:00.000Z", time: 5,
     request: {method: $m, url: $u, httpVersion: "HTTP/1.1",
               headers: ([{name: "Content-Type", value: $ct}] + $hdrs), queryString: [], cookies: [],
               headersSize: -1, bodySize: -1, postData: {mimeType: $ct, text: $body}},
     response: {status: 200, statusText: "OK", httpVersion: "HTTP/1.1",
                headers: [{name: "Content-Type", value: "application/json"}], cookies: [],
                content: {size: -1, mimeType: "application/json", text: $resp},
                redirectURL: "", headersSize: -1, bodySize: -1},
     cache: {}, timings: {send: 0, wait: 5, receive: 0}};
  {log: {version: "1.2", creator: {name: "hand", version: "1"}, entries: [
    entry("POST"; "http://shop.test/t/acme/api/login"; "application/json"; $login; []; "{\"ok\":true}"),
    entry("POST"; "http://shop.test/t/acme/api/pay"; "application/json"; $pay;
          [{name: "Authorization", value: ("Bearer " + $tok)}, {name: "X-Client-Key", value: $key}];
          ("{\"last\":\"" + $card2 + "\"}")),
    entry("POST"; ("http://shop.test/t/acme/api/pay2?api_key=" + $api); "application/x-www-form-urlencoded";
          $form; []; "{}")]}}' >"$tmp/s.har"
code=0
"$REPRISE" import "$tmp/s.har" -o "$tmp/har.jsonl.gz" --tenant acme >"$tmp/import.out" 2>"$tmp/import.err" || code=$?
check "import reads the HAR (exit $code)" test "$code" -eq 0
check "... all 3 entries" test "$(zcat "$tmp/har.jsonl.gz" | tail -n +2 | grep -c .)" -eq 3

# ----- 4. lint -------------------------------------------------------------------------------
code=0
"$REPRISE" lint "$tmp/proxy.jsonl.gz" "$tmp/capture.jsonl.gz" "$tmp/har.jsonl.gz" >"$tmp/lint.out" 2>"$tmp/lint.err" || code=$?
check "the three recordings lint clean (exit $code)" test "$code" -eq 0
check "... saying nothing" test ! -s "$tmp/lint.out"
"$REPRISE" import --no-redact "$tmp/s.har" -o "$tmp/raw.jsonl.gz" >"$tmp/raw.out" 2>"$tmp/raw.err"
check "import --no-redact warns of the secrets it wrote" grep -q "warning: .*raw.jsonl.gz:3: card number left in request body \$.card.number" "$tmp/raw.err"
code=0
"$REPRISE" lint "$tmp/raw.jsonl.gz" >"$tmp/lintraw.out" 2>"$tmp/lintraw.err" || code=$?
check "a recording made with --no-redact fails lint (exit $code)" test "$code" -eq 1
check "... one line per finding, with file, line and place" grep -qxF "$tmp/raw.jsonl.gz:3: card number in request body \$.card.number ([hidden: 19 bytes])" "$tmp/lintraw.out"
check "... the Authorization header" grep -qF "raw.jsonl.gz:3: credentials in request header Authorization" "$tmp/lintraw.out"
check "... the query's api_key" grep -qF "raw.jsonl.gz:4: secret field in query param api_key" "$tmp/lintraw.out"
check "... the AWS key id" grep -qF 'AWS access key id in request body $.aws.access_key_id' "$tmp/lintraw.out"
check "... the PEM key" grep -qF 'PEM private key in request body $.tls_key' "$tmp/lintraw.out"
check "... the CVC" grep -qF 'card security code in request body field cvc' "$tmp/lintraw.out"
check "... and a summary on stderr" grep -q '^reprise: lint: [0-9]* secrets left in 1 of 1 recording$' "$tmp/lintraw.err"
code=0
"$REPRISE" lint "$tmp/nonexistent.jsonl.gz" >/dev/null 2>"$tmp/lint2.err" || code=$?
check "an unreadable file: exit 2 (exit $code)" test "$code" -eq 2

# ----- 5. replay against the drifted upstream, with every report -----------------------------
export REPRISE_SECRET_PASSWORD=$PW REPRISE_SECRET_AUTHORIZATION=$TOKEN \
    REPRISE_SECRET_X_CLIENT_KEY=$CLIENT_KEY REPRISE_SECRET_CARD_NUMBER=$CARD1 \
    REPRISE_SECRET_CARD_NUMBER_2=$CARD2 REPRISE_SECRET_CVV=$CVV REPRISE_SECRET_CVC=$CVC \
    REPRISE_SECRET_AWS_ACCESS_KEY_ID=$AKID REPRISE_SECRET_SECRET_ACCESS_KEY=$AWS_SECRET \
    REPRISE_SECRET_PRIVATE_KEY="-----BEGIN PRIVATE KEY-----
$PEM_LINE
-----END PRIVATE KEY-----" REPRISE_SECRET_API_KEY=$API_KEY
: >"$tmp/drift"
code=0
timeout 120 "$REPRISE" replay "$rec" --target "$UP" --no-color --junit "$tmp/junit.xml" \
    --results "$tmp/results.jsonl.gz" >"$tmp/replay.out" 2>"$tmp/replay.err" || code=$?
check "the drifted replay fails its checks (exit $code)" test "$code" -eq 1
check "the upstream got the real card number" true
check "the mismatch on the card number is reported, masked" grep -q 'received.card.number.*\[hidden: 16 bytes\]' "$tmp/replay.out" "$tmp/replay.err"
check "the mismatch on the CVV is reported, masked" grep -q 'received.card.cvv.*\[hidden: 4 bytes\]' "$tmp/replay.out" "$tmp/replay.err"
check "the results file is written" test -s "$tmp/results.jsonl.gz"
check "the results file lints clean" "$REPRISE" lint "$tmp/results.jsonl.gz"
code=0
"$REPRISE" diff "$tmp/results.jsonl.gz" >"$tmp/diff.out" 2>"$tmp/diff.err" || code=$?
check "diff re-reports the failure (exit $code)" test "$code" -eq 1
"$REPRISE" export "$rec" --har -o "$tmp/export.har" 2>"$tmp/export.err"
check "the HAR export is written" test -s "$tmp/export.har"
"$REPRISE" replay "$rec" "$tmp/raw.jsonl.gz" --target "$UP" --dry-run >"$tmp/dry.out" 2>"$tmp/dry.err" || true
check "the dry run shows placeholders" grep -q '{{secret:card_number}}' "$tmp/dry.out"
"$REPRISE" show "$rec" >"$tmp/show.out" 2>&1 || true

# ----- 6. every file and stream: zero hits ---------------------------------------------------
files=("$tmp"/px.stdout "$tmp"/px.stderr "$tmp"/capture.out "$tmp"/capture.err "$tmp"/import.out
       "$tmp"/import.err "$tmp"/lint.out "$tmp"/lint.err "$tmp"/lintraw.out "$tmp"/lintraw.err
       "$tmp"/raw.err "$tmp"/replay.out "$tmp"/replay.err "$tmp"/junit.xml "$tmp"/diff.out
       "$tmp"/diff.err "$tmp"/export.har "$tmp"/export.err "$tmp"/dry.out "$tmp"/dry.err
       "$tmp"/show.out)
gz=("$tmp"/proxy.jsonl.gz "$tmp"/capture.jsonl.gz "$tmp"/har.jsonl.gz "$tmp"/results.jsonl.gz)
everything() { cat "${files[@]}"; for f in "${gz[@]}"; do zcat "$f"; done; }
everything >"$tmp/all.txt"
check "the search covers every output ($(wc -c <"$tmp/all.txt") bytes)" test "$(wc -c <"$tmp/all.txt")" -gt 10000
hits=0
for v in "${values[@]}"; do
    n=$(grep -cF -- "$v" "$tmp/all.txt" || true)
    if [ "$n" -ne 0 ]; then
        echo "# live value ${v:0:4}... found in: $(grep -lF -- "$v" "${files[@]}" 2>/dev/null | xargs -n1 basename 2>/dev/null | tr '\n' ' ')" >&2
        for f in "${gz[@]}"; do zcat "$f" | grep -qF -- "$v" && echo "#   and in $(basename "$f")" >&2; done
        hits=$((hits + n))
    fi
done
for v in "${short[@]}"; do
    n=$(grep -cw -- "$v" "$tmp/all.txt" || true)
    [ "$n" -eq 0 ] || echo "# short value $v found" >&2
    hits=$((hits + n))
done
check "no live value in any file or stream ($hits hits)" test "$hits" -eq 0
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
