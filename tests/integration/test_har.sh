#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise import and export, as a user runs them: hand-written HARs (static filter, scrubbing,
# the header), a round trip through export, the one-line errors; and every file of the shared
# HAR corpus, a part of its own that is skipped (exit 77) when the corpus is absent.
#
#   test_har.sh DEMO [local|corpus]   one part, or both when none is named
# ctest-parts: local corpus
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
corpus=${REPRISE_CORPUS:-$src/../shared/corpus}
data=$src/tests/data/har
part=${2:-all}
case $part in local|corpus|all) ;; *) echo "$0: no part '$part' (local, corpus)" >&2; exit 2 ;; esac
source "$src/tools/lib/check.sh"
need jq
if [ "$part" = corpus ] && [ ! -d "$corpus/har" ]; then
    skip "no HAR corpus at $corpus/har (set REPRISE_CORPUS)"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Exchanges in a recording: its lines but the header.
count() { zcat "$1" | tail -n +2 | grep -c . || true; }

expect_error() { # what, expected stderr regex, args...
    local what=$1 want=$2; shift 2
    local code=0
    "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
    if [ "$code" -ne 2 ]; then bad "$what: exit $code, want 2"; return; fi
    if [ "$(wc -l <"$tmp/err")" -ne 1 ] && ! grep -q "^try 'reprise" "$tmp/err"; then
        bad "$what: stderr is not one line: $(cat "$tmp/err")"; return
    fi
    if ! head -n1 "$tmp/err" | grep -qE "$want"; then bad "$what: stderr '$(head -n1 "$tmp/err")' !~ $want"; return; fi
    ok "$what"
}

