#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise record --forward: the recording forward proxy, driven by curl as the browser. A
# checkout over plain HTTP and over intercepted HTTPS (nginx with a certificate from a CA made
# here, in front of the demo shop) is recorded with the real URLs and no secret, and replays;
# the interception CA is made on first use with its key 0600; a client that does not trust it
# gets no answer; hosts outside --only are relayed or tunnelled and not recorded; names are
# resolved; bad requests get 400 and dead or unverifiable upstreams 502. Everything on
# 127.0.0.1; servers stopped by PID.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
chmod 0755 "$tmp" # nginx's workers run unprivileged and read the config directory
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/nginx.sh"
source "$src/tools/lib/proxy.sh"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    demo_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

source "$src/tools/lib/check.sh"
need curl jq nginx openssl
: "${REPRISE_FAULT_SERVER:?set REPRISE_FAULT_SERVER to reprise-fault-server}"

password=correct-horse-battery-staple

# The checkout at origin $1 through the proxy $PX_URL, extra curl arguments in CURL_EXTRA; the
# cookie jar is $jar. Sets order_id.
checkout() {
    local o=$1 login csrf
    c() { curl -sS --max-time 60 -x "$PX_URL" "${CURL_EXTRA[@]}" -b "$jar" -c "$jar" "$@"; }
    local body="{\"tenant\":\"acme\",\"email\":\"owner@acme.test\",\"password\":\"$password\"}"
    c -o /dev/null "$o/"
    c -o /dev/null -H 'Content-Type: application/json' -d "$body" "$o/api/signup"
    login=$(c -H 'Content-Type: application/json' -d "$body" "$o/api/login")
    csrf=$(jq -r .csrf_token <<<"$login")
    c -o /dev/null "$o/t/acme/"
    c -o /dev/null "$o/t/acme/api/products"
    c -o "$tmp/order.json" -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
        -d '{"items":[{"product_id":1,"quantity":2}]}' "$o/t/acme/api/orders"
    order_id=$(jq -r .id "$tmp/order.json")
    c -o /dev/null "$o/t/acme/api/orders/$order_id"
    c -o /dev/null -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
        -d '{"method":"card"}' "$o/t/acme/api/orders/$order_id/pay"
    c -o /dev/null "$o/t/acme/api/orders"
}

# Checks a recorded checkout at origin $2 in file $1 (9 exchanges, real URLs, no secrets).
check_recording() {
    local rec=$1 o=$2 what=$3 sid
    check "$what: 9 exchanges recorded" test "$(zcat "$rec" | tail -n +2 | grep -c .)" -eq 9
    check "$what: the header says proxy, forward and the tenant" test "$(zcat "$rec" | head -n1 | jq -r '[.source.kind,.source.detail,.tenants[0]]|join(" ")')" = "proxy forward acme"
    check "$what: every URL is the real one ($o/...)" test "$(zcat "$rec" | tail -n +2 | jq -r '.request.url' | grep -vc "^$o/" || true)" -eq 0
    check "$what: the pay request is there" test "$(zcat "$rec" | tail -n +2 | jq -r 'select(.request.method=="POST") | .request.url' | grep -c "/t/acme/api/orders/$order_id/pay$")" -eq 1
    check "$what: no password in the file" test "$(zcat "$rec" | grep -c "$password" || true)" -eq 0
    sid=$(awk '$6=="demo_session"{print $7}' "$jar")
    check "$what: the session cookie was set" test -n "$sid"
    check "$what: no session cookie value in the file" test "$(zcat "$rec" | grep -c "$sid" || true)" -eq 0
    check "$what: no header meant for the proxy" test "$(zcat "$rec" | grep -ci 'proxy-connection' || true)" -eq 0
}

demo_start "$DEMO_BIN"; pids+=("$DEMO_PID")

