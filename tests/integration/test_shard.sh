#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shards and reprise merge (issue 14, item 4), checked by the demo shop's own state (/__state).
#
# Two recordings (a checkout with a GraphQL order, and a copy whose recorded product prices are
# strings, so every live answer drifts from it) replayed as 12 sessions (--sessions 6) with
# --retries 1, the shop failing session 5's product list once (flaky): once as one process, and
# once as four shard processes started together (--shard I/4, one --run-id) against a second
# shop, then merged. Both must agree: session names, per-session verdicts, step outcomes and
# counts, the JUnit testcase set (read with ElementTree); the merged results file reads in
# `reprise diff` as the run; the shop shows one GraphQL order per attempt, each in a tenant of
# its own, and no tenant used by two shards.
#
#   merge   one process against four shards merged; prints the comparison table
#   env     GitLab (1-based), CircleCI and Buildkite (0-based), Kubernetes --shards N, the run id
#           from GITHUB_RUN_ID: each runs shard 2 of 4, sessions 2, 6, 10, in the run's tenants
#   errors  usage errors (exit 2), a missing shard and an unfinished one (exit 4, reports
#           written), mismatched run ids, a shard twice and a session twice (exit 2)
#
#   test_shard.sh DEMO [merge|env|errors]
# ctest-parts: merge env errors
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
part=${2:-all}
case $part in merge|env|errors|all) ;; *) echo "$0: no part '$part'" >&2; exit 2 ;; esac
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tools/lib/check.sh"
source "$src/tools/lib/demo-app.sh"
source "$src/tools/lib/proxy.sh"
need curl jq python3 timeout
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
# The CI's own variables would pick a shard or a run id for every run below.
unset CI_NODE_INDEX CI_NODE_TOTAL CIRCLE_NODE_INDEX CIRCLE_NODE_TOTAL BUILDKITE_PARALLEL_JOB \
    BUILDKITE_PARALLEL_JOB_COUNT JOB_COMPLETION_INDEX REPRISE_RUN_ID GITHUB_RUN_ID \
    GITHUB_RUN_ATTEMPT CI_PIPELINE_ID CIRCLE_WORKFLOW_ID BUILDKITE_BUILD_ID

password=correct-horse-battery-staple
export REPRISE_SECRET_PASSWORD=$password
jar=$tmp/jar
c() { curl -sS --max-time 60 -b "$jar" -c "$jar" "$@"; }
json() { c -H 'Content-Type: application/json' "$@"; }
gql() { json -H "X-CSRF-Token: $csrf" -d "$2" "$1/t/$3/graphql"; } # URL BODY TENANT

# ----- the recordings: made once through `reprise record`, as test_retry.sh makes its own ------
demo_start "$DEMO_BIN" --first-id 3; pids+=("$DEMO_PID"); R=$DEMO_URL
A=$tmp/checkout.jsonl.gz
px_start "$tmp/px" --upstream "$R" -o "$A" --tenant acme --name shop-checkout
P=$PX_URL
s=$(json -o /dev/null -w '%{http_code}' -d "{\"tenant\":\"acme\",\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$P/api/signup")
check "recording: sign-up ($s)" test "$s" = 201
csrf=$(json -d "{\"tenant\":\"acme\",\"email\":\"owner@acme.test\",\"password\":\"$password\"}" "$P/api/login" | jq -r .csrf_token)
r=$(gql "$P" '{"query":"mutation { createOrder(input: {product: \"Espresso\", quantity: 2}) { id status } }"}' acme)
check "recording: createOrder gives order 3 ($r)" test "$(jq -r .data.createOrder.id <<<"$r")" = 3
s=$(c -o /dev/null -w '%{http_code}' "$P/t/acme/api/products")
check "recording: the product list ($s)" test "$s" = 200
r=$(gql "$P" '{"query":"mutation Pay($id: ID!) { payOrder(id: $id) { id status } }","variables":{"id":"3"},"operationName":"Pay"}' acme)
check "recording: payOrder pays it ($r)" test "$(jq -r .data.payOrder.status <<<"$r")" = PAID
px_stop INT
demo_stop
# The drifted copy: its recorded prices are strings, so the live numbers fail every session's
# product list (the step and session go on: a shape failure does not stop a session).
B=$tmp/drifted.jsonl.gz
# (sed reads to the end: head would leave zcat a SIGPIPE, which pipefail makes an exit)
{ zcat "$A" | sed -n 1p | jq -c '.name = "shop-drifted"'
  zcat "$A" | tail -n +2 | jq -c 'if ((.request.url // "") | endswith("/api/products")) then .response.body |= gsub("\"price\":(?<p>[0-9.]+)"; "\"price\":\"\(.p)\"") else . end'
} | gzip -c >"$B"
prices=$(zcat "$B" | jq -r 'select((.request.url // "") | endswith("/api/products")) | .response.body' | jq -r '[.products[].price | type] | unique | join(",")')
check "recording: the drifted copy's prices are strings ($prices)" test "$prices" = string

