#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The HTML report (--html), opened in a real headless Chromium through chromedriver: a passing
# and a drifted replay of the checkout against the demo shop, and `reprise diff --html` of the
# drifted run's results file. Each report loads from file:// with no console error, no page
# error and no request but its own; its summary's counts (read from the DOM) are the run's; a
# failure shows the recorded and the live value side by side; the copy-as-curl button copies (or
# selects) the command without an error; no secret of the session is in the file; and a hostile
# response body (</script>, <img onerror>) renders as text. A screenshot of the drifted report
# is saved to the path the test prints (HTML_SHOT overrides it).
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
rec="$src/recordings/demo-checkout.jsonl.gz"
tmp=$(mktemp -d)
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/check.sh"
source "$src/tools/lib/browser.sh"

pids=()
cleanup() {
    wd_stop
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

need "$WD_CHROMIUM" chromedriver jq curl base64 xmllint node
shot=${HTML_SHOT:-${TMPDIR:-/tmp}/reprise-html-report.png}

run() {
    code=0
    timeout 120 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
}
export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple

# The terminal summary's step counts, passed failed unsafe errors skipped, from its line
# "22 passed, 1 failed, 1 unsafe, 0 errors, 3 skipped in 0.95 s; ..." (unsafe only when some).
term_counts() {
    local line k n out=()
    line=$(grep -E '^[0-9]+ passed, ' "$tmp/out" | head -n1)
    [ -n "$line" ] || return 0
    for k in passed failed unsafe errors skipped; do
        n=$(grep -oE "[0-9]+ $k" <<<"$line" | cut -d' ' -f1 || true)
        out+=("${n:-0}")
    done
    echo "${out[*]}"
}
term_sessions() { sed -nE 's/^sessions: ([0-9]+) passed, ([0-9]+) flaky, ([0-9]+) failed, ([0-9]+) infrastructure.*/\1 \2 \3 \4/p' "$tmp/out"; }

# ----- the runs ----------------------------------------------------------------------------
demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); good=$DEMO_URL
run replay "$rec" --target "$good" --html "$tmp/pass.html" --no-color
check "the passing run exits 0 (exit $code)" test "$code" -eq 0
pass_steps=$(term_counts); pass_sessions=$(term_sessions)
check "the passing run's terminal summary is read ($pass_steps; $pass_sessions)" test -n "$pass_steps" -a -n "$pass_sessions"
check "the report is in place, no temporary file left" test -s "$tmp/pass.html" -a ! -e "$tmp/pass.html.tmp"
run replay "$rec" --target "$good" --html "$tmp/no-such-dir/r.html" --no-color
check "an --html path that cannot be written is exit 2 (exit $code)" test "$code" -eq 2
check "... named in the error, nothing sent" grep -qF -- "--html $tmp/no-such-dir/r.html: no directory" "$tmp/err"
run replay "$rec" --target "$good" --html - --no-color
check "--html - writes the report to standard output (exit $code)" bash -c "test $code -eq 0 && head -c 15 '$tmp/out' | grep -qx '<!DOCTYPE html>' && grep -qE '^sessions: 1 passed' '$tmp/err'"
# What the shop did: the session's order exists in its own tenant, paid.
tenant=$(grep -o 'acme-[a-z0-9]*-1' "$tmp/pass.html" | head -n1)
check "the report names the session's tenant" test -n "$tenant"
curl -sS --max-time 10 -c "$tmp/jar" -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"tenant\":\"$tenant\",\"email\":\"owner@$tenant.test\",\"password\":\"$REPRISE_SECRET_PASSWORD\"}" \
    "$good/api/login" || true
orders=$(curl -sS --max-time 10 -b "$tmp/jar" -H 'Accept: application/json' "$good/t/$tenant/api/orders" || true)
check "the shop holds the session's one order, paid ($orders)" \
    test "$(jq -r '"\(.orders | length) \(.orders[0].status)"' <<<"$orders" 2>/dev/null)" = "1 paid"
order=$(jq -r '.orders[0].id' <<<"$orders" 2>/dev/null || true)
check "the report shows that order's live id" grep -qF "/t/$tenant/api/orders/$order/pay" "$tmp/pass.html"
demo_stop

