#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# JUnit that CI dashboards can follow: two runs of the checkout against the demo shop give the
# same test names (tenant and live ids shown as {tenant} and {order}) and classnames; a drifted
# shop's failure holds the mismatches, the request line, the status and the body, and each
# testcase's <system-out> the request and response heads, with no secret; the counts the report
# states are those two JUnit parsers (python3-junitparser from Debian, junit2json from npm)
# compute from its testcases; diff's JUnit of the results file has the same names.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
rec="$src/recordings/demo-checkout.jsonl.gz"
tmp=$(mktemp -d)
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/check.sh"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

need xmllint jq node /usr/bin/python3
/usr/bin/python3 -c 'import junitparser' 2>/dev/null || skip "python3-junitparser is not installed (tools/install-deps.sh)"
junit2json="$src/tests/junitparse/node_modules/junit2json/dist/esm/cli.js"
[ -f "$junit2json" ] || skip "junit2json is not installed (tools/install-deps.sh: npm ci in tests/junitparse)"

run() {
    code=0
    timeout 120 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
}
export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple

# The names, as "classname|name" lines in document order.
names() { xmllint --xpath '//testcase/@classname | //testcase/@name' "$1" | sed -E 's/^ *(classname|name)="(.*)"$/\2/' | paste -d'|' - -; }

demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); good=$DEMO_URL
run replay "$rec" --target "$good" --junit "$tmp/j1.xml" --no-color
check "first run passes (exit $code)" test "$code" -eq 0
run replay "$rec" --target "$good" --junit "$tmp/j2.xml" --no-color
check "second run passes (exit $code)" test "$code" -eq 0
names "$tmp/j1.xml" >"$tmp/n1"
names "$tmp/j2.xml" >"$tmp/n2"
check "two runs give 9 test names" test "$(wc -l <"$tmp/n1")" -eq 9
check "two runs give the same test names" cmp -s "$tmp/n1" "$tmp/n2"
check "the tenants differed (so the names could have)" bash -c "! cmp -s <(grep -o 'acme-[a-z0-9]*-1' '$tmp/j1.xml' | sort -u) <(grep -o 'acme-[a-z0-9]*-1' '$tmp/j2.xml' | sort -u)"
check "the pay step is named by its template" grep -qxF 'demo-checkout|POST /t/{tenant}/api/orders/{order}/pay' "$tmp/n1"
check "the order's page is named by its template" grep -qxF 'demo-checkout|GET /t/{tenant}/api/orders/{order}' "$tmp/n1"
check "a step without a tenant keeps its path" grep -qxF 'demo-checkout|POST /api/signup' "$tmp/n1"
check "no live tenant in a name" bash -c "! grep -q 'acme-' '$tmp/n1'"

# The same step twice in one recording: the second is "#2", in every run.
{ zcat "$rec"; zcat "$rec" | tail -n 1 | jq -c '.seq = 10'; } | gzip -c >"$tmp/twice.jsonl.gz"
run replay "$tmp/twice.jsonl.gz" --target "$good" --junit "$tmp/jt.xml" --no-color
check "a recording with a step twice passes (exit $code)" test "$code" -eq 0
names "$tmp/jt.xml" >"$tmp/nt"
check "its second copy is numbered" test "$(tail -n 2 "$tmp/nt" | paste -sd,)" = 'demo-checkout|GET /t/{tenant}/api/orders,demo-checkout|GET /t/{tenant}/api/orders #2'
run replay "$tmp/twice.jsonl.gz" --target "$good" --junit "$tmp/jt2.xml" --stream --no-color
names "$tmp/jt2.xml" >"$tmp/nt2"
check "streamed, the names are the same" cmp -s "$tmp/nt" "$tmp/nt2"

# A drifted shop: four steps fail on the price's type.
demo_start "$DEMO_BIN" --drift; pids+=("$DEMO_PID"); drift=$DEMO_URL
run replay "$rec" --target "$drift" --junit "$tmp/jd.xml" --results "$tmp/rd.jsonl.gz" --no-color
check "the drifted run fails (exit $code)" test "$code" -eq 1
check "its report is well-formed" xmllint --noout "$tmp/jd.xml"
names "$tmp/jd.xml" >"$tmp/nd"
check "a failing run has the same names" cmp -s "$tmp/n1" "$tmp/nd"
fail_of() { # the failure element's text of the testcase named $1
    xmllint --xpath "string(//testcase[@name='$1']/failure)" "$tmp/jd.xml"
}
fail_of 'POST /t/{tenant}/api/orders' >"$tmp/f6"
msg=$(xmllint --xpath "string(//testcase[@name='POST /t/{tenant}/api/orders']/failure/@message)" "$tmp/jd.xml")
check "the failure's message names the first mismatch" test "$msg" = '2 mismatches: $.items[0].price: expected number, got string "2.50"'
check "the failure lists every mismatch" grep -qF '$.items[1].price: expected number, got string "18.90"' "$tmp/f6"
check "the failure holds the request line" grep -qE "^POST $drift/t/acme-[a-z0-9]+-1/api/orders\$" "$tmp/f6"
check "the failure holds the status line" grep -qxF 'HTTP/1.1 201 Created' "$tmp/f6"
check "the failure holds the body" grep -qF '"price":"2.50"' "$tmp/f6"
out=$(xmllint --xpath "string(//testcase[@name='POST /api/login']/system-out)" "$tmp/jd.xml")
check "system-out holds the request head" grep -qxF 'POST /api/login' <<<"$(sed -nE 's#^(POST) http://[^/]+(/api/login) HTTP/1.1$#\1 \2#p' <<<"$out")"
check "system-out holds the Host that was sent" grep -qxF "Host: ${drift#http://}" <<<"$out"
check "system-out holds the response head" grep -qxF 'HTTP/1.1 200 OK' <<<"$out"
check "the live session cookie is scrubbed in system-out" grep -qF 'Set-Cookie: demo_session={{secret:cookie_demo_session}}' <<<"$out"
check "no secret value in the report" bash -c "! grep -qF '$REPRISE_SECRET_PASSWORD' '$tmp/jd.xml'"