RUN=s14
run() { code=0; timeout 300 "$REPRISE" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?; }
replay() { timeout 300 "$REPRISE" replay "$A" "$B" --sessions 6 --retries 1 --const 1 --no-color "$@"; }
tenants() { sed -nE 's/.*: tenant acme -> (acme-[a-z0-9-]+)$/\1/p' "$@" | sort; }
# The shop's GraphQL orders as "TENANT STATUS" lines, sorted.
orders() { demo_state "$1" | jq -r '.objects[] | select(.kind=="order") | "\(.tenant) \(.status)"' | sort; }
# The JUnit file as ElementTree reads it: per session its testcases' names and outcome tags.
junit_sessions() {
    python3 - "$1" <<'PY'
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
out = {}
for s in root.iter("testsuite"):
    out.setdefault(s.get("name"), []).extend(
        [c.get("classname") + "|" + c.get("name") + "|" +
         ",".join(k.tag for k in c if k.tag not in ("system-out", "system-err"))
         for c in s.findall("testcase")])
print(json.dumps({k: sorted(v) for k, v in sorted(out.items())}, sort_keys=True))
PY
}
summary() { grep -E '^[0-9]+ passed, ' "$1" | sed -E 's/ in [0-9.]+ s;.*//'; }
# The HTML report's counts (data-k cells but the latency's) and its sessions with their verdicts,
# one a line, sorted: what two reports of one run must agree on.
html_facts() {
    python3 - "$1" <<'PY'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.out = []; self.key = None; self.sess = None; self.h3 = False
        self.span = 0  # the h3's badge and timings are spans: its own text is the name
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("data-k") and a["data-k"] not in ("p50", "p95", "max"):
            self.key = a["data-k"]
        if tag == "section" and "session" in (a.get("class") or "").split():
            self.sess = [a.get("data-verdict"), ""]
        if tag == "h3" and self.sess:
            self.h3 = True
        if tag == "span" and self.h3:
            self.span += 1
    def handle_endtag(self, tag):
        if tag == "span" and self.h3:
            self.span -= 1
        if tag == "h3" and self.sess and self.h3:
            self.h3 = False
            self.out.append("session %s %s" % (self.sess[1].strip(), self.sess[0]))
            self.sess = None
    def handle_data(self, d):
        if self.key:
            self.out.append("%s=%s" % (self.key, d.strip())); self.key = None
        elif self.h3 and self.sess is not None and not self.span:
            self.sess[1] += d
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
print("\n".join(sorted(p.out)))
PY
}
sessions_line() { grep -E '^sessions: ' "$1"; }

shards4() { # URL RUNID OUTPREFIX: the four shards, started together, each its own files
    local url=$1 id=$2 o=$3 i sp=()
    for i in 1 2 3 4; do
        replay --target "$url" --run-id "$id" --shard "$i/4" --results "$o$i.jsonl.gz" \
            --junit "$o$i.xml" >"$o$i.out" 2>"$o$i.err" &
        sp+=($!)
    done
    shard_codes=()
    for i in 0 1 2 3; do
        local rc=0
        wait "${sp[$i]}" || rc=$?
        shard_codes+=("$rc")
    done
}