if [ "$part" != corpus ]; then
    # ----- import, with the defaults -----------------------------------------------------------
    out=$("$REPRISE" import "$data/chrome-session.har" -o "$tmp/s.jsonl.gz" -T acme --tenant beta)
    check "import prints what it did" test "$out" = "imported 6 of 10 entries from $data/chrome-session.har to $tmp/s.jsonl.gz (2 static assets left out, 2 not replayable)"
    check "import writes one line per kept exchange" test "$(count "$tmp/s.jsonl.gz")" -eq 6
    check "every line is JSON" bash -c "zcat '$tmp/s.jsonl.gz' | jq -e . >/dev/null"
    check "the header names the HAR as the source" test "$(zcat "$tmp/s.jsonl.gz" | head -n1 | jq -r '[.name, .source.kind, .source.detail] | join(" ")')" = "chrome-session har $data/chrome-session.har"
    check "the header lists the tenants" test "$(zcat "$tmp/s.jsonl.gz" | head -n1 | jq -c .tenants)" = '["acme","beta"]'
    check "the static assets are left out" bash -c "! zcat '$tmp/s.jsonl.gz' | grep -qE 'app\\.js|logo\\.png'"
    check "the password is not in the file" bash -c "! zcat '$tmp/s.jsonl.gz' | grep -q hunter2"
    check "the bearer token is not in the file" bash -c "! zcat '$tmp/s.jsonl.gz' | grep -q 'eyJhbGciOi.secret-token'"
    check "the session cookie is not in the file" bash -c "! zcat '$tmp/s.jsonl.gz' | grep -q abc123"
    check "the password became a placeholder" test "$(zcat "$tmp/s.jsonl.gz" | sed -n 3p | jq -r .request.body | jq -r .password)" = "{{secret:password}}"
    check "Authorization keeps its scheme" test "$(zcat "$tmp/s.jsonl.gz" | sed -n 3p | jq -r '.request.headers[] | select(.[0] == "authorization") | .[1]')" = "Bearer {{secret:authorization}}"
    check "the CSRF token is kept for correlation" test "$(zcat "$tmp/s.jsonl.gz" | sed -n 3p | jq -r .request.body | jq -r .csrf_token)" = "c5rf"
    check "a blocked request has no response" test "$(zcat "$tmp/s.jsonl.gz" | sed -n 4p | jq -c '[.request.url, .response]')" = '["https://ads.example.test/pixel",null]'

    # ----- import, keeping everything ------------------------------------------------------------
    code=0
    "$REPRISE" import --include-static --no-redact --name all "$data/chrome-session.har" -o "$tmp/all.jsonl.gz" >"$tmp/out" 2>"$tmp/err" || code=$?
    check "--include-static --no-redact exits 0" test "$code" -eq 0
    check "--no-redact warns" grep -q '^reprise: warning: --no-redact' "$tmp/err"
    check "--include-static keeps the static assets" test "$(count "$tmp/all.jsonl.gz")" -eq 8
    check "--no-redact keeps the password" bash -c "zcat '$tmp/all.jsonl.gz' | grep -q hunter2"
    check "--name names the recording" test "$(zcat "$tmp/all.jsonl.gz" | head -n1 | jq -r .name)" = all
    check "a base64 body is stored decoded" test "$(zcat "$tmp/all.jsonl.gz" | tail -n1 | jq -r .response.body_base64)" = "AP8QQQA="

    cp "$data/firefox-cookies.har" "$tmp/Fx.HAR"
    "$REPRISE" import --redact-field grant "$tmp/Fx.HAR" >/dev/null
    check "the default output is beside the HAR" test -f "$tmp/Fx.jsonl.gz"
    check "the default name is the file name without .har" test "$(zcat "$tmp/Fx.jsonl.gz" | head -n1 | jq -r .name)" = Fx
    check "--redact-field adds a field" test "$(zcat "$tmp/Fx.jsonl.gz" | sed -n 3p | jq -r .request.body)" = "grant_type={{secret:grant_type}}&username=u&password={{secret:password}}&access_token={{secret:access_token}}&csrf_token=keep"
    "$REPRISE" import --redact-header host "$data/firefox-cookies.har" -o "$tmp/h.jsonl.gz" >/dev/null
    check "--redact-header adds a header" test "$(zcat "$tmp/h.jsonl.gz" | sed -n 2p | jq -c '.request.headers[0]')" = '["Host","{{secret:host}}"]'
    "$REPRISE" import - -o "$tmp/stdin.jsonl.gz" <"$data/bom.har" >/dev/null
    check "import reads standard input" test "$(count "$tmp/stdin.jsonl.gz")" -eq 1

    # ----- export and back -----------------------------------------------------------------------
    out=$("$REPRISE" export "$tmp/all.jsonl.gz" --har -o "$tmp/all.har")
    check "export prints what it did" test "$out" = "exported 8 exchanges from $tmp/all.jsonl.gz to $tmp/all.har"
    check "the export is HAR 1.2" test "$(jq -r '.log.version + " " + .log.creator.name' "$tmp/all.har")" = "1.2 reprise"
    check "the export has an entry per exchange" test "$(jq '.log.entries | length' "$tmp/all.har")" -eq 8
    check "entries carry the required fields" test "$(jq '[.log.entries[] | select(.startedDateTime and .time != null and .request.headers and .response.content and .timings.wait != null and .cache)] | length' "$tmp/all.har")" -eq 8
    "$REPRISE" import --include-static --no-redact "$tmp/all.har" -o "$tmp/again.jsonl.gz" 2>/dev/null >/dev/null
    check "import after export gives back the same exchanges" diff <(zcat "$tmp/all.jsonl.gz" | tail -n +2) <(zcat "$tmp/again.jsonl.gz" | tail -n +2)
    "$REPRISE" export --har "$tmp/s.jsonl.gz" >/dev/null
    check "the default export path is beside the recording" test -f "$tmp/s.har"
    check "export -o - writes standard output" bash -c "'$REPRISE' export '$tmp/s.jsonl.gz' --har -o - | jq -e '.log.entries | length == 6' >/dev/null"
    check "the placeholders survive export" bash -c "jq -r '.log.entries[1].request.headers[] | select(.name == \"authorization\") | .value' '$tmp/s.har' | grep -qx 'Bearer {{secret:authorization}}'"

    # ----- errors: one line, exit 2 --------------------------------------------------------------
    expect_error "invalid JSON names line and column" "^reprise: $data/bad-json.har: invalid JSON at line 3, column 7$" import "$data/bad-json.har" -o "$tmp/x.jsonl.gz"
    expect_error "JSON that is not HAR" "^reprise: $data/not-har.har: not HAR: no log.entries$" import "$data/not-har.har" -o "$tmp/x.jsonl.gz"
    check "a failed import leaves no file" test ! -e "$tmp/x.jsonl.gz" -a ! -e "$tmp/x.jsonl.gz.part"
    expect_error "a missing HAR" "^reprise: $tmp/nope.har: No such file or directory$" import "$tmp/nope.har"
    expect_error "import without a file" "^reprise: import: missing FILE.har$" import
    expect_error "import with an unknown option" "^reprise: import: unknown option --nope$" import --nope x.har
    expect_error "export without --har" "^reprise: export: say which format: --har$" export "$tmp/s.jsonl.gz"
    expect_error "export of a HAR, not a recording" "^reprise: $data/bom.har: not a reprise recording \(not gzip-compressed\)$" export --har "$data/bom.har" -o "$tmp/y.har"
    check "a failed export leaves no file" test ! -e "$tmp/y.har" -a ! -e "$tmp/y.har.part"
    check "import --help prints its usage" bash -c "'$REPRISE' import --help | grep -q '^usage: reprise import FILE.har'"
    check "export --help prints its usage" bash -c "'$REPRISE' export --help | grep -q '^usage: reprise export RECORDING --har'"
