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
source "$src/tools/lib/nginx.sh"

nginx_pid=""
cleanup() {
    [ -n "$nginx_pid" ] && { kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; }
    demo_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

source "$src/tools/lib/check.sh"
run() { code=0; timeout 120 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?; }

need nginx openssl curl jq

# A CA and a server certificate for 127.0.0.1, made here (tools/lib/nginx.sh); keys are 0600.
tls_make "$tmp"
check "the key files are not readable by others" test "$(stat -c %a "$tmp/ca.key")" = 600

demo_start "$DEMO_BIN"
if ! nginx_start "$tmp" "server { listen 127.0.0.1:PORT ssl http2; ssl_certificate $tmp/server.pem;
        ssl_certificate_key $tmp/server.key;
        location / { proxy_pass $DEMO_URL; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"; then
    echo "nginx did not start with TLS on a loopback port"
    echo "$pass passed, 1 failed"
    exit 1
fi
nginx_pid=$NGINX_PID
port=$NGINX_PORT
target="https://127.0.0.1:$port"
export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple

run replay "$rec" --target "$target" --no-color
check "an unknown CA is a target failure, exit 3 (exit $code)" test "$code" -eq 3
check "the error says the certificate could not be verified" grep -qiE 'certificate' "$tmp/err"

run replay "$rec" --target "$target" --cacert "$tmp/ca.pem" --results "$tmp/r.jsonl.gz" --no-color
check "--cacert trusts the test CA: the checkout passes (exit $code)" test "$code" -eq 0
check "HTTP/2 was used where the target offers it" test "$(zcat "$tmp/r.jsonl.gz" | tail -n +2 | jq -r 'select(.check) | .response.version' | sort -u)" = "HTTP/2"

run replay "$rec" --target "$target" --insecure --no-color
check "--insecure skips verification: the checkout passes (exit $code)" test "$code" -eq 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