# ----- merge: one process and four shards agree ----------------------------------------------
if [ "$part" = merge ] || [ "$part" = all ]; then
    demo_start "$DEMO_BIN" --first-id 3 --fail-once "/t/acme-$RUN-5/api/products"; pids+=("$DEMO_PID"); one_url=$DEMO_URL
    code=0
    replay --target "$one_url" --run-id "$RUN" --results "$tmp/one.jsonl.gz" --junit "$tmp/one.xml" --html "$tmp/one.html" >"$tmp/one.out" 2>"$tmp/one.err" || code=$?
    check "one process: a drifted session fails (exit $code)" test "$code" -eq 1
    demo_start "$DEMO_BIN" --first-id 3 --fail-once "/t/acme-$RUN-5/api/products"; pids+=("$DEMO_PID"); sh_url=$DEMO_URL
    shards4 "$sh_url" "$RUN" "$tmp/s"
    check "four shards: exits ${shard_codes[*]} (shard 1 and 3 run the checkout only, 2 and 4 the drifted copy)" \
        test "${shard_codes[*]}" = "0 1 0 1"
    check "shard 2 says what it runs" grep -qF "shard 2/4 (--shard): sessions 2, 6, 10 (3 of 12), run id $RUN" "$tmp/s2.err"
    for i in 1 2 3 4; do
        check "shard $i's results header names the run, the shard and the run's sessions" \
            test "$(zcat "$tmp/s$i.jsonl.gz" | head -n1 | jq -c '[.run, .shard.index, .shard.count, .sessions]')" = "[\"$RUN\",$((i - 1)),4,12]"
    done
    code=0
    "$REPRISE" merge "$tmp"/s[1-4].jsonl.gz --junit "$tmp/m.xml" --results "$tmp/m.jsonl.gz" --html "$tmp/m.html" --no-color >"$tmp/m.out" 2>"$tmp/m.err" || code=$?
    check "merge: exit 1, as the one process ($code)" test "$code" -eq 1

    # Sessions, tenants and what the shops did.
    tenants "$tmp/one.err" >"$tmp/t.one"
    tenants "$tmp"/s[1-4].err >"$tmp/t.shards"
    check "19 attempts in one process: 12 sessions, 6 drifted retries, 1 flaky retry ($(wc -l <"$tmp/t.one"))" test "$(wc -l <"$tmp/t.one")" -eq 19
    check "the shards used the one process's tenants, by name" cmp -s "$tmp/t.one" "$tmp/t.shards"
    check "no tenant in two shards" test "$(sort -u "$tmp/t.shards" | wc -l)" -eq 19
    check "session 5's retry ran in shard 1, its shard" grep -q "acme-$RUN-5-r1\$" "$tmp/s1.err"
    orders "$one_url" >"$tmp/o.one"
    orders "$sh_url" >"$tmp/o.shards"
    check "one process's shop: one paid order per attempt, in its tenant" test "$(awk '{print $1}' "$tmp/o.one" | sort -u)" = "$(cat "$tmp/t.one")"
    check "the sharded shop: one order per tenant, each tenant once ($(wc -l <"$tmp/o.shards") orders)" \
        test "$(awk '{print $1}' "$tmp/o.shards")" = "$(cat "$tmp/t.shards")"
    check "both shops hold the same orders, all paid" cmp -s "$tmp/o.one" "$tmp/o.shards"
    check "every order paid" test "$(awk '{print $2}' "$tmp/o.shards" | sort -u)" = paid

    # Verdicts, steps, JUnit.
    junit_sessions "$tmp/one.xml" >"$tmp/j.one"
    junit_sessions "$tmp/m.xml" >"$tmp/j.merged"
    check "JUnit: the same 12 sessions" test "$(jq -c keys "$tmp/j.one")" = "$(jq -c keys "$tmp/j.merged")"
    check "JUnit: the same testcases and outcomes per session" cmp -s "$tmp/j.one" "$tmp/j.merged"
    check "JUnit: session 5 is flaky in both" test "$(jq -r '.["shop-checkout#5"] | map(select(test("flaky"))) | length' "$tmp/j.merged")" -ge 1
    check "the same step counts ($(summary "$tmp/m.out"))" test "$(summary "$tmp/one.out")" = "$(summary "$tmp/m.out")"
    check "the same session verdicts ($(sessions_line "$tmp/m.out"))" test "$(sessions_line "$tmp/one.out")" = "$(sessions_line "$tmp/m.out")"
    html_facts "$tmp/one.html" >"$tmp/h.one"
    html_facts "$tmp/m.html" >"$tmp/h.merged"
    check "HTML: the merged report has the 12 sessions ($(grep -c '^session ' "$tmp/h.merged"))" \
        test "$(grep -c '^session ' "$tmp/h.merged")" -eq 12
    check "HTML: the merged report's sessions, verdicts and counts are the one process's" \
        cmp -s "$tmp/h.one" "$tmp/h.merged"
    check "merge prints p50, p95, p99 and max" grep -qE 'latency p50 [0-9.]+ ms, p95 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms' "$tmp/m.out"
    code=0
    "$REPRISE" diff "$tmp/m.jsonl.gz" --no-color >"$tmp/d.out" 2>&1 || code=$?
    check "diff reads the merged results as the run (exit $code)" test "$code" -eq 1
    check "diff of the merged results: the same counts" test "$(summary "$tmp/one.out")" = "$(summary "$tmp/d.out")"
    check "diff of the merged results: the same sessions" test "$(sessions_line "$tmp/one.out")" = "$(sessions_line "$tmp/d.out")"
    check "the merged results file is one run's: no shard, the run's id and sessions" \
        test "$(zcat "$tmp/m.jsonl.gz" | head -n1 | jq -c '[.run, .shard, .sessions]')" = "[\"$RUN\",null,12]"

    # The table for the note: one process against the four shards merged.
    steps() { summary "$1"; }
    echo "# shard merge: one process vs four shards merged (12 sessions, --retries 1)"
    printf '#   %-22s %-34s %s\n' "run" "sessions (pass/flaky/fail/infra)" "steps, every attempt"
    for w in one m; do
        name=$([ $w = one ] && echo "one process" || echo "4 shards, merged")
        printf '#   %-22s %-34s %s\n' "$name" "$(sessions_line "$tmp/$w.out" | sed -E 's/sessions: ([0-9]+) passed, ([0-9]+) flaky, ([0-9]+) failed, ([0-9]+) infrastructure/\1\/\2\/\3\/\4/')" "$(steps "$tmp/$w.out")"
    done
    for i in 1 2 3 4; do
        printf '#   %-22s %-34s %s\n' "  shard $i/4" "$(sessions_line "$tmp/s$i.out" | sed -E 's/sessions: ([0-9]+) passed, ([0-9]+) flaky, ([0-9]+) failed, ([0-9]+) infrastructure/\1\/\2\/\3\/\4/')" "$(steps "$tmp/s$i.out")"
    done
    printf '#   testcases: %s one process, %s merged; latency (merged): %s\n' \
        "$(grep -c '<testcase ' "$tmp/one.xml")" "$(grep -c '<testcase ' "$tmp/m.xml")" \
        "$(grep -oE 'latency p50 .*' "$tmp/m.out")"
    demo_stop