demo_start "$DEMO_BIN" --drift; pids+=("$DEMO_PID"); drift=$DEMO_URL
run replay "$rec" --target "$drift" --html "$tmp/drift.html" --results "$tmp/rd.jsonl.gz" --no-color
check "the drifted run exits 1 (exit $code)" test "$code" -eq 1
drift_steps=$(term_counts); drift_sessions=$(term_sessions)
check "the drifted run failed steps ($drift_steps)" test "$(cut -d' ' -f2 <<<"$drift_steps")" -gt 0
demo_stop

# Retries and latency: the first products request fails once (a flaky session, retried), and
# the pay step is slow against its recorded 0.04 ms.
demo_start "$DEMO_BIN" --fail-once /api/products --delay '/t/*/api/orders/*/pay=400'; pids+=("$DEMO_PID")
run replay "$rec" --target "$DEMO_URL" --sessions 2 --concurrency 1 --retries 1 --html "$tmp/retry.html" --no-color
check "the flaky run exits 0 (exit $code)" test "$code" -eq 0
retry_steps=$(term_counts); retry_sessions=$(term_sessions)
retry_slow=$(sed -nE 's/^slow: ([0-9]+) steps? over the latency budget$/\1/p' "$tmp/out")
check "the flaky run has one flaky session ($retry_sessions)" test "$retry_sessions" = "1 1 0 0"
check "the flaky run has slow steps ($retry_slow)" test "${retry_slow:-0}" -gt 0
demo_stop

# A run cancelled mid-way (SIGTERM while the pay step is held 5 s) still writes its report,
# which says it did not finish and why.
demo_start "$DEMO_BIN" --delay '/t/*/api/orders/*/pay=5000'; pids+=("$DEMO_PID")
timeout 120 "$REPRISE" replay "$rec" --target "$DEMO_URL" --html "$tmp/cancel.html" --no-color \
    >"$tmp/out" 2>"$tmp/err" &
rp=$!
# The report is begun at the first verdict: the run is under way, and the pay step will wait.
wait_for 60 test -e "$tmp/cancel.html.tmp" || bad "the cancelled run begins its report"
kill -TERM "$rp" 2>/dev/null || true
code=0; wait "$rp" || code=$?
check "the cancelled run exits 143 (exit $code)" test "$code" -eq 143
check "its report is in place" test -s "$tmp/cancel.html" -a ! -e "$tmp/cancel.html.tmp"
check "its report says it did not finish, and why" grep -qF 'id="unfinished">did not finish: cancelled by SIGTERM<' "$tmp/cancel.html"
check "its verdict reads did not finish" grep -qF 'id="verdict">did not finish<' "$tmp/cancel.html"
demo_stop

# diff from another directory: the recording's relative path cannot be read there, and from
# the source tree, where it can.
(cd "$src" && timeout 120 "$REPRISE" diff "$tmp/rd.jsonl.gz" --html "$tmp/diff.html" --no-color >"$tmp/dout" 2>&1) && code=0 || code=$?
check "diff --html of the drifted run exits 1 (exit $code)" test "$code" -eq 1

# A hostile live body: the results file's first failing response replaced by markup.
hostile='</script><img src=x onerror="window.pwned=1"><script>window.pwned=2</script><b id="bold">x</b>'
zcat "$tmp/rd.jsonl.gz" | jq -c --arg h "$hostile" \
    'if (.check.outcome? == "fail") and (.seq == 6) then .response.body = $h else . end' |
    gzip -c >"$tmp/hostile.jsonl.gz"
run diff "$tmp/hostile.jsonl.gz" --html "$tmp/hostile.html" --no-color
check "diff --html of the hostile results exits 1 (exit $code)" test "$code" -eq 1

check "the report's script parses (node --check)" node --check "$src/src/report/html.js"
for f in pass drift retry diff hostile; do
    check "$f: no secret value in the report" bash -c "! grep -qF '$REPRISE_SECRET_PASSWORD' '$tmp/$f.html'"
    check "$f: the session cookie only as a placeholder" bash -c "! grep -oE 'demo_session=[^;&\\\\ ]{4}' '$tmp/$f.html' | grep -vqxF 'demo_session={{se'"
    check "$f: one script element" test "$(grep -o '<script' "$tmp/$f.html" | wc -l)" -eq 1
    check "$f: no URL to fetch (src=, href=http, url())" bash -c "! grep -qiE '(src|href)=\"(https?:)?//|url\\(' '$tmp/$f.html'"
