#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise record driven by a real browser: headless Chromium, through chromedriver and W3C
# WebDriver (tools/lib/browser.sh), clicks through the demo shop's checkout (sign up, log in,
# dashboard, order, pay) while the proxy records. Five scenarios: reverse mode over HTTP and
# with an HTTPS upstream (nginx, certificate from a CA made here), forward mode over HTTP and
# over HTTPS (intercepted with reprise's CA, which the browser trusts through its NSS database:
# no --ignore-certificate-errors), and forward mode with an --only that matches nothing. Each
# recording holds the checkout with the right URLs and no secret, and replays against the shop.
# Everything on 127.0.0.1; the browser is kept off the network; servers stopped by PID.
#
#   test_browser.sh DEMO [SCENARIO]   one scenario, or all five in turn when none is named
#
# ctest runs each scenario as a test of its own, in parallel with the others: each has its own
# temporary directory (home, profiles, CAs, recordings), its own chromedriver, shop, proxy and
# nginx, all on free loopback ports.
# ctest-parts: reverse-http reverse-https forward-http forward-https forward-only
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
part=${2:-all}
case $part in
    all | reverse-http | reverse-https | forward-http | forward-https | forward-only) ;;
    *) echo "$0: no scenario '$part'" >&2; exit 2 ;;
esac
want() { [ "$part" = all ] || [ "$part" = "$1" ]; }
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tools/lib/check.sh"
need "${WD_CHROMIUM:-/usr/bin/chromium}" chromedriver certutil nginx openssl curl jq
tmp=$(mktemp -d)
chmod 0755 "$tmp" # nginx's workers run unprivileged and read the config directory
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/browser.sh"
source "$src/tools/lib/nginx.sh"
source "$src/tools/lib/proxy.sh"

# Nothing started here writes to the real home: not the browser, not certutil, not reprise's
# default CA directory.
export HOME=$tmp/home XDG_DATA_HOME=$tmp/home/.local/share XDG_CONFIG_HOME=$tmp/home/.config \
    XDG_CACHE_HOME=$tmp/home/.cache
mkdir -p "$HOME"