fi

# ----- env: each CI's variables pick shard 2 of 4 --------------------------------------------
if [ "$part" = env ] || [ "$part" = all ]; then
    demo_start "$DEMO_BIN" --first-id 3; pids+=("$DEMO_PID"); env_url=$DEMO_URL
    k=0
    while IFS='|' read -r what vars flags; do
        k=$((k + 1))
        id=env$k
        code=0
        # shellcheck disable=SC2086
        env $vars REPRISE_RUN_ID=$id timeout 300 "$REPRISE" replay "$A" "$B" --sessions 6 --const 1 --no-color \
            --target "$env_url" --results "$tmp/e$k.jsonl.gz" $flags >"$tmp/e$k.out" 2>"$tmp/e$k.err" || code=$?
        check "$what: shard 2/4 runs (exit $code: the drifted copy fails)" test "$code" -eq 1
        check "$what: says so" grep -qF "sessions 2, 6, 10 (3 of 12), run id $id" "$tmp/e$k.err"
        check "$what: tenants of sessions 2, 6, 10 ($(tenants "$tmp/e$k.err" | paste -sd,))" \
            test "$(tenants "$tmp/e$k.err" | paste -sd,)" = "acme-$id-10,acme-$id-2,acme-$id-6"
        check "$what: the shop has their orders, and only theirs" \
            test "$(orders "$env_url" | awk -v id="acme-$id-" 'index($1, id) == 1 {print $1}' | paste -sd,)" = "acme-$id-10,acme-$id-2,acme-$id-6"
        check "$what: the results header says shard 2 of 4" \
            test "$(zcat "$tmp/e$k.jsonl.gz" | head -n1 | jq -c '.shard')" = '{"index":1,"count":4}'
    done <<'EOF'