done
check "hostile: the markup is escaped in the file" grep -qF '&lt;/script&gt;&lt;img src=x onerror=' "$tmp/hostile.html"

# ----- the browser -------------------------------------------------------------------------
if ! wd_start "$tmp/chromedriver.log" "$tmp/home"; then
    bad "chromedriver starts (tools/install-deps.sh installs chromium and chromium-driver)"
    echo "$pass passed, $fail failed"
    exit 1
fi
# Every host name resolves to nothing, so nothing could leave the machine even if the page
# asked; the page's own Content-Security-Policy already forbids it, and the checks below see it.
caps=$(jq -n --arg bin "$WD_CHROMIUM" --arg prof "$tmp/profile" '{capabilities: {alwaysMatch: {
    browserName: "chrome", pageLoadStrategy: "normal", "goog:loggingPrefs": {browser: "ALL"},
    timeouts: {pageLoad: 60000, script: 60000, implicit: 0},
    "goog:chromeOptions": {binary: $bin, args: ["--headless=new", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND", ("--user-data-dir=" + $prof)]}}}}')
value=$(wd_call POST /session "$caps") || { bad "a browser session starts"; echo "$pass passed, $fail failed"; exit 1; }
WD_SID=$(jq -r .sessionId <<<"$value")

# The browser's console since the last call: the SEVERE entries (errors, CSP violations,
# uncaught exceptions, failed loads), one a line.
severe() { wd_call POST "/session/$WD_SID/se/log" '{"type":"browser"}' | jq -r '.[] | select(.level == "SEVERE") | .message'; }
dom() { wd_js "$1" | jq -r .; }

# Opens the report and checks what every report must hold: no error, no request, the counts.
open_report() { # NAME STEPS SESSIONS
    local name=$1 steps=$2 sessions=$3 errs
    wd_get "file://$tmp/$name.html"
    check "$name: loads" wd_wait 'document.readyState === "complete"' 30
    errs=$(severe)
    check "$name: no console or page error${errs:+ ($errs)}" test -z "$errs"
    check "$name: no request but the file itself" test "$(dom 'return performance.getEntriesByType("resource").length')" = 0
    local k got
    got=$(dom 'const k = n => document.querySelector(`[data-k="${n}"]`).textContent;
        return [k("steps.passed"), k("steps.failed"), k("steps.unsafe"), k("steps.errors"), k("steps.skipped")].join(" ")')
    check "$name: the summary's step counts are the run's ($got = $steps)" test "$got" = "$steps"
    got=$(dom 'const k = n => document.querySelector(`[data-k="${n}"]`).textContent;
        return [k("sessions.passed"), k("sessions.flaky"), k("sessions.failed"), k("sessions.infra")].join(" ")')
    check "$name: the summary's session counts are the run's ($got = $sessions)" test "$got" = "$sessions"
    check "$name: the summary is shown first" test "$(dom 'return document.getElementById("summary").getBoundingClientRect().top < document.getElementById("sessions").getBoundingClientRect().top')" = true
}

open_report pass "$pass_steps" "$pass_sessions"
check "pass: the verdict reads passed" test "$(dom 'return document.getElementById("verdict").textContent')" = passed
check "pass: a waterfall row per step (9)" test "$(dom 'return document.querySelectorAll(".wf-row").length')" = 9
check "pass: each step has a bar on the time axis" test "$(dom 'return document.querySelectorAll(".wf-row .wf-live").length')" = 9

open_report drift "$drift_steps" "$drift_sessions"
bars=$(dom 'return [...document.querySelectorAll(".wf-row")].map(r => r.outerHTML.replace(/ href="[^"]*"/, "")).join("\n")')
check "drift: the verdict reads failed" test "$(dom 'return document.getElementById("verdict").textContent')" = failed
check "drift: failed steps are marked in the waterfall" test "$(dom 'return document.querySelectorAll(".wf-row.o-fail").length')" = "$(cut -d' ' -f2 <<<"$drift_steps")"
row=$(dom 'const tr = [...document.querySelectorAll("details.step[open] table.mm tr")].find(r => r.cells[0].textContent === "$.items[0].price");
    return tr ? tr.cells[2].textContent + "|" + tr.cells[3].textContent : "none"')
check "drift: a failure shows the recorded and the live value ($row)" test "$row" = '2.5|"2.50"'
check "drift: the mismatched value is marked in both bodies" test "$(dom 'return document.querySelector("details.step[open] .pair").querySelectorAll("mark").length')" -ge 4
# The copy button: the clipboard (a real click is a user gesture) or the text area's selection.
wd_click 'details.step[open] .curl button.copy'
check "drift: the copy button answers" wd_wait 'document.querySelector("details.step[open] .curl button.copy").hasAttribute("data-copied")' 20
how=$(dom 'return document.querySelector("details.step[open] .curl button.copy").getAttribute("data-copied")')
check "drift: the command was copied or selected ($how)" grep -qxE 'clipboard|execCommand|selected' <<<"$how"
cmd=$(dom 'return document.querySelector("details.step[open] .curl textarea").value')
check "drift: the command is a curl of the failed step" grep -qE "^curl .*'POST' '$drift/t/acme-[a-z0-9]+-1/api/orders'" <<<"$cmd"
errs=$(severe)
check "drift: no error after the click${errs:+ ($errs)}" test -z "$errs"
# The screenshot: the summary, the waterfall and the first failures (the page, at most 2400 px).
height=$(dom 'return Math.min(2400, document.documentElement.scrollHeight)')
wd_call POST "/session/$WD_SID/window/rect" "{\"width\": 1280, \"height\": $height}" >/dev/null || true
dom 'window.scrollTo(0, 0); return true' >/dev/null # the click scrolled to its button
wd_call GET "/session/$WD_SID/screenshot" | jq -r . | base64 -d >"$tmp/shot.png"
check "drift: a screenshot is taken" test -s "$tmp/shot.png"
cp "$tmp/shot.png" "$shot" && echo "# screenshot of the drifted report: $shot"

open_report retry "$retry_steps" "$retry_sessions"
check "retry: the verdict reads flaky" test "$(dom 'return document.getElementById("verdict").textContent')" = flaky
check "retry: the flaky session shows its two attempts" test "$(dom 'return [...document.querySelectorAll("section[data-verdict=flaky] .wf-attempt")].map(e => e.textContent).join(",")')" = "attempt 1 of 2,attempt 2 of 2"
check "retry: the flaky session says 2 attempts" grep -qF '2 attempts' <<<"$(dom 'return document.querySelector("section[data-verdict=flaky] h3").textContent')"
check "retry: the slow count is the run's ($retry_slow)" test "$(dom 'return document.querySelector("[data-k=\"steps.slow\"]").textContent')" = "$retry_slow"
check "retry: the slow steps are listed and marked" test "$(dom 'return document.querySelectorAll("#slow-steps li").length + "," + document.querySelectorAll(".wf-row.slow").length')" = "$retry_slow,$retry_slow"
check "retry: the failed attempt's 500 is shown" test "$(dom 'return document.querySelectorAll("section[data-verdict=flaky] details.step.o-fail[open]").length')" -ge 1

open_report diff "$drift_steps" "$drift_sessions"
row=$(dom 'const tr = [...document.querySelectorAll("details.step[open] table.mm tr")].find(r => r.cells[0].textContent === "$.items[0].price");
    return tr ? tr.cells[2].textContent + "|" + tr.cells[3].textContent : "none"')
check "diff: the recording is read for the recorded value ($row)" test "$row" = '2.5|"2.50"'
check "diff: the waterfall is the live report's, bar for bar" test "$(dom 'return [...document.querySelectorAll(".wf-row")].map(r => r.outerHTML.replace(/ href="[^"]*"/, "")).join("\n")')" = "$bars"
check "diff: every step is in the waterfall (9)" test "$(dom 'return document.querySelectorAll(".wf-row").length')" = 9

wd_get "file://$tmp/hostile.html"
check "hostile: loads" wd_wait 'document.readyState === "complete"' 30
check "hostile: no image and no injected script or element" test "$(dom 'return document.querySelectorAll("img").length + document.querySelectorAll("script").length + (document.getElementById("bold") ? 1 : 0)')" = 1
check "hostile: no injected code ran" test "$(dom 'return String(window.pwned)')" = undefined
check "hostile: the markup shows as text" test "$(dom 'return [...document.querySelectorAll("pre")].some(p => p.textContent.includes("<img src=x onerror="))')" = true
errs=$(severe | grep -v 'favicon' || true)
check "hostile: no console or page error${errs:+ ($errs)}" test -z "$errs"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
