#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise record: the recording reverse proxy in front of the demo shop. The whole checkout
# through the proxy is recorded with the upstream's URLs and no secret, and replays; SIGKILL
# leaves the earlier exchanges readable; a dead upstream gives 502 and an unanswered exchange;
# a 100 MB download streams through in bounded memory (nginx as upstream); 64 concurrent
# clients all get their answer. Everything on 127.0.0.1; servers stopped by PID.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
chmod 0755 "$tmp" # nginx's workers run unprivileged and read the served directory
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
need curl jq nginx openssl /usr/bin/time

password=correct-horse-battery-staple
demo_start "$DEMO_BIN"; pids+=("$DEMO_PID")
rec=$tmp/checkout.jsonl.gz

# 1. The checkout through the proxy.
px_start "$tmp/px1" --upstream "$DEMO_URL" -o "$rec" --tenant acme
P=$PX_URL
jar=$tmp/jar
c() { curl -sS --max-time 60 -b "$jar" -c "$jar" "$@"; }
body="{\"tenant\":\"acme\",\"email\":\"owner@acme.test\",\"password\":\"$password\"}"
c -o /dev/null "$P/"
c -o /dev/null -H 'Content-Type: application/json' -d "$body" "$P/api/signup"
login=$(c -H 'Content-Type: application/json' -d "$body" "$P/api/login")
csrf=$(jq -r .csrf_token <<<"$login")
c -o /dev/null "$P/t/acme/"
c -o /dev/null "$P/t/acme/api/products"
c -D "$tmp/order.h" -o "$tmp/order.json" -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
    -d '{"items":[{"product_id":1,"quantity":2}]}' "$P/t/acme/api/orders"
id=$(jq -r .id "$tmp/order.json")
c -o /dev/null "$P/t/acme/api/orders/$id"
c -o /dev/null -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" -d '{"method":"card"}' \
    "$P/t/acme/api/orders/$id/pay"
c -o /dev/null "$P/t/acme/api/orders"
px_stop INT
check "SIGINT stops the proxy with exit 0 (exit $code)" test "$code" -eq 0
check "a live line per exchange" test "$(grep -cE '^reprise: (GET|POST) /[^ ]* [0-9]{3} [0-9.]+ ms$' "$tmp/px1.stderr")" -eq 9
check "the live line names method, path, status and time" grep -qE '^reprise: POST /api/login 200 [0-9.]+ ms$' "$tmp/px1.stderr"
check "a summary at the end" grep -q 'recorded 9 exchanges' "$tmp/px1.stderr"
check "the recording reads" bash -c "'$REPRISE' show '$rec' >'$tmp/show.out'"
check "it has the 9 exchanges" test "$(zcat "$rec" | tail -n +2 | grep -c .)" -eq 9
check "the header says proxy, the upstream and the tenant" test "$(zcat "$rec" | head -n1 | jq -r '[.source.kind,.source.detail,.tenants[0]]|join(" ")')" = "proxy $DEMO_URL acme"
check "every URL is the upstream's" test "$(zcat "$rec" | tail -n +2 | jq -r '.request.url' | grep -vc "^$DEMO_URL/" || true)" -eq 0
check "Host is the upstream's in the recording" test "$(zcat "$rec" | tail -n +2 | jq -r '.request.headers[]|select(.[0]=="Host")|.[1]' | sort -u)" = "${DEMO_URL#http://}"
check "no password in the file" test "$(zcat "$rec" | grep -c "$password" || true)" -eq 0
sid=$(awk '$6=="demo_session"{print $7}' "$jar")
check "the session cookie was set" test -n "$sid"
check "no session cookie value in the file" test "$(zcat "$rec" | grep -c "$sid" || true)" -eq 0
check "the password is a placeholder" test "$(zcat "$rec" | grep -c '{{secret:password}}')" -ge 1
# The session cookie the server gave is a record-time variable, born on the log-in's line.
check "the session cookie is a variable" test "$(zcat "$rec" | grep -c '{{var:cookie_demo_session}}')" -ge 1
check "the log-in declares it" test "$(zcat "$rec" | tail -n +2 | jq -r 'select(.vars) | .vars[] | "\(.name) \(.from)"' | head -n1)" = "cookie_demo_session cookie demo_session"
check "show --correlations lists it" grep -q '^cookie_demo_session ' <("$REPRISE" show --correlations "$rec")
check "the client got the order's Location, relative to the proxy" grep -qE "^Location: /t/acme/api/orders/$id" "$tmp/order.h"
check "the recording keeps the upstream's Location" test "$(zcat "$rec" | tail -n +2 | jq -r 'select(.request.method=="POST" and (.request.url|endswith("/api/orders"))) | .response.headers[] | select(.[0]=="Location") | .[1]')" = "/t/acme/api/orders/$id"

code=0
REPRISE_SECRET_PASSWORD=$password timeout 120 "$REPRISE" replay "$rec" --target "$DEMO_URL" --no-color \
    >"$tmp/replay.out" 2>"$tmp/replay.err" || code=$?