GitLab CI_NODE_INDEX=2 (1-based)|CI_NODE_INDEX=2 CI_NODE_TOTAL=4|
CircleCI CIRCLE_NODE_INDEX=1 (0-based)|CIRCLE_NODE_INDEX=1 CIRCLE_NODE_TOTAL=4|
Buildkite BUILDKITE_PARALLEL_JOB=1 (0-based)|BUILDKITE_PARALLEL_JOB=1 BUILDKITE_PARALLEL_JOB_COUNT=4|
Kubernetes JOB_COMPLETION_INDEX=1 --shards 4|JOB_COMPLETION_INDEX=1|--shards 4
--shard 2/4 wins over CI_NODE_INDEX=4|CI_NODE_INDEX=4 CI_NODE_TOTAL=4|--shard 2/4
EOF
    # The run id from GitHub's run, when no other is given.
    code=0
    env CI_NODE_INDEX=2 CI_NODE_TOTAL=4 GITHUB_RUN_ID=777 GITHUB_RUN_ATTEMPT=2 timeout 300 "$REPRISE" replay "$A" --const 1 \
        --target "$env_url" --dry-run >"$tmp/gh.out" 2>"$tmp/gh.err" || code=$?
    check "GitHub: the run id is gh-RUN_ID-ATTEMPT (exit $code)" grep -qF "run id gh-777-2" "$tmp/gh.err"

    # A re-run shard (a Kubernetes index tried again, a retried CI job) has its first try's
    # session numbers: --tenant-template names the try, so it never writes into that try's tenants.
    for try in 0 1; do
        code=0
        env REPRISE_INDEX_TRY=$try timeout 300 "$REPRISE" replay "$A" --sessions 4 --const 1 --no-color \
            --target "$env_url" --shard 2/2 --run-id tt --tenant-template '{tenant}-{run}-{session}-a{env:REPRISE_INDEX_TRY}' \
            >"$tmp/tt$try.out" 2>"$tmp/tt$try.err" || code=$?
        check "--tenant-template, try $try: passes (exit $code)" test "$code" -eq 0
        check "--tenant-template, try $try: sessions 2 and 4 in tenants of this try ($(tenants "$tmp/tt$try.err" | paste -sd,))" \
            test "$(tenants "$tmp/tt$try.err" | paste -sd,)" = "acme-tt-2-a$try,acme-tt-4-a$try"
    done
    check "--tenant-template: the shop holds one paid order in each try's tenants, four in all" \
        test "$(orders "$env_url" | awk 'index($1, "acme-tt-") == 1' | paste -sd,)" = "acme-tt-2-a0 paid,acme-tt-2-a1 paid,acme-tt-4-a0 paid,acme-tt-4-a1 paid"
    run replay "$A" --const 1 --target "$env_url" --tenant-template '{tenant}-{run}' --tenant acme=x-{session}
    check "--tenant-template with --tenant: exit 2 ($code)" test "$code" -eq 2
    check "--tenant-template with --tenant: says why" grep -qF "the template of the recordings' own tenants" "$tmp/err"
    run replay "$A" --const 1 --target "$env_url" --tenant-template '{tenant}-{run}-fixed' --retries 1
    check "--tenant-template without {session}, with --retries: exit 2 ($code)" test "$code" -eq 2
    check "--tenant-template without {session}, with --retries: says why" grep -qF "a retry needs a new tenant" "$tmp/err"
    demo_stop
fi