# 1. Plain HTTP: absolute-form requests, recorded with the shop's URLs; the CA is made at start.
rec=$tmp/http.jsonl.gz
jar=$tmp/jar1
CURL_EXTRA=()
px_start "$tmp/px1" --forward --allow-local -o "$rec" --tenant acme --ca-dir "$tmp/pca"
checkout "$DEMO_URL"
px_stop
check "SIGINT stops the proxy with exit 0 (exit $code)" test "$code" -eq 0
check "the CA certificate is made on first use" test -s "$tmp/pca/ca.pem"
check "... its key file is 0600" test "$(stat -c %a "$tmp/pca/ca-key.pem")" = 600
check "the proxy prints where the CA is" grep -q "^intercepting HTTPS with the CA in $tmp/pca/ca.pem$" "$tmp/px1.stdout"
check "a live line per exchange, with the whole URL" test "$(grep -cE "^reprise: (GET|POST) $DEMO_URL/[^ ]* [0-9]{3} [0-9.]+ ms$" "$tmp/px1.stderr")" -eq 9
check_recording "$rec" "$DEMO_URL" "http"
code=0
REPRISE_SECRET_PASSWORD=$password timeout 120 "$REPRISE" replay "$rec" --target "$DEMO_URL" --no-color \
    >"$tmp/replay1.out" 2>"$tmp/replay1.err" || code=$?
check "the HTTP recording replays against the shop (exit $code)" test "$code" -eq 0

