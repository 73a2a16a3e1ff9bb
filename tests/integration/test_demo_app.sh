#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise-demo as a black box: starts it on a free loopback port, drives every endpoint with
# curl and checks statuses, headers and JSON against values written here, then restarts it
# with --drift and checks that order item prices turn from numbers into strings.
#
#   tests/integration/test_demo_app.sh PATH/TO/reprise-demo
set -euo pipefail
demo=${1:-${REPRISE_DEMO:-}}
if [ -z "$demo" ] || [ ! -x "$demo" ]; then
    echo "usage: $0 PATH/TO/reprise-demo" >&2
    exit 2
fi
for tool in curl jq; do
    # ctest reports exit 77 as skipped: the test did not run.
    command -v "$tool" >/dev/null || { echo "skip - $tool is not installed"; exit 77; }
done

tmp=$(mktemp -d)
pid=""
stop_app() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=""
    fi
}
trap 'stop_app; rm -rf "$tmp"' EXIT

pass=0 fail=0 failed=()
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); failed+=("$1"); echo "not ok - $1"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }

# Starts the app with extra arguments and waits up to 60 s (a loaded machine, a sanitizer build)
# for the URL line on its stdout.
url=""
start_app() {
    local n=$((${run:-0} + 1)); run=$n
    "$demo" --listen 127.0.0.1:0 --quiet "$@" >"$tmp/stdout.$n" 2>"$tmp/stderr.$n" &
    pid=$!
    url=""
    local deadline=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$deadline" ]; do
        url=$(head -n1 "$tmp/stdout.$n" 2>/dev/null || true)
        [ -n "$url" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if [[ ! $url =~ ^http://127\.0\.0\.1:[0-9]+$ ]]; then
        echo "reprise-demo exited or did not print its URL within 60 s:" >&2
        cat "$tmp/stderr.$n" >&2
        exit 1
    fi
}

# Stops the app with SIGTERM and checks it exits 0 within 30 s (under ASan, 0 also means no
# leak was reported).
stop_and_check() {
    local what=$1 code=0 deadline=$((SECONDS + 30))
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        bad "$what: still running 30 s after SIGTERM"
        stop_app
        return
    fi
    wait "$pid" || code=$?
    pid=""
    if [ "$code" -eq 0 ] && ! grep -q 'Sanitizer' "$tmp/stderr.$run"; then
        ok "$what"
    else
        bad "$what: exit $code"
        cat "$tmp/stderr.$run" >&2
    fi
}

# One request: METHOD PATH [curl args...]. Sets $status; headers in $tmp/h (CRs removed), body
# in $tmp/b. Every request goes to the loopback URL the app printed, never through a proxy.
req() {
    local method=$1 path=$2; shift 2
    local m=()
    if [ "$method" != GET ]; then m=(-X "$method"); fi
    status=$(curl -sS --max-time 60 --noproxy '*' "${m[@]}" -o "$tmp/b" -D "$tmp/h.raw" \
        -w '%{http_code}' "$@" "$url$path" 2>"$tmp/curl.err") || status="curl-failed"
    tr -d '\r' <"$tmp/h.raw" >"$tmp/h" 2>/dev/null || : >"$tmp/h"
}
post() {
    local path=$1 body=$2; shift 2
    req POST "$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}
status_is() { [ "$status" = "$1" ]; }
matches() { [[ $1 =~ $2 ]]; }
header() { grep -i "^$1:" "$tmp/h" | head -n1 | sed -E 's/^[^:]*:[[:space:]]*//'; }
header_is() { [ "$(header "$1")" = "$2" ]; }
no_header() { ! grep -qi "^$1:" "$tmp/h"; }
body_has() { grep -qF -- "$1" "$tmp/b"; }
body_lacks() { ! grep -qF -- "$1" "$tmp/b"; }
json() { jq -e "$@" "$tmp/b"; }
expect() { # what, want status, then a jq filter that must hold (optional)
    local what=$1 want=$2 filter=${3:-}
    if [ "$status" != "$want" ]; then bad "$what: status $status, want $want"; return; fi
    if [ -n "$filter" ] && ! jq -e "$filter" "$tmp/b" >/dev/null 2>&1; then
        bad "$what: body $(head -c 300 "$tmp/b") fails $filter"; return
    fi
    ok "$what"
}
cookie() { echo "demo_session=$1"; }

A_CREDS='{"tenant":"acme","email":"owner@acme.test","password":"correct-horse"}'
B_CREDS='{"tenant":"beta","email":"owner@beta.test","password":"battery-staple"}'
ISO='test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")'

start_app

# --- Health, home page, unknown paths ------------------------------------------------------
req GET /healthz
check "healthz answers 200" status_is 200
check "healthz says ok and a newline" cmp -s "$tmp/b" <(printf 'ok\n')
check "healthz is text/plain" header_is Content-Type "text/plain; charset=utf-8"
req GET /
expect "home page answers 200" 200
check "home page is text/html" header_is Content-Type "text/html; charset=utf-8"
check "home page has the sign-up form" body_has '<form id="signup-form">'
check "home page has the log-in form" body_has '<form id="login-form">'
req GET /nope
expect "an unknown path is 404 JSON" 404 '.error | type == "string"'
check "a 404 is application/json" header_is Content-Type "application/json; charset=utf-8"
req DELETE /healthz
expect "a wrong method is 405" 405 '.error | type == "string"'
check "a 405 carries Allow: GET, HEAD" header_is Allow "GET, HEAD"
req GET /api/signup
expect "GET on a POST endpoint is 405" 405
check "... with Allow: POST" header_is Allow POST

# --- Sign-up ---------------------------------------------------------------------------------
post /api/signup "$A_CREDS"
expect "signup acme is 201" 201 '.tenant.name == "acme" and (.tenant.id | type == "number")
    and .user.email == "owner@acme.test" and (.user.id | type == "number")'
check "signup has an ISO-8601 UTC created_at" json ".tenant.created_at | $ISO"
check "signup does not echo the password" body_lacks correct-horse
post /api/signup "$A_CREDS"
expect "signup acme again is 409" 409 '.error | type == "string"'
post /api/signup "$B_CREDS"
expect "signup beta is 201" 201 '.tenant.name == "beta"'
post /api/signup '{"tenant":"-acme","email":"a@b.test","password":"x"}'
expect "a tenant starting with '-' is 400" 400 '.error | type == "string"'
post /api/signup '{"tenant":"Acme","email":"a@b.test","password":"x"}'
expect "an upper-case tenant is 400" 400
long=$(printf 'a%.0s' $(seq 1 64))
post /api/signup "{\"tenant\":\"$long\",\"email\":\"a@b.test\",\"password\":\"x\"}"
expect "a 64-character tenant is 400" 400
post /api/signup '{"tenant":"gamma","email":"no-at-sign","password":"x"}'
expect "an email without @ is 400" 400
post /api/signup '{"tenant":"gamma","email":"a@b.test"}'
expect "a missing password is 400" 400
post /api/signup 'tenant=gamma&email=a@b.test'
expect "a non-JSON body is 400" 400 '.error == "body is not valid JSON"'
head -c 70000 /dev/zero | tr '\0' 'x' >"$tmp/big"
req POST /api/signup -H 'Content-Type: application/json' --data-binary @"$tmp/big"
expect "a 70 KB body is 413" 413

# --- Log-in ----------------------------------------------------------------------------------
post /api/login '{"tenant":"acme","email":"owner@acme.test","password":"wrong"}'
expect "login with a wrong password is 401" 401 '.error | type == "string"'
post /api/login '{"tenant":"nosuch","email":"owner@acme.test","password":"correct-horse"}'
expect "login to an unknown tenant is 401" 401
post /api/login "$A_CREDS"
expect "login acme is 200" 200 '.tenant == "acme" and .user.email == "owner@acme.test"
    and (.csrf_token | test("^[0-9a-f]{32}$"))'
A_SET=$(header Set-Cookie)
check "login sets the session cookie HttpOnly, SameSite=Lax" \
    matches "$A_SET" '^demo_session=[0-9a-f]{32}; Path=/; HttpOnly; SameSite=Lax$'
A_SESSION=$(sed -E 's/^demo_session=([0-9a-f]*);.*/\1/' <<<"$A_SET")
A_CSRF=$(jq -r .csrf_token "$tmp/b")
post /api/login "$B_CREDS"
B_SESSION=$(header Set-Cookie | sed -E 's/^demo_session=([0-9a-f]*);.*/\1/')
B_CSRF=$(jq -r .csrf_token "$tmp/b")
check "login beta gives another session" matches "$B_SESSION" "^[0-9a-f]{32}$"
check "... and another CSRF token" test "$B_CSRF" != "$A_CSRF"
# Cookie and CSRF header of each tenant's session, for the requests below.
A=(-b "$(cookie "$A_SESSION")" -H "X-CSRF-Token: $A_CSRF")
B=(-b "$(cookie "$B_SESSION")" -H "X-CSRF-Token: $B_CSRF")

# --- Products --------------------------------------------------------------------------------
req GET /t/acme/api/products -b "$(cookie "$A_SESSION")"
expect "products are the three seeded ones" 200 '.products == [
    {"id":1,"name":"Espresso","price":2.5,"currency":"EUR"},
    {"id":2,"name":"Grinder","price":120,"currency":"EUR"},
    {"id":3,"name":"Beans 1kg","price":18.9,"currency":"EUR"}]'
req GET /t/acme/api/products
expect "products without a cookie is 401" 401 '.error == "not logged in"'
req GET /t/acme/api/products -b "demo_session=00000000000000000000000000000000"
expect "products with an unknown session is 401" 401 '.error == "not logged in"'

# --- Orders ----------------------------------------------------------------------------------
ORDER='{"items":[{"product_id":1,"quantity":2}]}'
post /t/acme/api/orders "$ORDER" -b "$(cookie "$A_SESSION")"
expect "an order without X-CSRF-Token is 403" 403 '.error | type == "string"'
post /t/acme/api/orders "$ORDER" -b "$(cookie "$A_SESSION")" -H "X-CSRF-Token: $B_CSRF"
expect "an order with another session's CSRF token is 403" 403
post /t/acme/api/orders "$ORDER" "${A[@]}"
expect "an order with the CSRF token is 201" 201 '.id == 1 and .status == "pending"
    and .items == [{"product_id":1,"name":"Espresso","price":2.5,"quantity":2}]
    and .total == 5 and .currency == "EUR" and .paid_at == null'
check "the order has an ISO-8601 created_at" json ".created_at | $ISO"
check "the order's price is a number without --drift" json '.items[0].price | type == "number"'
check "Location points at the new order" header_is Location /t/acme/api/orders/1
for bad_order in '{}' '{"items":[]}' '{"items":[{"product_id":9,"quantity":1}]}' \
    '{"items":[{"product_id":1,"quantity":0}]}' '{"items":[{"product_id":1,"quantity":1001}]}' \
    '{"items":[{"product_id":1,"quantity":1.5}]}' '{"items":' ; do
    post /t/acme/api/orders "$bad_order" "${A[@]}"
    expect "order body $bad_order is 400" 400 '.error | type == "string"'
done
post /t/beta/api/orders '{"items":[{"product_id":3,"quantity":1}]}' \
    "${B[@]}"
expect "beta's first order takes the next global id, 2" 201 \
    '.id == 2 and .items[0].name == "Beans 1kg" and .total == 18.9'
check "beta's Location names beta" header_is Location /t/beta/api/orders/2

req GET /t/acme/api/orders/1 -b "$(cookie "$A_SESSION")"
expect "get order 1 is 200" 200 '.id == 1 and .status == "pending" and .total == 5'
req GET /t/acme/api/orders/2 -b "$(cookie "$A_SESSION")"
expect "acme cannot get beta's order 2" 404
req GET /t/acme/api/orders/abc -b "$(cookie "$A_SESSION")"
expect "order id abc is 404" 404
req GET /t/acme/api/orders/99999999999999999999999 -b "$(cookie "$A_SESSION")"
expect "an overflowing order id is 404" 404
req GET '/t/acme/api/orders/1%00' -b "$(cookie "$A_SESSION")"
expect "an order id with %00 is 404" 404
req GET /t//api/orders -b "$(cookie "$A_SESSION")"
expect "/t//api/orders is 404" 404

post /t/acme/api/orders/1/pay '{"method":"card"}' -b "$(cookie "$A_SESSION")"
expect "pay without X-CSRF-Token is 403" 403
post /t/acme/api/orders/1/pay '{"method":"card"}' "${A[@]}"
expect "pay is 200 and the order is paid" 200 '.id == 1 and .status == "paid"'
check "a paid order has an ISO-8601 paid_at" json ".paid_at | $ISO"
post /t/acme/api/orders/1/pay '{"method":"card"}' "${A[@]}"
expect "paying again is 409" 409 '.error | type == "string"'
post /t/acme/api/orders/77/pay '' "${A[@]}"
expect "paying an unknown order is 404" 404

post /t/acme/api/orders '{"items":[{"product_id":1,"quantity":1},{"product_id":2,"quantity":1},
    {"product_id":3,"quantity":2}]}' "${A[@]}"
expect "acme's second order is id 3" 201 '.id == 3 and .total == 160.3'
req GET /t/acme/api/orders -b "$(cookie "$A_SESSION")"
expect "the order list has acme's orders in ascending id" 200 '[.orders[].id] == [1,3]
    and .orders[0].status == "paid" and .orders[1].status == "pending"'
check "the order list is chunked" header_is Transfer-Encoding chunked
check "the order list has no Content-Length" no_header Content-Length
req GET /t/acme/api/orders -b "$(cookie "$A_SESSION")" -H 'Accept-Encoding: gzip'
check "the chunked order list stays uncompressed" no_header Content-Encoding
check "... and is plain JSON" json '.orders | length == 2'
req PUT /t/acme/api/orders -b "$(cookie "$A_SESSION")"
expect "PUT on orders is 405" 405
check "... with Allow: GET, HEAD, POST" header_is Allow "GET, HEAD, POST"

# --- Compression -----------------------------------------------------------------------------
req GET /t/acme/api/orders/3 -b "$(cookie "$A_SESSION")" -H 'Accept-Encoding: gzip'
check "a JSON body of 256+ bytes is gzip-encoded on request" header_is Content-Encoding gzip
check "a gzip reply says Vary: Accept-Encoding" header_is Vary Accept-Encoding
magic=$(head -c2 "$tmp/b" | od -An -tx1 | tr -d ' \n')
check "the gzip body starts with the gzip magic" test "$magic" = "1f8b"
req GET /t/acme/api/orders/3 -b "$(cookie "$A_SESSION")" --compressed
expect "the gzip body decodes with curl --compressed" 200 '.id == 3 and (.items | length) == 3'
req GET /t/acme/api/orders/3 -b "$(cookie "$A_SESSION")"
check "without Accept-Encoding the body is plain" no_header Content-Encoding
check "... and parses" json '.id == 3'
req GET / -H 'Accept-Encoding: gzip'
check "the home page is gzip-encoded on request" header_is Content-Encoding gzip
req GET / --compressed
check "the gzip home page decodes" body_has '<form id="login-form">'
req GET /healthz -H 'Accept-Encoding: gzip'
check "a short body is not compressed" no_header Content-Encoding

# --- Tenant isolation ------------------------------------------------------------------------
req GET /t/acme/api/orders/1 -b "$(cookie "$B_SESSION")"
expect "beta's session on acme's order is 404" 404
req GET /t/acme/api/products -b "$(cookie "$B_SESSION")"
expect "beta's session on acme's products is 404" 404
req GET /t/acme/api/orders -b "$(cookie "$B_SESSION")"
expect "beta's session on acme's order list is 404" 404
post /t/acme/api/orders/3/pay '' "${B[@]}"
expect "beta's session cannot pay acme's order" 404
post /t/beta/api/orders/3/pay '' "${B[@]}"
expect "acme's order id under beta's path is 404" 404
req GET /t/nosuch/api/products -b "$(cookie "$B_SESSION")"
expect "a session on an unknown tenant is 404" 404
req GET /t/acme/api/orders/1
expect "an order without a cookie is 401" 401 '.error == "not logged in"'
req GET /t/beta/api/orders -b "$(cookie "$B_SESSION")"
expect "beta's list has only beta's order" 200 '[.orders[].id] == [2]'

# --- Dashboard -------------------------------------------------------------------------------
req GET /t/acme/ -b "$(cookie "$A_SESSION")"
expect "the dashboard answers 200" 200
check "the dashboard is text/html" header_is Content-Type "text/html; charset=utf-8"
check "the dashboard has the CSRF meta tag" \
    body_has "<meta name=\"csrf-token\" content=\"$A_CSRF\">"
check "the dashboard has the hidden csrf_token input" \
    body_has "<input type=\"hidden\" name=\"csrf_token\" value=\"$A_CSRF\">"
check "the dashboard has the products list" body_has '<ul id="products">'
check "the dashboard has the orders list" body_has '<ul id="orders">'
req GET /t/x/
expect "the dashboard without a session is 302" 302
check "... to /?tenant=x" header_is Location "/?tenant=x"
req GET /t/acme/ -b "$(cookie "$B_SESSION")"
expect "the dashboard with another tenant's session is 302" 302
check "... to /?tenant=acme" header_is Location "/?tenant=acme"

# --- Log-out ---------------------------------------------------------------------------------
req POST /api/logout -b "$(cookie "$B_SESSION")"
check "logout is 204" status_is 204
check "logout clears the cookie" matches "$(header Set-Cookie)" '^demo_session=;.*Max-Age=0'
req GET /t/beta/api/products -b "$(cookie "$B_SESSION")"
expect "the logged-out session is 401" 401
req GET /healthz
check "still healthy after the malformed requests" status_is 200
stop_and_check "SIGTERM stops the app with exit 0"

# --- --drift ---------------------------------------------------------------------------------
start_app --drift
post /api/signup "$A_CREDS"
expect "with --drift signup is 201" 201
post /api/login "$A_CREDS"
expect "with --drift login is 200" 200
D_SESSION=$(header Set-Cookie | sed -E 's/^demo_session=([0-9a-f]*);.*/\1/')
D_CSRF=$(jq -r .csrf_token "$tmp/b")
post /t/acme/api/orders "$ORDER" -b "$(cookie "$D_SESSION")" -H "X-CSRF-Token: $D_CSRF"
expect "with --drift an order is 201 with id 1" 201 '.id == 1'
check "with --drift the item price is a string" json '.items[0].price | type == "string"'
check "with --drift the price has two decimals" json '.items[0].price == "2.50"'
check "with --drift the total is still a number" json '.total == 5'
req GET /t/acme/api/orders/1 -b "$(cookie "$D_SESSION")"
check "with --drift a fetched order's price is a string" json '.items[0].price == "2.50"'
req GET /t/acme/api/products -b "$(cookie "$D_SESSION")"
check "with --drift product prices stay numbers" json '.products[0].price == 2.5'
stop_and_check "SIGTERM stops the --drift app with exit 0"

echo "$pass passed, $fail failed"
if [ "$fail" -ne 0 ]; then
    printf 'failed: %s\n' "${failed[@]}"
    exit 1
fi