# ----- errors: usage, missing and unfinished shards, what merge refuses -----------------------
if [ "$part" = errors ] || [ "$part" = all ]; then
    usage() { # WHAT MESSAGE ENV... -- ARGS...
        local what=$1 msg=$2
        shift 2
        local envs=()
        while [ "$1" != -- ]; do envs+=("$1"); shift; done
        shift
        code=0
        env "${envs[@]}" "$REPRISE" "$@" >"$tmp/u.out" 2>"$tmp/u.err" || code=$?
        check "$what: exit 2 ($code: $(head -n1 "$tmp/u.err"))" test "$code" -eq 2
        check "$what: says '$msg'" grep -qF -- "$msg" "$tmp/u.err"
    }
    T=--target=http://127.0.0.1:9
    usage "--shard 0/4" "--shard wants I/N with 1 <= I <= N <= 10000, got '0/4'" -- replay "$A" $T --run-id x --shard 0/4
    usage "--shard 5/4" "got '5/4'" -- replay "$A" $T --run-id x --shard 5/4
    usage "--shard 1/10001" "got '1/10001'" -- replay "$A" $T --run-id x --shard 1/10001
    usage "--shard and --shards" "--shard I/N and --shards N: give one" -- replay "$A" $T --run-id x --shard 1/2 --shards 2
    usage "--shards without JOB_COMPLETION_INDEX" "JOB_COMPLETION_INDEX, which is not set" -- replay "$A" $T --run-id x --shards 4
    usage "JOB_COMPLETION_INDEX out of range" "JOB_COMPLETION_INDEX=4: want 0 to 3 for --shards 4" JOB_COMPLETION_INDEX=4 -- replay "$A" $T --run-id x --shards 4
    usage "GitLab index 0" "CI_NODE_INDEX=0 (GitLab, 1-based): want 1 to 4" CI_NODE_INDEX=0 CI_NODE_TOTAL=4 -- replay "$A" $T --run-id x
    usage "CircleCI index past the total" "CIRCLE_NODE_INDEX=4 (CircleCI, 0-based): want 0 to 3" CIRCLE_NODE_INDEX=4 CIRCLE_NODE_TOTAL=4 -- replay "$A" $T --run-id x
    usage "Buildkite count not a number" "BUILDKITE_PARALLEL_JOB_COUNT=four" BUILDKITE_PARALLEL_JOB=1 BUILDKITE_PARALLEL_JOB_COUNT=four -- replay "$A" $T --run-id x
    usage "a sharded run without a run id" "a sharded run needs a run id every shard shares: --run-id ID" -- replay "$A" $T --shard 1/2
    usage "a run id that cannot be one" "run id 'a b'" -- replay "$A" $T --shard 1/2 --run-id "a b"
    usage "merge without files" "missing RESULTS" -- merge

    demo_start "$DEMO_BIN" --first-id 3; pids+=("$DEMO_PID"); e_url=$DEMO_URL
    shards4 "$e_url" r1 "$tmp/a"
    check "run r1: four shards ran (${shard_codes[*]})" test "${shard_codes[*]}" = "0 1 0 1"
    # A missing shard: the reports are written, the run is unfinished.
    code=0
    "$REPRISE" merge "$tmp/a1.jsonl.gz" "$tmp/a2.jsonl.gz" "$tmp/a4.jsonl.gz" --junit "$tmp/miss.xml" --results "$tmp/miss.jsonl.gz" --no-color >"$tmp/miss.out" 2>"$tmp/miss.err" || code=$?
    check "a missing shard: exit 4 ($code)" test "$code" -eq 4
    check "a missing shard: named" grep -qF "shard 3 of 4 missing (no results file)" "$tmp/miss.err"
    want=$(cat "$tmp/a1.xml" "$tmp/a2.xml" "$tmp/a4.xml" | grep -c '<testcase ')
    check "a missing shard: the JUnit of the others is written ($want testcases)" test "$(grep -c '<testcase ' "$tmp/miss.xml")" -eq "$want"
    code=0
    "$REPRISE" diff "$tmp/miss.jsonl.gz" --no-color >/dev/null 2>&1 || code=$?
    check "a missing shard: the merged results are of an unfinished run for diff too (exit $code)" test "$code" -eq 4
    # An unfinished shard: its file lost its end record (killed).
    zcat "$tmp/a2.jsonl.gz" | head -n -1 | gzip -c >"$tmp/killed.jsonl.gz"
    code=0
    "$REPRISE" merge "$tmp/a1.jsonl.gz" "$tmp/killed.jsonl.gz" "$tmp/a3.jsonl.gz" "$tmp/a4.jsonl.gz" --no-color >"$tmp/k.out" 2>"$tmp/k.err" || code=$?
    check "an unfinished shard: exit 4 ($code)" test "$code" -eq 4
    check "an unfinished shard: named" grep -qF "killed.jsonl.gz: killed or still running (no end record)" "$tmp/k.err"
    # More shards than sessions: the empty shards write their reports, and the merge is whole.
    for i in 1 2 3 4; do
        code=0
        timeout 300 "$REPRISE" replay "$A" "$B" --const 1 --no-color --target "$e_url" --run-id few --shard "$i/4" \
            --results "$tmp/f$i.jsonl.gz" >"$tmp/f$i.out" 2>"$tmp/f$i.err" || code=$?
        check "2 sessions, shard $i/4: exit $code" test "$code" -eq "$([ "$i" = 2 ] && echo 1 || echo 0)"
    done
    check "an empty shard says so" grep -qF "shard 4/4 (--shard): sessions none (0 of 2), run id few" "$tmp/f4.err"
    check "an empty shard writes its results file, header and end record" \
        test "$(zcat "$tmp/f4.jsonl.gz" | wc -l)" -eq 2
    code=0
    "$REPRISE" merge "$tmp"/f[1-4].jsonl.gz --no-color >"$tmp/few.out" 2>"$tmp/few.err" || code=$?
    check "2 sessions over 4 shards merge whole (exit $code: session 2 is drifted)" test "$code" -eq 1
    check "2 sessions over 4 shards: both judged" grep -qF "sessions: 1 passed, 0 flaky, 1 failed, 0 infrastructure" "$tmp/few.out"
    # Another run's shard.
    shards4 "$e_url" r2 "$tmp/b"
    usage "merge of two runs" "b3.jsonl.gz of run r2: not one run (--any-run merges them anyway)" -- merge "$tmp/a1.jsonl.gz" "$tmp/a2.jsonl.gz" "$tmp/b3.jsonl.gz" "$tmp/a4.jsonl.gz" --junit "$tmp/never.xml"
    check "merge of two runs: nothing written" test ! -e "$tmp/never.xml"
    code=0
    timeout 300 "$REPRISE" replay "$A" "$B" --sessions 3 --const 1 --no-color --target "$e_url" --run-id r1 --shard 3/4 \
        --results "$tmp/other3.jsonl.gz" >/dev/null 2>&1 || code=$?
    check "a shard of run r1 with --sessions 3 wrote its results (exit $code)" test -s "$tmp/other3.jsonl.gz"
    usage "one run id, two session counts" "of a run of 12 sessions," -- merge "$tmp/a1.jsonl.gz" "$tmp/a2.jsonl.gz" "$tmp/other3.jsonl.gz" "$tmp/a4.jsonl.gz"
    usage "a shard twice" "are both shard 2/4 of run r1" -- merge "$tmp/a1.jsonl.gz" "$tmp/a2.jsonl.gz" "$tmp/a2.jsonl.gz" "$tmp/a4.jsonl.gz"
    usage "a session in two files (two runs' shard 1, --any-run)" "session shop-checkout#1 is in" -- merge --any-run "$tmp/a1.jsonl.gz" "$tmp/b1.jsonl.gz"
    code=0
    "$REPRISE" merge --any-run "$tmp/a1.jsonl.gz" "$tmp/b2.jsonl.gz" --results "$tmp/any.jsonl.gz" --no-color >"$tmp/any.out" 2>&1 || code=$?
    check "--any-run merges two runs' different sessions (exit $code: b2 is drifted)" test "$code" -eq 1
    check "--any-run: the merged run id is 'merged'" test "$(zcat "$tmp/any.jsonl.gz" | head -n1 | jq -r .run)" = merged
    demo_stop
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