# Servers started here, stopped at exit.
pids=()
cleanup() {
    wd_stop
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    demo_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

password=correct-horse-battery-staple

# ---------------------------------------------------------------------------------------------
# Servers: the proxy, the shop, nginx with TLS in front of the shop.

# A fresh shop for each scenario, so the tenant acme is new every time; demo_stop stops the
# one running, here and at exit.
shop_start() {
    demo_stop
    if ! demo_start "$DEMO_BIN"; then
        bad "the demo shop starts"
        echo "$pass passed, $fail failed"
        exit 1
    fi
}

# A CA and a server certificate for 127.0.0.1, made here, for nginx (tools/lib/nginx.sh), when
# a scenario puts nginx in front of the shop.
if want reverse-https || want forward-https || want forward-only; then
    tls_make "$tmp"
    cp "$tmp/ca.pem" "$tmp/testca.pem"
fi

# Starts nginx with TLS on a free loopback port in front of the shop at $1; sets TLS_URL
# (empty on failure). nginx gzips the pages and JSON for the browser, which asks for it, so
# the recorder has bodies to decode.
tls_front() {
    TLS_URL=""
    if nginx_start "$tmp" "gzip on; gzip_min_length 1; gzip_proxied any; gzip_types application/json;
        server { listen 127.0.0.1:PORT ssl; ssl_certificate $tmp/server.pem;
            ssl_certificate_key $tmp/server.key;
            location / { proxy_pass $1; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"; then
        pids+=("$NGINX_PID")
        TLS_URL=https://127.0.0.1:$NGINX_PORT
    fi
}

# ---------------------------------------------------------------------------------------------
# The browser.

# The browser trusts what is in $HOME/.pki/nssdb. Chromium makes that database itself on
# first start, after which certutil -N would ask for its password: so it is made here, first.
nssdb=sql:$HOME/.pki/nssdb
mkdir -p "$HOME/.pki/nssdb"
timeout 60 certutil -d "$nssdb" -N --empty-password </dev/null >/dev/null 2>&1 ||
    bad "certutil makes the browser's NSS database"

if ! wd_start "$tmp/chromedriver.log" "$HOME"; then
    bad "chromedriver starts (tools/install-deps.sh installs chromium and chromium-driver)"
    echo "$pass passed, $fail failed"
    exit 1
fi

# Chromium's background traffic (update checks, autofill, the search engine, sign-in) never
# leaves the browser: every host name resolves to nothing. IP literals, the shop's, are not
# looked up.
browser_args=(--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
    --disable-background-networking --disable-component-update --disable-sync --disable-quic
    '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1')
profile=0

# Starts a browser with a new profile and the extra arguments given.
browser_start() {
    profile=$((profile + 1))
    wd_session "${browser_args[@]}" "--user-data-dir=$tmp/profile-$profile" "$@"
}

# Starts a browser whose every request goes to the forward proxy at $1. Chromium never proxies
# loopback addresses unless the bypass list says <-loopback>. A proxy is not resolved by the
# browser, so its background traffic would reach the proxy (and, through it, the network): a
# bypass rule per letter sends every named host direct, to the resolver rules above, and
# leaves only IP literals such as the shop's for the proxy.
browser_start_proxied() {
    local bypass='<-loopback>' l
    for l in a b c d e f g h i j k l m n o p q r s t u v w x y z; do bypass="$bypass;*$l*"; done
    browser_start "--proxy-server=$1" "--proxy-bypass-list=$bypass"
}

# Runs one step of the checkout: its name goes in $step for the failure message.
st() { step=$1; shift; "$@"; }

# Clicks through the checkout at origin $1 in the running browser: home page, sign up acme,
# log in, dashboard ready (products and orders fetched), Order product 1, ready with the
# order, Pay it, the order paid. Sets ORDER_ID and SESSION_COOKIE; on failure returns 1 with
# the step and what the page showed in $why.
checkout() {
    local origin=$1
    step="" why="" ORDER_ID="" SESSION_COOKIE=""
    if ! checkout_steps "$origin"; then
        local page
        page=$(wd_js 'var m = document.getElementById("message"),
                o = document.getElementById("orders");
            return location.href + " state=" + document.body.dataset.state + " text=" +
                JSON.stringify(document.body.innerText.slice(0, 100)) +
                " message=" + JSON.stringify(m ? m.textContent : "") +
                " title=" + JSON.stringify(document.title) +
                " products=" + document.querySelectorAll("#products li").length +
                " orders=" + JSON.stringify(o ? o.textContent : "")' \
            2>/dev/null || echo '"(no page)"')
        why="at step '$step', page $page"
        return 1
    fi
}

checkout_steps() {
    local origin=$1
    st "open the home page" wd_get "$origin/" || return 1
    st "see the sign-up form" wd_wait "document.readyState === 'complete' &&
        document.getElementById('signup-form') !== null" || return 1
    st "type the sign-up form" wd_type '#signup-tenant' acme || return 1
    wd_type '#signup-email' owner@acme.test || return 1
    wd_type '#signup-password' "$password" || return 1
    st "submit the sign-up form" wd_click '#signup-submit' || return 1
    st "see the tenant created" wd_wait "document.getElementById('message')
        .textContent.indexOf('Tenant acme created') >= 0" || return 1
    # The sign-up filled in the log-in form's tenant and email; only the password is typed.
    st "the log-in form filled in" wd_wait "document.getElementById('login-tenant')
        .value === 'acme' && document.getElementById('login-email').value ===
        'owner@acme.test'" 30 || return 1
    st "type the password" wd_type '#login-password' "$password" || return 1
    st "submit the log-in form" wd_click '#login-submit' || return 1
    st "the dashboard ready with the products and no order" wd_wait "
        location.pathname === '/t/acme/' && document.body.dataset.state === 'ready' &&
        document.getElementById('order-product-1') !== null &&
        document.getElementById('no-orders') !== null" || return 1
    st "click Order on product 1" wd_click '#order-product-1' || return 1
    st "the dashboard ready with a pending order" wd_wait "
        document.body.dataset.state === 'ready' &&
        document.querySelector('#orders li[data-status=pending]') !== null" || return 1
    step="read the order's id"
    ORDER_ID=$(wd_js "return document.querySelector('#orders li[data-status=pending]')
        .dataset.orderId" | jq -r .) || return 1
    st "click Pay on order $ORDER_ID" wd_click "#pay-$ORDER_ID" || return 1
    st "order $ORDER_ID shown paid" wd_wait "document.body.dataset.state === 'ready' &&
        document.getElementById('order-$ORDER_ID').dataset.status === 'paid'" || return 1
    # HttpOnly, so only WebDriver sees it: the value must not be in the recording.
    step="read the session cookie"
    SESSION_COOKIE=$(wd_cookie demo_session) || return 1
    [ -n "$SESSION_COOKIE" ]
}

# Starts a browser (through the forward proxy $3 when given), clicks through the checkout at
# origin $2 and reports it under the label $1. The browser stays open; CHECKED says whether the
# checkout went through.
browser_checkout() {
    local label=$1 origin=$2 proxy=${3:-} brc=0
    CHECKED=false
    if [ -n "$proxy" ]; then
        browser_start_proxied "$proxy" || brc=$?
    else
        browser_start || brc=$?
    fi
    if [ "$brc" -ne 0 ]; then
        bad "$label: the browser starts"
    elif checkout "$origin"; then
        ok "$label: the browser clicks through the checkout at $origin (order $ORDER_ID paid)"
        CHECKED=true
    else
        bad "$label: the browser clicks through the checkout at $origin: failed $why"
    fi
}

# ---------------------------------------------------------------------------------------------
# The recording.

# rec_has LABEL WHAT METHOD URL STATUS [JQ]: the recording $lines (reprise show --json) holds
# an exchange METHOD URL answered STATUS for which the jq expression JQ is true.
rec_has() {
    local label=$1 what=$2 method=$3 url=$4 status=$5 cond=${6:-true} n
    n=$(tail -n +2 "$lines" | jq -s --arg m "$method" --arg u "$url" --argjson s "$status" \
        "[.[] | select(.request.method == \$m and .request.url == \$u and
                       .response.status == \$s) | select(try ($cond) catch false)] | length" \
        2>/dev/null || echo 0)
    check "$label: $what: $method $url $status" test "$n" -ge 1
}

# The response's body parsed as JSON, and whether its type is HTML.
body='(.response.body | fromjson)'
html='any(.response.headers[]; (.[0] | ascii_downcase) == "content-type" and
         (.[1] | startswith("text/html")))'

# check_recording LABEL FILE ORIGIN REPLAY_ARGS...: the checkout is in the recording with
# URLs at ORIGIN, no secret is, and it replays with the arguments given (--target ...).
check_recording() {
    local label=$1 rec=$2 origin=$3; shift 3
    lines=$rec.lines
    if ! "$REPRISE" show --json "$rec" >"$lines" 2>"$rec.show.err"; then
        bad "$label: the recording reads ($(tail -n1 "$rec.show.err"))"
        return 0
    fi
    ok "$label: the recording reads"
    local t=$origin/t/acme/api id=$ORDER_ID
    check "$label: the header names the tenant acme" \
        test "$(head -n1 "$lines" | jq -r '.tenants | join(" ")')" = acme
    rec_has "$label" "the home page" GET "$origin/" 200 \
        "$html and (.response.body | test(\"signup-form\"))"
    rec_has "$label" "the sign-up" POST "$origin/api/signup" 201 \
        "(.request.body | fromjson | .tenant == \"acme\")"
    rec_has "$label" "the log-in, its password a placeholder" POST "$origin/api/login" 200 \
        "(.request.body | fromjson | .password == \"{{secret:password}}\")"
    rec_has "$label" "the dashboard" GET "$origin/t/acme/" 200 \
        "$html and (.response.body | test(\"data-state\"))"
    rec_has "$label" "the products as JSON" GET "$t/products" 200 \
        "$body.products[0] | has(\"id\") and has(\"name\") and has(\"price\")"
    rec_has "$label" "the orders as JSON, none yet" GET "$t/orders" 200 "$body.orders == []"
    rec_has "$label" "the order" POST "$t/orders" 201 \
        "$body | (.id | tostring) == \"$id\" and .status == \"pending\""
    rec_has "$label" "the orders as JSON, one pending" GET "$t/orders" 200 \
        "$body.orders[0] | (.id | tostring) == \"$id\" and .status == \"pending\" and
         has(\"total\")"
    rec_has "$label" "the payment" POST "$t/orders/$id/pay" 200 "$body.status == \"paid\""
    rec_has "$label" "the orders as JSON, one paid" GET "$t/orders" 200 \
        "$body.orders[0] | (.id | tostring) == \"$id\" and .status == \"paid\""
    local others
    others=$(tail -n +2 "$lines" | jq -r .request.url | grep -vcF "$origin/" || true)
    check "$label: every URL is at $origin ($others others)" test "$others" -eq 0
    # What the browser sent about itself is the upstream's in the file (reverse mode rewrites
    # it; in forward mode the browser sends it so).
    check "$label: every Host header is ${origin#*://}" test "$(tail -n +2 "$lines" |
        jq -r '.request.headers[] | select(.[0] | ascii_downcase == "host") | .[1]' |
        sort -u)" = "${origin#*://}"
    others=$(tail -n +2 "$lines" | jq -r '.request.headers[] |
        select(.[0] | ascii_downcase | . == "origin" or . == "referer") | .[1]' |
        grep -vcE "^$origin(/|$)" || true)
    check "$label: every Origin and Referer is at $origin ($others others)" test "$others" -eq 0
    check "$label: every exchange has a response" \
        test "$(tail -n +2 "$lines" | jq -s 'map(select(has("response") | not)) | length')" -eq 0
    if [[ $origin == https://* ]]; then
        check "$label: nginx gzipped responses, the bodies above were stored decoded" \
            test "$(tail -n +2 "$lines" | jq -s '[.[].response.headers[] |
                select((.[0] | ascii_downcase) == "content-encoding" and .[1] == "gzip")]
                | length')" -ge 1
    fi
    check "$label: no password in the file" \
        test "$(zcat "$rec" | grep -cF "$password" || true)" -eq 0
    if [ -n "$SESSION_COOKIE" ]; then
        check "$label: no session cookie value in the file" \
            test "$(zcat "$rec" | grep -cF "$SESSION_COOKIE" || true)" -eq 0
    else
        bad "$label: no session cookie value in the file (the browser had none)"
    fi
    local rc=0
    REPRISE_SECRET_PASSWORD=$password timeout 120 "$REPRISE" replay "$rec" "$@" --no-color \
        >"$rec.replay.out" 2>"$rec.replay.err" || rc=$?
    if [ "$rc" -eq 0 ]; then
        ok "$label: the recording replays against the shop"
    else
        local last
        last=$(tail -n1 "$rec.replay.err")
        bad "$label: the recording replays against the shop (exit $rc: $last)"
        sed 's/^/    /' "$rec.replay.out" | tail -n 20
    fi
}

# The proxy stopped with SIGINT: exit 0 and a summary.
check_stopped() {
    local label=$1 out=$2
    check "$label: SIGINT stops the proxy with exit 0 (exit $code)" test "$code" -eq 0
    check "$label: the proxy prints its summary" grep -q 'recorded [0-9]* exchanges' \
        "$out.stderr"
}

# check_after LABEL PROXY_OUT FILE ORIGIN REPLAY_ARGS...: once the proxy is stopped, checks
# how it stopped and, when the checkout went through, the recording; when it did not, shows
# what the proxy said last instead of a failure per missing exchange.
check_after() {
    local label=$1 out=$2; shift 2
    check_stopped "$label" "$out"
    if [ "$CHECKED" = true ]; then
        check_recording "$label" "$@"
    else
        bad "$label: the recording is checked (not: the checkout failed)"
        echo "# the proxy's last lines:"
        tail -n 5 "$out.stderr" | sed 's/^/#   /'
    fi
}

# ---------------------------------------------------------------------------------------------
# 1. Reverse mode, HTTP upstream.
if want reverse-http; then
    L="reverse http"
    shop_start
    rec=$tmp/reverse-http.jsonl.gz
    if px_start "$tmp/px1" --upstream "$DEMO_URL" -o "$rec" --tenant acme; then
        browser_checkout "$L" "$PX_URL"
        wd_quit
        px_stop
        check_after "$L" "$tmp/px1" "$rec" "$DEMO_URL" --target "$DEMO_URL"
    else
        bad "$L: the proxy starts ($PX_WHY)"
    fi
fi

# 2. Reverse mode, HTTPS upstream: nginx with the test CA's certificate, trusted with --cacert.
if want reverse-https; then
    L="reverse https"
    shop_start
    tls_front "$DEMO_URL"
    rec=$tmp/reverse-https.jsonl.gz
    if [ -z "$TLS_URL" ]; then
        bad "$L: nginx starts with TLS on a loopback port"
    elif px_start "$tmp/px2" --upstream "$TLS_URL" --cacert "$tmp/testca.pem" -o "$rec" \
        --tenant acme; then
        browser_checkout "$L" "$PX_URL"
        wd_quit
        px_stop
        check_after "$L" "$tmp/px2" "$rec" "$TLS_URL" --target "$TLS_URL" --cacert "$tmp/testca.pem"
    else
        bad "$L: the proxy starts ($PX_WHY)"
    fi
fi

# 3. Forward mode, plain HTTP: the browser opens the shop's own URL through the proxy. The
# proxy has a CA directory of its own here, so that 4 sees reprise ca create one.
if want forward-http; then
    L="forward http"
    shop_start
    rec=$tmp/forward-http.jsonl.gz
    if px_start "$tmp/px3" --forward --allow-local --ca-dir "$tmp/ca3" -o "$rec" --tenant acme; then
        browser_checkout "$L" "$DEMO_URL" "$PX_URL"
        wd_quit
        px_stop
        check_after "$L" "$tmp/px3" "$rec" "$DEMO_URL" --target "$DEMO_URL"
    else
        bad "$L: the proxy starts ($PX_WHY)"
    fi
fi

# 4. Forward mode, HTTPS: CONNECT intercepted with reprise's CA, which the browser trusts
# through its NSS database (Chromium 156 headless reads $HOME/.pki/nssdb), so no
# --ignore-certificate-errors; the proxy verifies nginx with --cacert.
if want forward-https; then
    L="forward https"
    shop_start
    tls_front "$DEMO_URL"
    rec=$tmp/forward-https.jsonl.gz
    code=0
    "$REPRISE" ca --ca-dir "$tmp/ca" >"$tmp/ca.out" 2>"$tmp/ca.err" || code=$?
    if [ "$code" -ne 0 ]; then
        bad "$L: reprise ca --ca-dir creates the CA (exit $code: $(head -n1 "$tmp/ca.err"))"
    elif [ -z "$TLS_URL" ]; then
        bad "$L: nginx starts with TLS on a loopback port"
    else
        check "$L: reprise ca prints the certificate's path first" \
            test "$(head -n1 "$tmp/ca.out")" = "CA certificate: $tmp/ca/ca.pem"
        check "$L: the CA's key is readable by its owner only" \
            test "$(stat -c %a "$tmp/ca/ca-key.pem" 2>/dev/null)" = 600
        if timeout 60 certutil -d "$nssdb" -A -t C,, -n reprise -i "$tmp/ca/ca.pem" </dev/null; then
            ok "$L: the browser's NSS database trusts reprise's CA"
        else
            bad "$L: the browser's NSS database trusts reprise's CA"
        fi
        if px_start "$tmp/px4" --forward --allow-local --ca-dir "$tmp/ca" --cacert "$tmp/testca.pem" -o "$rec" \
            --tenant acme; then
            browser_checkout "$L" "$TLS_URL" "$PX_URL"
            wd_quit
            # Apart from the browser: the interception certificate is valid for the host.
            status=$(curl -sS --max-time 60 --proxy "$PX_URL" --cacert "$tmp/ca/ca.pem" \
                -o /dev/null -w '%{http_code}' "$TLS_URL/healthz" 2>"$tmp/curl4.err" || true)
            check "$L: curl through the proxy verifies the interception certificate ($status$(
                tail -n1 "$tmp/curl4.err"))" test "$status" = 200
            px_stop
            check_after "$L" "$tmp/px4" "$rec" "$TLS_URL" --target "$TLS_URL" \
                --cacert "$tmp/testca.pem"
        else
            bad "$L: the proxy starts ($PX_WHY)"
        fi
    fi
fi

# 5. Forward mode, --only matching no host: the HTTPS checkout goes through the CONNECT tunnel
# untouched (the browser now trusts the test CA, as it would trust a real site), a plain HTTP
# page is relayed, and nothing is recorded.
if want forward-only; then
    L="forward --only"
    shop_start
    tls_front "$DEMO_URL"
    rec=$tmp/forward-only.jsonl.gz
    if [ -z "$TLS_URL" ]; then
        bad "$L: nginx starts with TLS on a loopback port"
    elif px_start "$tmp/px5" --forward --allow-local --only '*.example.invalid' --ca-dir "$tmp/ca" \
        --cacert "$tmp/testca.pem" -o "$rec" --tenant acme; then
        timeout 60 certutil -d "$nssdb" -A -t C,, -n reprise-test -i "$tmp/testca.pem" </dev/null ||
            bad "$L: the browser's NSS database trusts the test CA"
        browser_checkout "$L" "$TLS_URL" "$PX_URL"
        loaded=false
        if [ -n "$WD_SID" ] && wd_get "$DEMO_URL/" &&
            wd_wait "document.getElementById('signup-form') !== null" 30; then
            loaded=true
        fi
        check "$L: the browser loads $DEMO_URL/ relayed" "$loaded"
        wd_quit
        px_stop
        check_stopped "$L" "$tmp/px5"
        if "$REPRISE" show --json "$rec" >"$rec.lines" 2>"$rec.show.err"; then
            check "$L: the recording has no exchange" \
                test "$(tail -n +2 "$rec.lines" | grep -c . || true)" -eq 0
        else
            bad "$L: the recording reads ($(tail -n1 "$rec.show.err"))"
        fi
        check "$L: the summary says 0 recorded" grep -q 'recorded 0 exchanges' "$tmp/px5.stderr"
    else
        bad "$L: the proxy starts ($PX_WHY)"
    fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