# The counts the report states are those a JUnit parser computes from its testcases.
counts_py() {
    /usr/bin/python3 - "$1" <<'EOF'
import sys
from junitparser import JUnitXml, Failure, Error, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
def kinds(case):
    return [type(r) for r in case.result]
states = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
stated = {"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "skipped": xml.skipped}
for suite in xml:
    s = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for case in suite:
        k = kinds(case)
        s["tests"] += 1
        s["failures"] += Failure in k
        s["errors"] += Error in k
        s["skipped"] += Skipped in k
    for key in s:
        if s[key] != getattr(suite, key):
            print(f"suite {suite.name}: {key} stated {getattr(suite, key)}, counted {s[key]}")
            sys.exit(1)
        states[key] += s[key]
    if abs(sum(c.time for c in suite) - suite.time) > 0.002 * max(1, len(list(suite))):
        print(f"suite {suite.name}: time stated {suite.time}, summed {sum(c.time for c in suite)}")
        sys.exit(1)
for key in states:
    if states[key] != stated[key]:
        print(f"testsuites: {key} stated {stated[key]}, counted {states[key]}")
        sys.exit(1)
print(" ".join(str(states[k]) for k in ("tests", "failures", "errors", "skipped")))
EOF
}
counts_js() {
    node "$junit2json" "$1" | node -e '
let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
  const doc = JSON.parse(s);
  const t = {tests: 0, failures: 0, errors: 0, skipped: 0};
  for (const suite of doc.testsuite || []) {
    const c = {tests: 0, failures: 0, errors: 0, skipped: 0};
    for (const tc of suite.testcase || []) {
      c.tests++; c.failures += !!tc.failure; c.errors += !!tc.error; c.skipped += !!tc.skipped;
    }
    for (const k in c) {
      if (c[k] !== suite[k]) { console.log(`suite ${suite.name}: ${k} stated ${suite[k]}, counted ${c[k]}`); process.exit(1); }
      t[k] += c[k];
    }
  }
  for (const k in t) {
    if (t[k] !== doc[k]) { console.log(`testsuites: ${k} stated ${doc[k]}, counted ${t[k]}`); process.exit(1); }
  }
  console.log([t.tests, t.failures, t.errors, t.skipped].join(" "));
});'
}
py=$(counts_py "$tmp/jd.xml" 2>&1 || true)
js=$(counts_js "$tmp/jd.xml" 2>&1 || true)
check "junitparser agrees with the stated counts ($py)" test "$py" = "9 4 0 0"
check "junit2json agrees with the stated counts ($js)" test "$js" = "9 4 0 0"

# Errors and skips too: a run whose target is gone gives an error and skipped steps, counted
# alike by both parsers.
kill "$DEMO_PID"; wait "$DEMO_PID" 2>/dev/null || true
run replay "$rec" --target "$drift" --junit "$tmp/je.xml" --no-color
check "a dead target exits 3 (exit $code)" test "$code" -eq 3
py=$(counts_py "$tmp/je.xml" 2>&1 || true)
js=$(counts_js "$tmp/je.xml" 2>&1 || true)
check "junitparser agrees on errors and skips ($py)" test "$py" = "9 0 1 8"
check "junit2json agrees on errors and skips ($js)" test "$js" = "9 0 1 8"
names "$tmp/je.xml" >"$tmp/ne"
check "steps not sent keep their names" cmp -s "$tmp/n1" "$tmp/ne"

# The results file keeps each step's name, and diff's JUnit of it (failures only) uses them.
check "the results file keeps each step's name" test "$(zcat "$tmp/rd.jsonl.gz" | tail -n +2 | jq -r 'select(.check) | .check.step' | paste -sd'|')" = "$(cut -d'|' -f2 "$tmp/n1" | paste -sd'|')"
run diff "$tmp/rd.jsonl.gz" --junit "$tmp/jdiff.xml" --no-color
check "diff of the drifted run exits 1 (exit $code)" test "$code" -eq 1
names "$tmp/jdiff.xml" >"$tmp/ndiff"
check "diff's JUnit names the failed steps as the run did" test "$(cat "$tmp/ndiff")" = "$(xmllint --xpath '//testcase[failure]/@classname | //testcase[failure]/@name' "$tmp/jd.xml" | sed -E 's/^ *(classname|name)="(.*)"$/\2/' | paste -d'|' - -)"
check "diff's JUnit has the four failures" test "$(wc -l <"$tmp/ndiff")" -eq 4

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