check "the recording replays against the shop (exit $code)" test "$code" -eq 0

# 2. SIGKILL mid-session: what the writer flushed (each exchange within about a second) is in
# the file, whole. The proxy is killed once the file holds the 3 exchanges.
rec2=$tmp/killed.jsonl.gz
px_start "$tmp/px2" --upstream "$DEMO_URL" -o "$rec2"
for i in 1 2 3; do curl -sS --max-time 30 -o /dev/null "$PX_URL/healthz"; done
flushed() { [ "$(zcat "$rec2" 2>/dev/null | tail -n +2 | grep -c . || true)" -ge 3 ]; }
check "the 3 exchanges reach the file while the proxy runs" wait_for 60 flushed
px_stop KILL
check "after SIGKILL the recording reads" bash -c "'$REPRISE' show '$rec2' >/dev/null 2>&1"
check "after SIGKILL the 3 finished exchanges are there" test "$(zcat "$rec2" 2>/dev/null | tail -n +2 | grep -c .)" -eq 3

# 3. A dead upstream: 502 to the client, an exchange with no response and an error.
demo_start "$DEMO_BIN"; dead=$DEMO_URL; demo_stop
demo_start "$DEMO_BIN"; pids+=("$DEMO_PID")
rec3=$tmp/dead.jsonl.gz
px_start "$tmp/px3" --upstream "$dead" -o "$rec3"
status=$(curl -sS --max-time 60 -o "$tmp/502.body" -w '%{http_code}' "$PX_URL/api/x" || true)
px_stop TERM
check "a dead upstream gives the client 502 ($status)" test "$status" = 502
check "the 502 says why" grep -q 'connect' "$tmp/502.body"
check "the exchange is recorded without a response" test "$(zcat "$rec3" | tail -n +2 | jq -r 'has("response")')" = false
check "... with the error" test "$(zcat "$rec3" | tail -n +2 | jq -r '.error')" != null
check "the live line says no response" grep -q '^reprise: GET /api/x no response: ' "$tmp/px3.stderr"
check "SIGTERM stops with exit 0 (exit $code)" test "$code" -eq 0

# 4. Usage and start-up errors.
code=0; "$REPRISE" record --forward --upstream "$DEMO_URL" -o "$tmp/f.jsonl.gz" 2>"$tmp/fwd.err" || code=$?
check "--forward with --upstream is a usage error (exit $code)" test "$code" -eq 2
check "... saying why" test "$(head -n1 "$tmp/fwd.err")" = "reprise: record: --forward and --upstream contradict each other"
code=0; "$REPRISE" record --upstream "$DEMO_URL" 2>/dev/null || code=$?
check "no -o is a usage error (exit $code)" test "$code" -eq 2
code=0; "$REPRISE" record --upstream http://no-such-host.invalid -o "$tmp/x.jsonl.gz" 2>/dev/null || code=$?
check "an upstream that does not resolve exits 3 (exit $code)" test "$code" -eq 3
px_start "$tmp/px4" --upstream "$DEMO_URL" -o "$tmp/busy.jsonl.gz"
busy_port=${PX_URL##*:}
code=0; timeout 60 "$REPRISE" record --upstream "$DEMO_URL" --listen "127.0.0.1:$busy_port" -o "$tmp/y.jsonl.gz" 2>/dev/null || code=$?
check "a listen port in use exits 3 (exit $code)" test "$code" -eq 3

# 5. 64 concurrent clients through the proxy (still px4), each its own connection.
cpids=()
for i in $(seq 1 64); do
    curl -sS --max-time 60 -o /dev/null -w '%{http_code}\n' "$PX_URL/healthz" >"$tmp/cc.$i" 2>&1 &
    cpids+=("$!")
done
for p in "${cpids[@]}"; do wait "$p" || true; done
check "64 concurrent clients all get 200" test "$(cat "$tmp"/cc.* | grep -c '^200$')" -eq 64
px_stop INT
check "... and all 64 are recorded" test "$(zcat "$tmp/busy.jsonl.gz" | tail -n +2 | grep -c .)" -eq 64

# nginx as upstream: tools/lib/nginx.sh, tracked here by PID.
nginx_start_tracked() {
    nport=""
    if nginx_start "$tmp" "$1"; then
        nport=$NGINX_PORT
        pids+=("$NGINX_PID")
    fi
}

# 6. A 100 MB download and a 100 MB upload through the proxy, nginx upstream, bounded memory.
mkdir -p "$tmp/www"
chmod 0755 "$tmp/www"
head -c 100M /dev/urandom >"$tmp/www/big.bin"
chmod 0644 "$tmp/www/big.bin"
nginx_start_tracked "server { listen 127.0.0.1:PORT; root $tmp/www;
    location = /upload { client_max_body_size 200m; return 204; } }"
