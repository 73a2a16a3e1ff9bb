#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reprise show, as a user runs it: the table, --json through jq, and the one-line errors and
# exit codes for files that are not recordings.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source "$src/tools/lib/check.sh"
need jq

gzip -c "$src/tests/data/recording/basic.jsonl" >"$tmp/basic.jsonl.gz"

# The table: header, one row per exchange, a summary.
out=$("$REPRISE" show "$tmp/basic.jsonl.gz")
check "show exits 0 on a good recording" true
check "show prints the recording's name and source" grep -q '^basic  source: proxy https://shop.example.test' <<<"$out"
check "show prints a row per exchange" test "$(grep -cE '^ +[0-9]+  ' <<<"$out")" -eq 6
check "show prints the POST row with its status" grep -qE '^ +1  POST +https://acme.shop.example.test/api/login +200' <<<"$out"
check "show marks the exchange without response" grep -qE '^ +4  DELETE .* - +- .*incomplete' <<<"$out"
check "show prints the summary" grep -q '^6 exchanges, 5 with a response' <<<"$out"

# --json: every line parses, header first.
check "show --json parses with jq" bash -c "'$REPRISE' show --json '$tmp/basic.jsonl.gz' | jq -e . >/dev/null"
check "show --json has the header then 6 exchanges" test "$("$REPRISE" show --json "$tmp/basic.jsonl.gz" | jq -r '.seq // "h"' | tr '\n' ' ')" = "h 1 2 3 4 5 6 "

# Errors: one line on stderr, exit 2.
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
expect_error "a text file is not a recording" "^reprise: $src/README.md: not a reprise recording \(not gzip-compressed\)$" show "$src/README.md"
gzip -c "$src/README.md" >"$tmp/readme.gz"
expect_error "gzip of another file is not a recording" "^reprise: $tmp/readme.gz:1: not a reprise recording" show "$tmp/readme.gz"
gzip -c "$src/tests/data/recording/corrupt-line3.jsonl" >"$tmp/corrupt.jsonl.gz"
expect_error "a corrupt line names FILE:LINE" "^reprise: $tmp/corrupt.jsonl.gz:3: invalid JSON" show "$tmp/corrupt.jsonl.gz"
expect_error "a missing file" "^reprise: $tmp/nope.jsonl.gz: No such file or directory$" show "$tmp/nope.jsonl.gz"
expect_error "no file given" "^reprise: show: missing FILE$" show
expect_error "an unknown option" "^reprise: show: unknown option --nope$" show --nope x
expect_error "an unknown command" "^reprise: no such command: frobnicate$" frobnicate

# A truncated recording reads up to the cut, warns, and exits 0.
head -c "$(( $(stat -c %s "$tmp/basic.jsonl.gz") - 40 ))" "$tmp/basic.jsonl.gz" >"$tmp/cut.jsonl.gz"
code=0; "$REPRISE" show "$tmp/cut.jsonl.gz" >"$tmp/out" 2>"$tmp/err" || code=$?
check "a truncated recording exits 0" test "$code" -eq 0
check "a truncated recording warns once" grep -q "^reprise: warning: $tmp/cut.jsonl.gz: truncated" "$tmp/err"

check "--version prints the version" bash -c "'$REPRISE' --version | grep -qE '^reprise [0-9]+\.[0-9]+\.[0-9]+$'"
check "help show prints show's usage" bash -c "'$REPRISE' help show | grep -q '^usage: reprise show FILE'"
check "show --help prints show's usage" bash -c "'$REPRISE' show --help | grep -q '^usage: reprise show FILE'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