# 2. HTTPS: CONNECT intercepted with a certificate from the proxy's CA; the upstream (nginx in
# front of a fresh shop) verified against the test's own CA.
demo_stop
demo_start "$DEMO_BIN"; pids+=("$DEMO_PID")
tls_make "$tmp"
if nginx_start "$tmp" "server { listen 127.0.0.1:PORT ssl; ssl_certificate $tmp/server.pem;
        ssl_certificate_key $tmp/server.key;
        location / { proxy_pass $DEMO_URL; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"; then
    pids+=("$NGINX_PID")
    tls=https://127.0.0.1:$NGINX_PORT
    rec=$tmp/https.jsonl.gz
    jar=$tmp/jar2
    CURL_EXTRA=(--cacert "$tmp/pca/ca.pem")
    px_start "$tmp/px2" --forward --allow-local -o "$rec" --tenant acme --ca-dir "$tmp/pca" --cacert "$tmp/ca.pem"
    checkout "$tls"
    untrusted=0
    curl -sS --max-time 60 -x "$PX_URL" --cacert "$tmp/ca.pem" -o /dev/null "$tls/healthz" 2>"$tmp/untrusted.err" || untrusted=$?
    px_stop
    check "a client that does not trust the proxy's CA refuses it (curl exit $untrusted)" test "$untrusted" -eq 60
    check "... and the proxy says which CA to trust" grep -q "does the browser trust $tmp/pca/ca.pem?" "$tmp/px2.stderr"
    check_recording "$rec" "$tls" "https"
    code=0
    REPRISE_SECRET_PASSWORD=$password timeout 120 "$REPRISE" replay "$rec" --target "$tls" \
        --cacert "$tmp/ca.pem" --no-color >"$tmp/replay2.out" 2>"$tmp/replay2.err" || code=$?
    [ "$code" -eq 0 ] || cat "$tmp/replay2.out" "$tmp/replay2.err" >&2
    check "the HTTPS recording replays against the shop over TLS (exit $code)" test "$code" -eq 0

    # The upstream's certificate is verified: without --cacert the browser gets 502.
    px_start "$tmp/px3" --forward --allow-local -o "$tmp/unverified.jsonl.gz" --ca-dir "$tmp/pca"
    status=$(curl -sS --max-time 60 -x "$PX_URL" --cacert "$tmp/pca/ca.pem" -o "$tmp/502.body" -w '%{http_code}' "$tls/healthz" || true)
    px_stop
    check "an upstream with an unknown certificate gives 502 ($status)" test "$status" = 502
    check "... saying why" grep -q 'certificate verify failed' "$tmp/502.body"

    # 3. --only: other hosts are relayed (HTTP) or tunnelled (CONNECT) untouched, not recorded.
    px_start "$tmp/px4" --forward --allow-local -o "$tmp/only.jsonl.gz" --ca-dir "$tmp/pca" --only '*.example.test'
    s1=$(curl -sS --max-time 60 -x "$PX_URL" -o /dev/null -w '%{http_code}' "$DEMO_URL/healthz" || true)
    # Tunnelled: the client sees nginx's own certificate, so it trusts the test's CA.
    s2=$(curl -sS --max-time 60 -x "$PX_URL" --cacert "$tmp/ca.pem" -o /dev/null -w '%{http_code}' "$tls/healthz" || true)
    px_stop
    check "a host outside --only is relayed over HTTP ($s1)" test "$s1" = 200
    check "... and tunnelled for HTTPS, with the server's own certificate ($s2)" test "$s2" = 200
    check "... and nothing is recorded" test "$(zcat "$tmp/only.jsonl.gz" | tail -n +2 | grep -c . || true)" -eq 0
    check "... which the summary says" grep -q 'recorded 0 exchanges .* 2 outside --only' "$tmp/px4.stderr"
else
    bad "nginx did not start with TLS on a loopback port"
fi

# 4. Names are looked up; bad requests and dead upstreams are answered, one line each; an
# upstream that never answers holds back only its own connection.
px_start "$tmp/px5" --forward --allow-local -o "$tmp/misc.jsonl.gz" --ca-dir "$tmp/pca"
port=${DEMO_URL##*:}
"$REPRISE_FAULT_SERVER" hang --max-seconds 300 >"$tmp/hang.url" &
hang_pid=$!
pids+=("$hang_pid")
hang_up() { [ -s "$tmp/hang.url" ] || ! kill -0 "$hang_pid" 2>/dev/null; }
wait_for 60 hang_up || true
hang_url=$(head -n1 "$tmp/hang.url")
curl -sS --max-time 120 -x "$PX_URL" -o /dev/null "$hang_url/slow" 2>/dev/null &
hang_curl=$!
# The hanging server has the request once it says so: the proxy is now waiting on it.
hanging() { grep -q '^request 1$' "$tmp/hang.url" || ! kill -0 "$hang_curl" 2>/dev/null; }
wait_for 60 hanging || true
check "the request to the hanging upstream reaches it through the proxy" \
    grep -q '^request 1$' "$tmp/hang.url"
s0=$(curl -sS --max-time 30 -x "$PX_URL" -o /dev/null -w '%{http_code}' "$DEMO_URL/healthz" || true)
check "while one upstream hangs, another answers through the proxy ($s0)" test "$s0" = 200
check "... and the hanging one still waits" kill -0 "$hang_curl"
kill "$hang_curl" 2>/dev/null || true
wait "$hang_curl" 2>/dev/null || true
kill "$hang_pid" 2>/dev/null || true
wait "$hang_pid" 2>/dev/null || true
s1=$(curl -sS --max-time 60 -x "$PX_URL" -o /dev/null -w '%{http_code}' "http://localhost:$port/healthz" || true)
s2=$(curl -sS --max-time 60 -o "$tmp/400.body" -w '%{http_code}' "$PX_URL/healthz" || true)
demo_start "$DEMO_BIN"; dead=${DEMO_URL##*:}; demo_stop
s3=$(curl -sS --max-time 60 -x "$PX_URL" -o "$tmp/dead.body" -w '%{http_code}' "http://127.0.0.1:$dead/x" || true)
s4=$(curl -sS --max-time 30 -x "$PX_URL" -o "$tmp/dns.body" -w '%{http_code}' "http://no-such-host.invalid/x" || true)
px_stop
check "a host name is resolved (localhost: $s1)" test "$s1" = 200
check "a request that names no URL gets 400 ($s2)" test "$s2" = 400
check "... saying this is a forward proxy" grep -q 'forward proxy' "$tmp/400.body"
check "a dead upstream gives 502 ($s3)" test "$s3" = 502
check "a host that does not resolve gives 502 ($s4)" test "$s4" = 502
check "... saying it does not resolve" grep -q 'cannot resolve no-such-host.invalid' "$tmp/dns.body"
check "both are recorded without a response" test "$(zcat "$tmp/misc.jsonl.gz" | tail -n +2 | jq -r 'select(has("response")|not) | .request.url' | grep -c 'x$')" -eq 2

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