if [ -n "$nport" ]; then
    rec5=$tmp/big.jsonl.gz
    /usr/bin/time -v -o "$tmp/time.txt" "$REPRISE" record --listen 127.0.0.1:0 \
        --upstream "http://127.0.0.1:$nport" -o "$rec5" --include-static --max-body 1M \
        >"$tmp/px5.stdout" 2>"$tmp/px5.stderr" &
    PX_PID=$!
    pids+=("$PX_PID")
    listening() {
        PX_URL=$(sed -n 's/^listening on //p' "$tmp/px5.stdout" 2>/dev/null || true)
        [ -n "$PX_URL" ] || ! kill -0 "$PX_PID" 2>/dev/null
    }
    wait_for 60 listening || true
    [ -n "$PX_URL" ] || bad "the proxy under /usr/bin/time prints its address"
    size=$(curl -sS --max-time 120 -o /dev/null -w '%{size_download}' "$PX_URL/big.bin" || true)
    up=$(curl -sS --max-time 120 -o /dev/null -w '%{http_code} %{size_upload}' \
        -H 'Content-Type: application/octet-stream' --data-binary "@$tmp/www/big.bin" \
        "$PX_URL/upload" || true)
    # GNU time ignores SIGINT while it waits: the signal goes to its child, the proxy.
    child=$(pgrep -P "$PX_PID" || true)
    [ -n "$child" ] && kill -INT "$child"
    gone() { ! kill -0 "$PX_PID" 2>/dev/null; }
    wait_for 60 gone || kill -KILL "$PX_PID" 2>/dev/null || true
    wait "$PX_PID" 2>/dev/null || true
    check "the 100 MB download arrives whole ($size bytes)" test "$size" = 104857600
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time.txt")
    check "the proxy's peak RSS stays under 64 MB (${rss} kB)" test "${rss:-999999}" -lt 65536
    check "the 100 MB upload goes through whole ($up)" test "$up" = "204 104857600"
    check "the body is flagged truncated with its full size" test "$(zcat "$rec5" | tail -n +2 | jq -r 'select(.request.method=="GET") | [.response.body_truncated, .response.body_size]|join(" ")')" = "true 104857600"
    check "the upload is recorded truncated with its full size" test "$(zcat "$rec5" | tail -n +2 | jq -r 'select(.request.method=="POST") | [.request.body_truncated, .request.body_size]|join(" ")')" = "true 104857600"
else
    bad "nginx did not start on a loopback port"
fi
rm -f "$tmp/www/big.bin"

# 7. An HTTPS upstream (nginx with a certificate from a CA made here, in front of the shop):
# verified by default, trusted with --cacert, unverified with --insecure.
mkdir -p "$tmp/www"
head -c 5M /dev/urandom >"$tmp/www/big5.bin"
chmod 0755 "$tmp/www"
chmod 0644 "$tmp/www/big5.bin"
tls_make "$tmp"
nginx_start_tracked "server { listen 127.0.0.1:PORT ssl; ssl_certificate $tmp/server.pem;
    ssl_certificate_key $tmp/server.key;
    location = /big5.bin { root $tmp/www; }
    location / { proxy_pass $DEMO_URL; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
if [ -n "$nport" ]; then
    tls=https://127.0.0.1:$nport
    px_start "$tmp/px6" --upstream "$tls" -o "$tmp/tls1.jsonl.gz"
    status=$(curl -sS --max-time 60 -o "$tmp/tls.body" -w '%{http_code}' "$PX_URL/healthz" || true)
    px_stop INT
    check "an unknown CA: the client gets 502 ($status)" test "$status" = 502
    check "... and the error names the certificate" grep -qi 'certificate' "$tmp/tls.body"
    px_start "$tmp/px7" --upstream "$tls" -o "$tmp/tls2.jsonl.gz" --cacert "$tmp/ca.pem"
    status=$(curl -sS --max-time 60 -o /dev/null -w '%{http_code}' "$PX_URL/healthz" || true)
    status2=$(curl -sS --max-time 60 -o /dev/null -w '%{http_code}' "$PX_URL/" || true)
    got5=$(curl -sS --max-time 60 "$PX_URL/big5.bin" | md5sum | cut -d' ' -f1)
    px_stop INT
    check "5 MB over TLS arrive intact" test "$got5" = "$(md5sum <"$tmp/www/big5.bin" | cut -d' ' -f1)"
    check "--cacert trusts the test CA ($status $status2)" test "$status $status2" = "200 200"
    check "the recording keeps the https URLs" test "$(zcat "$tmp/tls2.jsonl.gz" | tail -n +2 | jq -r .request.url | head -n1)" = "$tls/healthz"
    px_start "$tmp/px8" --upstream "$tls" -o "$tmp/tls3.jsonl.gz" --insecure
    status=$(curl -sS --max-time 60 -o /dev/null -w '%{http_code}' "$PX_URL/healthz" || true)
    px_stop INT
    check "--insecure skips verification ($status)" test "$status" = 200
else
    bad "nginx did not start with TLS on a loopback port"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
