#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise replay over HTTPS: the demo shop behind nginx (TLS and HTTP/2) with a certificate
# from a CA this test makes. Verification is on by default (an unknown CA is a target failure,
# exit 3), --cacert trusts the test CA, --insecure skips verification, and HTTP/2 is used
# where the target offers it. Everything on 127.0.0.1; servers stopped by PID.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
rec="$src/recordings/demo-checkout.jsonl.gz"
tmp=$(mktemp -d)
chmod 0755 "$tmp" # nginx's workers run unprivileged and read the config directory
source "$src/tools/lib/demo-app.sh"

nginx_pid=""
cleanup() {
    [ -n "$nginx_pid" ] && { kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; }
    demo_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
run() { code=0; timeout 120 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?; }

if ! command -v nginx >/dev/null; then
    echo "skipped: nginx is not installed (tools/install-deps.sh installs it)"
    echo "0 passed, 0 failed"
    exit 0
fi

# A CA and a server certificate for 127.0.0.1, made here; keys are 0600.
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=reprise test CA" \
    -keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$tmp/ext.cnf"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
    -CAcreateserial -days 2 -extfile "$tmp/ext.cnf" -out "$tmp/server.pem" 2>/dev/null
umask 022
chmod 0644 "$tmp/server.pem" "$tmp/ca.pem"
chmod 0640 "$tmp/server.key"
check "the key files are not readable by others" test "$(stat -c %a "$tmp/ca.key")" = 600

demo_start "$DEMO_BIN"
mkdir -p "$tmp/t"
port=""
for _ in 1 2 3 4 5; do
    try=$((20000 + RANDOM % 40000))
    cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $tmp/t/body; proxy_temp_path $tmp/t/proxy;
    fastcgi_temp_path $tmp/t/f; uwsgi_temp_path $tmp/t/u; scgi_temp_path $tmp/t/s;
    server {
        listen 127.0.0.1:$try ssl http2;
        ssl_certificate $tmp/server.pem;
        ssl_certificate_key $tmp/server.key;
        location / {
            proxy_pass $DEMO_URL;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
    nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" >"$tmp/nginx.out" 2>&1 &
    nginx_pid=$!
    for _ in $(seq 1 50); do
        if curl -fsk -o /dev/null --max-time 2 "https://127.0.0.1:$try/healthz"; then port=$try; break; fi
        kill -0 "$nginx_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] && break
    kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=""
done
if [ -z "$port" ]; then
    cat "$tmp/error.log" "$tmp/nginx.out" >&2 || true
    echo "nginx did not start with TLS on a loopback port"
    echo "$pass passed, 1 failed"
    exit 1
fi
target="https://127.0.0.1:$port"
export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple

run replay "$rec" --target "$target" --no-color
check "an unknown CA is a target failure, exit 3 (exit $code)" test "$code" -eq 3
check "the error says the certificate could not be verified" grep -qiE 'certificate' "$tmp/err"

run replay "$rec" --target "$target" --cacert "$tmp/ca.pem" --results "$tmp/r.jsonl.gz" --no-color
check "--cacert trusts the test CA: the checkout passes (exit $code)" test "$code" -eq 0
check "HTTP/2 was used where the target offers it" test "$(zcat "$tmp/r.jsonl.gz" | tail -n +2 | jq -r '.response.version' | sort -u)" = "HTTP/2"

run replay "$rec" --target "$target" --insecure --no-color
check "--insecure skips verification: the checkout passes (exit $code)" test "$code" -eq 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