fi

# ----- the shared corpus ---------------------------------------------------------------------
# Entries per file, from the corpus's SOURCES.md; with --include-static --no-redact every entry
# is an exchange but k6_example.har's CONNECT tunnel (status 0, "Unable to connect to host").
if [ "$part" != local ]; then
    if [ ! -d "$corpus/har" ]; then
        # Only when both parts run (by hand): the corpus part's absence is said, and fails.
        bad "no HAR corpus at $corpus/har (set REPRISE_CORPUS)"
    fi
    while read -r file entries dropped; do
        f=$corpus/har/$file
        b=$tmp/corpus-${file%.har}
        if ! "$REPRISE" -q import --include-static --no-redact "$f" -o "$b.jsonl.gz" >/dev/null 2>"$tmp/err"; then
            bad "$file imports: $(cat "$tmp/err")"; continue
        fi
        check "$file gives $((entries - dropped)) exchanges" test "$(count "$b.jsonl.gz")" -eq $((entries - dropped))
        "$REPRISE" -q import "$f" -o "$b.default.jsonl.gz" >/dev/null 2>"$tmp/err" || bad "$file imports with the defaults: $(cat "$tmp/err")"
        if ! "$REPRISE" -q export --har "$b.jsonl.gz" -o "$b.har" >/dev/null 2>"$tmp/err"; then
            bad "$file exports: $(cat "$tmp/err")"; continue
        fi
        check "$file exports as JSON jq reads" test "$(jq '.log.entries | length' "$b.har")" -eq $((entries - dropped))
        "$REPRISE" -q import --include-static --no-redact "$b.har" -o "$b.again.jsonl.gz" >/dev/null
        check "$file re-imports to the same exchanges" diff <(zcat "$b.jsonl.gz" | tail -n +2 | jq -c 'del(.start)') <(zcat "$b.again.jsonl.gz" | tail -n +2 | jq -c 'del(.start)')
    done <<'EOF'
har-to-k6_multipart-formdata.har 5 0
harviewer_issue-21_post-empty-post-data.har 1 0
harviewer_issue-61_chrome51.har 27 0
harviewer_issue-61_firefox47.har 23 0
harviewer_issue-62_svg.base64.har 1 0
harviewer_issue-78_json.har 1 0
harviewer_noPages.har 87 0
harviewer_www-cnn-com.har 22 0
k6_example.har 7 1
mitmproxy_charles.har 1 0
mitmproxy_chrome.har 3 0
mitmproxy_diff_data.har 5 0
mitmproxy_firefox.har 14 0
mitmproxy_head-content-length.har 1 0
mitmproxy_insomnia.har 1 0
mitmproxy_postdata.har 1 0
mitmproxy_safari.har 19 0
mitmproxy_with-bom.har 1 0
pagexray_browsertime-recalculate-style.har 7 0
pagexray_case-sensitive-protocol.har 169 0
pagexray_linkedin.har 23 0
pagexray_redirect-and-redirect-back.har 50 0
pagexray_www.nytimes.com.har 328 0
playwright_har-fulfill.har 5 0
playwright_har-redirect.har 3 0
pollyjs_jest-puppeteer_recording.har 5 0
pollyjs_node-fetch_recording.har 1 0
EOF
    expect_error "the corpus's truncated file fails" "^reprise: $corpus/har/invalid/mitmproxy_brokenfile.har: invalid JSON at line 5, column 1$" import "$corpus/har/invalid/mitmproxy_brokenfile.har" -o "$tmp/z.jsonl.gz"
    expect_error "the corpus's JSONP file fails" "^reprise: $corpus/har/invalid/harviewer_1_harp-jsonp.har: invalid JSON at line 1, column 1$" import "$corpus/har/invalid/harviewer_1_harp-jsonp.har" -o "$tmp/z.jsonl.gz"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
