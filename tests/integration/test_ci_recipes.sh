#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The CI recipes of ci-recipes/ (docs/ci.md), in five parts:
#   lint      each recipe passes its linter (tests/ci-lint: action-validator, CircleCI's config
#             parser, gitlab-ci-local; shellcheck for the hooks and every recipe's shell
#             steps), and a broken copy of each fails it; CircleCI's workflow
#             runs only with a target, GitLab's jobs only on a trigger, the API, the web form or
#             a push to the default branch, GitHub's only for a successful deployment or by hand
#   hooks     the trigger path: circleci/deploy-hook.sh and github/dispatch-hook.sh against a
#             local receiver standing in for the CI's API: method, path, headers, JSON body as
#             the API documents them; an HTTP error or a refused port exits non-zero with one
#             line; the token is in no output and on no command line
#   github, circleci, gitlab
#             the recipe's own commands (tests/integration/ci_run.py runs them as the CI would,
#             with its environment, and the build tree's reprise on PATH for the install step)
#             against the demo shop: four shards and a merge give one JUnit report of every
#             session's steps, an HTML report, a chat notice at a local receiver, and the shop
#             holds each session's tenant, named from the CI's run, with its paid order
# ctest-parts: lint hooks github circleci gitlab
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
part=${2:-all}
case $part in lint|hooks|github|circleci|gitlab|all) ;; *) echo "$0: no part '$part'" >&2; exit 2 ;; esac
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
recipes=$src/ci-recipes
lintdir=$src/tests/ci-lint
ci_run="$src/tests/integration/ci_run.py"
source "$src/tools/lib/check.sh"
source "$src/tools/lib/demo-app.sh"
need curl jq xmllint python3 git node
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed (tools/install-deps.sh)"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# A receiver standing in for an API or a chat webhook: answers STATUS [ANSWER]; sets HOOK_URL
# (never empty: a hook with an empty API base would go to the real API), its requests in
# $tmp/DIR/N.json.
hook_start() { # DIR STATUS [ANSWER]
    local dir=$1; shift
    mkdir -p "$tmp/$dir"
    python3 "$src/tests/integration/webhook.py" "$tmp/$dir" "$@" >"$tmp/$dir.url" &
    pids+=("$!")
    HOOK_PID=$!
    wait_for 30 test -s "$tmp/$dir.url" || { bad "the receiver started"; exit 1; }
    HOOK_URL=$(head -n1 "$tmp/$dir.url")
    case $HOOK_URL in http://127.0.0.1:*) ;; *) bad "the receiver is on loopback ($HOOK_URL)"; exit 1 ;; esac
}
hook_stop() { kill "$HOOK_PID"; wait "$HOOK_PID" 2>/dev/null || true; }

# A command that must fail (its output dropped).
fails() { ! "$@" >/dev/null 2>&1; }

# ------------------------------------------------------------------------------------ lint
lint() {
    need shellcheck
    local av=$lintdir/node_modules/.bin/action-validator
    local gcl=$lintdir/node_modules/.bin/gitlab-ci-local
    [ -x "$av" ] && [ -x "$gcl" ] && [ -d "$lintdir/node_modules/@circleci/circleci-config-parser" ] ||
        skip "the CI linters are not installed (tools/install-deps.sh: npm ci in tests/ci-lint)"

    # GitHub Actions: action-validator holds the workflow against GitHub's schema.
    local wf=$recipes/github/reprise.yml
    check "github: action-validator passes reprise.yml" "$av" "$wf"
    broken() { sed "$1" "$wf" >"$tmp/broken.yml"; fails "$av" "$tmp/broken.yml"; }
    check "github: a step list misspelt fails it" broken 's/^    steps:/    stepz:/'
    check "github: an unknown event fails it" broken 's/^  deployment_status:/  deployment_statuz:/'
    check "github: a bad permission fails it" broken 's/^  contents: read/  contents: maybe/'

    # CircleCI: its config parser resolves every job, command and parameter.
    local cc=$recipes/circleci/config.yml
    check "circleci: the config parser passes config.yml" node "$lintdir/circleci-lint.js" "$cc"
    cbroken() { sed "$1" "$cc" >"$tmp/broken.yml"; fails node "$lintdir/circleci-lint.js" "$tmp/broken.yml"; }
    check "circleci: an unknown step fails it" cbroken 's/store_test_results:/store_test_resultz:/'
    check "circleci: a workflow naming a missing job fails it" cbroken 's/^      - replay:$/      - replayy:/'
    check "circleci: a run step without a command fails it" cbroken '0,/command: |/s//comand: |/'
    check "circleci: a job without an executor fails it" cbroken '0,/executor: ubuntu/s//executr: ubuntu/'
    # The parser does not read workflow-level when:, so its effect is checked here.
    check "circleci: a pipeline without a target (a push) runs no job" \
        test -z "$(python3 "$ci_run" circleci-workflows "$cc")"
    check "circleci: a pipeline with a target runs build, replay, report" \
        test "$(python3 "$ci_run" circleci-workflows "$cc" --param reprise-target=https://shop.example.test | paste -sd,)" = \
             "reprise build,reprise replay,reprise report"

    # GitLab: gitlab-ci-local --preview holds the pipeline, included as the README says, against
    # GitLab's schema and checks needs: and stages:.
    local repo=$tmp/gitlab-app
    mkdir -p "$repo/ci"
    git -C "$repo" init -q
    printf 'stages: [build, deploy]\ndeploy:\n  stage: deploy\n  script: [echo deployed]\ninclude:\n  - local: ci/reprise.gitlab-ci.yml\n' \
        >"$repo/.gitlab-ci.yml"
    glint() { # SED: the preview of the recipe after SED
        sed "$1" "$recipes/gitlab/reprise.gitlab-ci.yml" >"$repo/ci/reprise.gitlab-ci.yml"
        (cd "$repo" && HOME=$tmp timeout 120 "$gcl" --preview >"$tmp/gcl.out" 2>&1)
    }
    check "gitlab: gitlab-ci-local --preview passes reprise.gitlab-ci.yml" glint 's/^//'
    check "gitlab: the preview has the three jobs, replay 4 times in parallel" \
        python3 -c 'import sys, yaml
d = yaml.safe_load(sys.stdin.read().split("\n---\n", 1)[1])
assert d["reprise-replay"]["parallel"] == 4 and "reprise-report" in d and "reprise-build" in d' <"$tmp/gcl.out"
    check "gitlab: parallel: four fails it" fails glint 's/parallel: 4/parallel: four/'
    check "gitlab: needs: a missing job fails it" \
        fails glint 's/needs: \[reprise-build, reprise-replay\]/needs: [reprise-build, reprise-replayy]/'
    check "gitlab: an unknown report kind fails it" fails glint 's/junit: reprise.xml/junitt: reprise.xml/'
    rules() { env -i PATH="$PATH" "$@" python3 "$ci_run" gitlab-rules "$recipes/gitlab/reprise.gitlab-ci.yml" reprise-replay; }
    check "gitlab: a trigger runs it" test "$(rules CI_PIPELINE_SOURCE=trigger)" = run
    check "gitlab: the API runs it" test "$(rules CI_PIPELINE_SOURCE=api)" = run
    check "gitlab: the web form runs it" test "$(rules CI_PIPELINE_SOURCE=web)" = run
    check "gitlab: a push to the default branch runs it (after deploy)" \
        test "$(rules CI_PIPELINE_SOURCE=push CI_COMMIT_BRANCH=main CI_DEFAULT_BRANCH=main)" = run
    check "gitlab: a push to another branch does not" \
        test "$(rules CI_PIPELINE_SOURCE=push CI_COMMIT_BRANCH=feature CI_DEFAULT_BRANCH=main)" = never
    check "gitlab: a merge request does not" \
        test "$(rules CI_PIPELINE_SOURCE=merge_request_event CI_DEFAULT_BRANCH=main)" = never

    # GitHub: the jobs run for a successful deployment and by hand, not for a failed one.
    gif() { # EVENT_NAME EVENT_JSON
        printf '%s' "$2" >"$tmp/event.json"
        GITHUB_EVENT_NAME=$1 GITHUB_EVENT_PATH=$tmp/event.json python3 "$ci_run" github-if "$wf" build
    }
    check "github: a successful deployment runs it" \
        test "$(gif deployment_status '{"deployment_status":{"state":"success","environment_url":"https://x.test"}}')" = run
    check "github: a failed deployment does not" \
        test "$(gif deployment_status '{"deployment_status":{"state":"failure"}}')" = skip
    check "github: a deployment in progress does not" \
        test "$(gif deployment_status '{"deployment_status":{"state":"in_progress"}}')" = skip
    check "github: workflow_dispatch runs it" \
        test "$(gif workflow_dispatch '{"inputs":{"target":"https://x.test"}}')" = run
    check "github: secrets reach steps through env: only, never in a run: script" python3 -c '
import re, sys, yaml
def walk(x, key=None, in_env=False):
    if isinstance(x, dict):
        for k, v in x.items():
            walk(v, k, in_env or k == "env")
    elif isinstance(x, list):
        for v in x:
            walk(v)
    elif isinstance(x, str):
        assert not (key == "run" and "${{" in x), "an expression in a run: script"
        assert in_env or "secrets." not in x, f"secrets outside env: {x!r}"
walk(yaml.safe_load(open(sys.argv[1])))' "$wf"
    check "github: actions pinned to a major version at least" \
        bash -c "! grep -E 'uses: ' '$wf' | grep -vE 'uses: [a-z-]+/[a-z-]+@v[0-9]+'"
    check "the hooks are POSIX sh (sh -n, as dash reads them)" \
        bash -c "sh -n '$recipes/circleci/deploy-hook.sh' && sh -n '$recipes/github/dispatch-hook.sh'"

    # shellcheck: the hooks as POSIX sh, and every shell step of every recipe as bash (the
    # shell each CI runs them with).
    check "shellcheck passes the hooks (sh)" \
        shellcheck -s sh "$recipes/circleci/deploy-hook.sh" "$recipes/github/dispatch-hook.sh"
    sed 's/^if \[ \$# -lt 1 \]/if [[ $# -lt 1 ]]/' "$recipes/circleci/deploy-hook.sh" >"$tmp/hook.sh"
    check "a bash-ism in a hook fails it" fails shellcheck -s sh "$tmp/hook.sh"
    local kind file n
    for kind in github:github/reprise.yml circleci:circleci/config.yml gitlab:gitlab/reprise.gitlab-ci.yml; do
        file=$recipes/${kind#*:}
        kind=${kind%%:*}
        mkdir -p "$tmp/steps-$kind"
        n=$(python3 "$ci_run" scripts "$kind" "$file" "$tmp/steps-$kind")
        check "$kind: shellcheck passes its $n shell steps" shellcheck -s bash "$tmp/steps-$kind"/*.sh
    done
    sed 's/--target "\$REPRISE_TARGET"/--target $REPRISE_TARGET/' "$recipes/gitlab/reprise.gitlab-ci.yml" >"$tmp/unquoted.yml"
    mkdir -p "$tmp/steps-unquoted"
    python3 "$ci_run" scripts gitlab "$tmp/unquoted.yml" "$tmp/steps-unquoted" >/dev/null
    check "an unquoted variable in a step fails it" fails shellcheck -s bash "$tmp/steps-unquoted"/*.sh
}

# ------------------------------------------------------------------------------------ hooks
hooks() {
    local token=CCIPAT_Xy7secrettoken0123456789abcdef
    local target='https://shop.example.test/?v="1"'
    # A curl that writes its arguments down first: the token must not be among them.
    mkdir -p "$tmp/shim"
    printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s"\nexec %s "$@"\n' "$tmp/argv" "$(command -v curl)" >"$tmp/shim/curl"
    chmod +x "$tmp/shim/curl"
    hook() { # SCRIPT ARGS...: stdout, stderr in $tmp/out, $tmp/err; exit code in $code
        local script=$1; shift
        code=0
        PATH="$tmp/shim:$PATH" timeout 60 sh "$script" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
    }
    no_token() { ! grep -qF "$token" "$tmp/out" "$tmp/err" "$tmp/argv"; }

    # CircleCI: POST /project/SLUG/pipeline with Circle-Token, the branch and the parameters.
    local cci="$recipes/circleci/deploy-hook.sh"
    hook_start cci 201 '{"id":"0e7c6b8a-4d1b-4f0a-9c43-2f7c1a5e9b11","state":"created","number":42,"created_at":"2026-12-02T13:00:00Z"}'
    CIRCLECI_TOKEN=$token CIRCLECI_PROJECT=gh/acme/shop CIRCLECI_API=$HOOK_URL hook "$cci" "$target" "deploy 7"
    check "circleci hook: exit 0 on 201 (exit $code)" test "$code" -eq 0
    check "circleci hook: one line naming the pipeline" \
        test "$(cat "$tmp/out")" = "deploy-hook: pipeline 42 started for $target"
    local req=$tmp/cci/1.json
    check "circleci hook: POST /project/gh/acme/shop/pipeline" \
        test "$(jq -r '.method + " " + .path' "$req")" = "POST /project/gh/acme/shop/pipeline"
    check "circleci hook: the Circle-Token header holds the token" \
        test "$(jq -r '.headers["circle-token"]' "$req")" = "$token"
    check "circleci hook: JSON in, JSON accepted" \
        test "$(jq -r '.headers["content-type"] + " " + .headers.accept' "$req")" = "application/json application/json"
    check "circleci hook: the body is the branch and the two parameters" \
        test "$(jq -c '.body | fromjson' "$req")" = \
             "$(jq -nc --arg t "$target" '{branch: "main", parameters: {"reprise-target": $t, "reprise-reason": "deploy 7"}}')"
    check "circleci hook: the token is in no output and on no command line" no_token
    CIRCLECI_TOKEN=$token CIRCLECI_PROJECT=gh/acme/shop CIRCLECI_BRANCH=release CIRCLECI_API=$HOOK_URL/ hook "$cci" "$target"
    check "circleci hook: CIRCLECI_BRANCH is the branch, the reason may be empty" \
        test "$(jq -c '.body | fromjson | [.branch, .parameters["reprise-reason"]]' "$tmp/cci/2.json")" = '["release",""]'
    hook_stop

    hook_start cci404 404 "{\"message\":\"Project not found\"}"
    CIRCLECI_TOKEN=$token CIRCLECI_PROJECT=gh/acme/shop CIRCLECI_API=$HOOK_URL hook "$cci" "$target"
    check "circleci hook: 404 exits 1 (exit $code)" test "$code" -eq 1
    check "circleci hook: one line, the answer's message" \
        test "$(cat "$tmp/err")" = "deploy-hook: POST $HOOK_URL/project/gh/acme/shop/pipeline answered 404: Project not found"
    check "circleci hook: nothing on stdout" test ! -s "$tmp/out"
    check "circleci hook: no token in the error" no_token
    hook_stop
    hook_start cci500 500
    CIRCLECI_TOKEN=$token CIRCLECI_PROJECT=gh/acme/shop CIRCLECI_API=$HOOK_URL hook "$cci" "$target"
    check "circleci hook: 500 exits 1 with one line (exit $code)" \
        bash -c "test $code -eq 1 && test \$(wc -l <'$tmp/err') -eq 1 && grep -q 'answered 500: no_service' '$tmp/err'"
    hook_stop # the port is now refused
    CIRCLECI_TOKEN=$token CIRCLECI_PROJECT=gh/acme/shop CIRCLECI_API=$HOOK_URL hook "$cci" "$target"
    check "circleci hook: a refused port exits 1 (exit $code)" test "$code" -eq 1
    check "circleci hook: one line saying it cannot reach the API" \
        bash -c "test \$(wc -l <'$tmp/err') -eq 1 && grep -q '^deploy-hook: cannot reach $HOOK_URL: .*' '$tmp/err'"
    check "circleci hook: no token there either" no_token
    CIRCLECI_PROJECT=gh/acme/shop CIRCLECI_API=$HOOK_URL hook "$cci" "$target"
    check "circleci hook: no token is a usage error (exit $code)" \
        bash -c "test $code -eq 2 && grep -qx 'deploy-hook: CIRCLECI_TOKEN is not set' '$tmp/err'"
    CIRCLECI_TOKEN=$token CIRCLECI_PROJECT=gh/acme/shop CIRCLECI_API=$HOOK_URL hook "$cci" "shop.example.test"
    check "circleci hook: a target that is not a URL is a usage error (exit $code)" test "$code" -eq 2

    # GitHub: POST /repos/OWNER/REPO/actions/workflows/reprise.yml/dispatches, 204 No Content.
    : >"$tmp/argv"
    local gh="$recipes/github/dispatch-hook.sh"
    hook_start gh 204
    GITHUB_TOKEN=$token GITHUB_REPOSITORY=acme/shop GITHUB_API_URL=$HOOK_URL hook "$gh" "$target" "deploy 7"
    check "github hook: exit 0 on 204 (exit $code)" test "$code" -eq 0
    check "github hook: one line" test "$(cat "$tmp/out")" = "dispatch-hook: reprise.yml started for $target"
    req=$tmp/gh/1.json
    check "github hook: POST /repos/acme/shop/actions/workflows/reprise.yml/dispatches" \
        test "$(jq -r '.method + " " + .path' "$req")" = "POST /repos/acme/shop/actions/workflows/reprise.yml/dispatches"
    check "github hook: Authorization: Bearer TOKEN, GitHub's media type and API version" \
        test "$(jq -r '[.headers.authorization, .headers.accept, .headers["x-github-api-version"]] | join("|")' "$req")" = \
             "Bearer $token|application/vnd.github+json|2022-11-28"
    check "github hook: the body is the ref and the workflow's inputs" \
        test "$(jq -c '.body | fromjson' "$req")" = \
             "$(jq -nc --arg t "$target" '{ref: "main", inputs: {target: $t, reason: "deploy 7"}}')"
    check "github hook: the inputs are the workflow's" \
        test "$(python3 -c 'import sys, yaml; w = yaml.safe_load(open(sys.argv[1])); print(",".join(sorted(w[True]["workflow_dispatch"]["inputs"])))' "$recipes/github/reprise.yml")" = "reason,target"
    check "github hook: the token is in no output and on no command line" no_token
    hook_stop
    hook_start gh422 422 '{"message":"Unexpected inputs provided: [\"x\"]","documentation_url":"https://docs.github.com/rest"}'
    GITHUB_TOKEN=$token GITHUB_REPOSITORY=acme/shop GITHUB_API_URL=$HOOK_URL hook "$gh" "$target"
    check "github hook: 422 exits 1 with one line (exit $code)" \
        bash -c "test $code -eq 1 && test \$(wc -l <'$tmp/err') -eq 1 && grep -q 'answered 422: Unexpected inputs provided' '$tmp/err'"
    hook_stop
    GITHUB_TOKEN=$token GITHUB_REPOSITORY=acme/shop GITHUB_API_URL=$HOOK_URL hook "$gh" "$target"
    check "github hook: a refused port exits 1 with one line (exit $code)" \
        bash -c "test $code -eq 1 && test \$(wc -l <'$tmp/err') -eq 1 && grep -q '^dispatch-hook: cannot reach' '$tmp/err'"
    check "github hook: no token in any output" no_token
}

# ------------------------------------------------------------------------------ end to end
password=correct-horse-battery-staple
key=T0000/B0000/XXXXsecretwebhookkey
n_rec=5

# The app's repository as the README lays it out: five recordings (the demo checkout under
# five names), the recipe where it goes.
app_repo() { # DIR
    mkdir -p "$1/recordings"
    local i
    for i in $(seq 1 $n_rec); do
        zcat "$src/recordings/demo-checkout.jsonl.gz" |
            jq -c "if .reprise then .name = \"checkout-$i\" else . end" | gzip -c >"$1/recordings/checkout-$i.jsonl.gz"
    done
}

needs_shard() {
    "$REPRISE" replay --help 2>&1 | grep -- '--shard' >/dev/null ||
        skip "reprise replay has no --shard yet (the shard branch)"
}

# The report job needs `reprise merge --html` (the shard and html branches, merged). Without
# it, what ran so far must have passed, and the part is skipped, never passed.
needs_merge_html() {
    if "$REPRISE" merge --help >/dev/null 2>&1 && "$REPRISE" merge --help 2>&1 | grep -- '--html' >/dev/null; then
        return 0
    fi
    [ "$fail" -eq 0 ] || { echo "$pass passed, $fail failed"; exit 1; }
    skip "reprise merge --html is not there yet (the shard and html branches): the report job did not run"
}

# The shards' results and the shop afterwards: sets run_id.
check_shards() { # CI RESULTS_GLOB RUN_ID_PART SHOP_URL
    local ci=$1 glob=$2 idpart=$3 shop=$4
    local files
    files=$(compgen -G "$glob" | wc -l)
    check "$ci: four shards wrote their results ($files)" test "$files" -eq 4
    check "$ci: no shard posted a notice (the run's is the report job's)" test -z "$(ls "$tmp/notice")"
    run_id=$(for f in $(compgen -G "$glob"); do zcat "$f" | tail -n +2 | jq -r 'select(.check) | .request.headers[] | select(.[0] == "X-Reprise-Run") | .[1]'; done | sort -u)
    check "$ci: every shard's requests carry one run id ($run_id)" test "$(grep -c . <<<"$run_id")" -eq 1
    check "$ci: the run id comes from the CI's run ($idpart)" grep -qF -- "$idpart" <<<"$run_id"
    local sessions
    sessions=$(for f in $(compgen -G "$glob"); do zcat "$f" | tail -n +2 | jq -r 'select(.check) | .check.session'; done | sort -u | paste -sd' ')
    check "$ci: the shards ran the $n_rec sessions once each, numbered across shards ($sessions)" \
        test "$(tr ' ' '\n' <<<"$sessions" | sed 's/.*#//' | sort -n | paste -sd,)" = "$(seq -s, 1 $n_rec)"
    # Each session's tenant signed up (its owner's address rewritten with it), logs in, and
    # holds its paid order.
    local k t paid=0
    for k in $(seq 1 $n_rec); do
        t="acme-$run_id-$k"
        rm -f "$tmp/jar"
        if curl -sS --max-time 30 -c "$tmp/jar" -H 'Content-Type: application/json' \
               -d "{\"tenant\":\"$t\",\"email\":\"owner@$t.test\",\"password\":\"$password\"}" \
               -o /dev/null -w '%{http_code}' "$shop/api/login" | grep -qx 200 &&
           [ "$(curl -sS --max-time 30 -b "$tmp/jar" "$shop/t/$t/api/orders" | jq '[.. | objects | select(.status? == "paid")] | length')" -ge 1 ]; then
            paid=$((paid + 1))
        fi
    done
    check "$ci: the shop holds the tenants acme-$run_id-1..$n_rec, each with a paid order ($paid)" test "$paid" -eq $n_rec
    t="acme-$run_id-$((n_rec + 1))"
    check "$ci: and no other" test "$(curl -sS --max-time 30 -H 'Content-Type: application/json' \
        -d "{\"tenant\":\"$t\",\"email\":\"owner@$t.test\",\"password\":\"$password\"}" \
        -o /dev/null -w '%{http_code}' "$shop/api/login")" != 200
}

# The report job's outputs: JUNIT, HTML, the notice at $tmp/notice/1.json.
check_report() { # CI JUNIT HTML
    local ci=$1 junit=$2 html=$3
    check "$ci: the JUnit report is well-formed" xmllint --noout "$junit"
    check "$ci: it has every step of every session ($((n_rec * 9)))" \
        test "$(xmllint --xpath 'count(//testcase)' "$junit")" -eq $((n_rec * 9))
    check "$ci: none failed" test "$(xmllint --xpath 'count(//testcase[failure or error])' "$junit")" -eq 0
    check "$ci: the HTML report was written" grep -qi '<html' "$html"
    check "$ci: the HTML report loads nothing from the network" \
        bash -c "! grep -qiE '<(script|link|img)[^>]+(src|href)=\"https?://' '$html'"
    check "$ci: one notice was posted" test "$(ls "$tmp/notice" | wc -l)" -eq 1
    local text
    text=$(jq -r '.body | fromjson | .text' "$tmp/notice/1.json")
    check "$ci: to the webhook's path" test "$(jq -r .path "$tmp/notice/1.json")" = "/services/$key"
    check "$ci: it says passed, with the run id" \
        bash -c 'grep -q "^reprise passed" <<<"$1" && grep -qF -- "$2" <<<"$1"' _ "$text" "$run_id"
    check "$ci: it counts the $n_rec sessions" grep -q "sessions $n_rec passed" <<<"$text"
    check "$ci: no secret in the logs or reports" \
        bash -c "! grep -rlF -e '$password' -e XXXXsecretwebhookkey '$tmp/$ci.log' '$junit' '$html'"
}

export PATH="$(dirname "$REPRISE"):$PATH"

github_e2e() {
    needs_shard
    local app=$tmp/gh-app wf
    app_repo "$app"
    mkdir -p "$app/.github/workflows"
    cp "$recipes/github/reprise.yml" "$app/.github/workflows/"
    wf=$app/.github/workflows/reprise.yml
    demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); local shop=$DEMO_URL
    hook_start notice 200
    jq -n --arg u "$shop" '{action: "created", deployment_status: {state: "success", environment_url: $u},
        deployment: {environment: "production"}}' >"$tmp/gh-event.json"
    export GITHUB_EVENT_NAME=deployment_status GITHUB_EVENT_PATH=$tmp/gh-event.json
    export GITHUB_RUN_ID=4242 GITHUB_RUN_ATTEMPT=2 GITHUB_SERVER_URL=https://github.example.test
    export GITHUB_REPOSITORY=acme/shop GITHUB_STEP_SUMMARY=$tmp/summary.md
    local n code
    for n in 1 2 3 4; do
        code=0
        (cd "$app" && python3 "$ci_run" github "$wf" replay --matrix shard=$n \
            --secret REPRISE_SECRET_PASSWORD=$password --secret "REPRISE_NOTIFY_URL=$HOOK_URL/services/$key") \
            >>"$tmp/github.log" 2>&1 || code=$?
        check "github: shard $n of 4 passes (exit $code)" test "$code" -eq 0
    done
    check_shards github "$app/results/shard-*.jsonl.gz" gh-4242-2 "$shop"
    check "github: each shard wrote its JUnit report too" test "$(compgen -G "$app/results/shard-*.xml" | wc -l)" -eq 4
    mv "$app/results" "$tmp/gh-results"

    # A deployment with no environment_url: the repository variable REPRISE_TARGET; neither:
    # the job fails before anything is sent.
    jq -n '{deployment_status: {state: "success"}, deployment: {environment: "staging"}}' >"$tmp/gh-event.json"
    code=0
    (cd "$app" && GITHUB_RUN_ID=4244 GITHUB_RUN_ATTEMPT=1 python3 "$ci_run" github "$wf" replay --matrix shard=1 \
        --secret REPRISE_SECRET_PASSWORD=$password --var "REPRISE_TARGET=$shop") >"$tmp/gh-var.log" 2>&1 || code=$?
    check "github: no environment_url, the variable REPRISE_TARGET is the target (exit $code)" \
        bash -c "test $code -eq 0 && zcat '$app/results/shard-1.jsonl.gz' | grep -qF '\"X-Reprise-Run\",\"gh-4244-1\"' && zcat '$app/results/shard-1.jsonl.gz' | grep -qF '${shop#http://}'"
    rm -rf "$app/results"
    code=0
    (cd "$app" && python3 "$ci_run" github "$wf" replay --matrix shard=1 \
        --secret REPRISE_SECRET_PASSWORD=$password) >"$tmp/gh-none.log" 2>&1 || code=$?
    check "github: no target at all fails the job with exit 2 (exit $code)" \
        bash -c "test $code -eq 2 && grep -q '^::error::no target' '$tmp/gh-none.log' && test ! -e '$app/results/shard-1.jsonl.gz'"
    rm -rf "$app/results"
    mv "$tmp/gh-results" "$app/results"
    needs_merge_html
    code=0
    (cd "$app" && python3 "$ci_run" github "$wf" report --secret "REPRISE_NOTIFY_URL=$HOOK_URL/services/$key") \
        >>"$tmp/github.log" 2>&1 || code=$?
    check "github: the report job passes (exit $code)" test "$code" -eq 0
    check_report github "$app/reprise.xml" "$app/reprise.html"
    check "github: the notice links the run" \
        grep -qF 'https://github.example.test/acme/shop/actions/runs/4242' "$tmp/notice/1.json"
    check "github: the job summary says passed, $((n_rec * 9)) steps" \
        bash -c "grep -qx '### reprise: passed' '$tmp/summary.md' && grep -q '^$((n_rec * 9)) steps passed, 0 failed' '$tmp/summary.md'"

    # A drifted shop, started by hand (workflow_dispatch): the shards still pass (their
    # verdicts go to the merge), the report job fails, and the summary lists the failures.
    demo_start "$DEMO_BIN" --drift; pids+=("$DEMO_PID"); local drifted=$DEMO_URL
    rm -rf "$app/results" "$tmp/notice"/*.json "$tmp/summary.md"
    jq -n --arg u "$drifted" '{inputs: {target: $u, reason: "by hand"}}' >"$tmp/gh-event.json"
    export GITHUB_EVENT_NAME=workflow_dispatch GITHUB_RUN_ID=4243 GITHUB_RUN_ATTEMPT=1
    for n in 1 2 3 4; do
        code=0
        (cd "$app" && python3 "$ci_run" github "$wf" replay --matrix shard=$n \
            --secret REPRISE_SECRET_PASSWORD=$password --secret "REPRISE_NOTIFY_URL=$HOOK_URL/services/$key") \
            >>"$tmp/github.log" 2>&1 || code=$?
        check "github, drifted: shard $n passes its job (exit $code)" test "$code" -eq 0
    done
    code=0
    (cd "$app" && python3 "$ci_run" github "$wf" report --secret "REPRISE_NOTIFY_URL=$HOOK_URL/services/$key") \
        >"$tmp/github-drift.log" 2>&1 || code=$?
    check "github, drifted: the report job fails with exit 1 (exit $code)" test "$code" -eq 1
    check "github, drifted: the input target was the one replayed" \
        bash -c "zcat '$app'/results/shard-*.jsonl.gz | grep -qF '${drifted#http://}'"
    check "github, drifted: the JUnit report has the failures" \
        test "$(xmllint --xpath 'count(//testcase[failure])' "$app/reprise.xml")" -ge $n_rec
    check "github, drifted: the summary says failed, with a table of them" \
        bash -c "grep -qx '### reprise: failed' '$tmp/summary.md' && grep -q '^| checkout-[0-9]#[0-9]* | ' '$tmp/summary.md'"
    check "github, drifted: each failure is an annotation" grep -q '^::error title=reprise checkout-[0-9]#[0-9]::' "$tmp/github-drift.log"
    check "github, drifted: one notice, saying failed" \
        bash -c 'test $# -eq 1 && jq -r ".body | fromjson | .text" "$1" | grep -q "^reprise failed"' _ "$tmp"/notice/*.json
}

circleci_e2e() {
    needs_shard
    local app=$tmp/cci-app cfg
    app_repo "$app"
    mkdir -p "$app/.circleci"
    cp "$recipes/circleci/config.yml" "$app/.circleci/"
    cfg=$app/.circleci/config.yml
    demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); local shop=$DEMO_URL
    hook_start notice 200
    export CIRCLE_WORKFLOW_ID=5f0f6c52-8e7b-4d63-9a57-1c2d3e4f5a6b CIRCLE_NODE_TOTAL=4
    export CIRCLE_BUILD_URL=https://circleci.example.test/gh/acme/shop/77
    # Project variables are in every job's environment, the shards' too.
    export REPRISE_SECRET_PASSWORD=$password REPRISE_NOTIFY_URL=$HOOK_URL/services/$key
    local n code
    for n in 0 1 2 3; do
        code=0
        (cd "$app" && CIRCLE_NODE_INDEX=$n python3 "$ci_run" circleci "$cfg" replay \
            --param "reprise-target=$shop" --param "reprise-reason=deploy 7") >>"$tmp/circleci.log" 2>&1 || code=$?
        check "circleci: node $n of 4 passes (exit $code)" test "$code" -eq 0
    done
    check "circleci: the reason is shown" grep -q 'replaying against .* (deploy 7)' "$tmp/circleci.log"
    check_shards circleci "$app/results/shard-*.jsonl.gz" cci- "$shop"
    needs_merge_html
    code=0
    (cd "$app" && python3 "$ci_run" circleci "$cfg" report) \
        >>"$tmp/circleci.log" 2>&1 || code=$?
    check "circleci: the report job passes (exit $code)" test "$code" -eq 0
    check_report circleci "$app/report/junit/reprise.xml" "$app/report/reprise.html"
    check "circleci: the notice links the job" grep -qF "$CIRCLE_BUILD_URL" "$tmp/notice/1.json"
}

gitlab_e2e() {
    needs_shard
    local app=$tmp/gl-app file
    app_repo "$app"
    mkdir -p "$app/ci"
    cp "$recipes/gitlab/reprise.gitlab-ci.yml" "$app/ci/"
    file=$app/ci/reprise.gitlab-ci.yml
    demo_start "$DEMO_BIN"; pids+=("$DEMO_PID"); local shop=$DEMO_URL
    hook_start notice 200
    export CI_PIPELINE_SOURCE=trigger CI_PIPELINE_ID=9191 CI_NODE_TOTAL=4
    export CI_PIPELINE_URL=https://gitlab.example.test/acme/shop/-/pipelines/9191
    # Project variables are in every job's environment, the shards' too.
    export REPRISE_TARGET=$shop REPRISE_SECRET_PASSWORD=$password REPRISE_NOTIFY_URL=$HOOK_URL/services/$key
    local n code
    for n in 1 2 3 4; do
        code=0
        (cd "$app" && CI_NODE_INDEX=$n python3 "$ci_run" gitlab "$file" reprise-replay) >>"$tmp/gitlab.log" 2>&1 || code=$?
        check "gitlab: job $n/4 passes (exit $code)" test "$code" -eq 0
    done
    check_shards gitlab "$app/results/shard-*.jsonl.gz" 9191 "$shop"
    # Without a target the job stops at once, before anything is sent.
    code=0
    (cd "$app" && REPRISE_TARGET='' CI_NODE_INDEX=1 python3 "$ci_run" gitlab "$file" reprise-replay) >"$tmp/gl-none.log" 2>&1 || code=$?
    check "gitlab: no REPRISE_TARGET fails the job with exit 2 (exit $code)" \
        bash -c "test $code -eq 2 && grep -q 'reprise: no target' '$tmp/gl-none.log'"
    needs_merge_html
    code=0
    (cd "$app" && python3 "$ci_run" gitlab "$file" reprise-report) \
        >>"$tmp/gitlab.log" 2>&1 || code=$?
    check "gitlab: the report job passes (exit $code)" test "$code" -eq 0
    check_report gitlab "$app/reprise.xml" "$app/reprise.html"
    check "gitlab: the notice links the pipeline" grep -qF "$CI_PIPELINE_URL" "$tmp/notice/1.json"
}

case $part in
    lint) lint ;;
    hooks) hooks ;;
    github) github_e2e ;;
    circleci) circleci_e2e ;;
    gitlab) gitlab_e2e ;;
    all) lint; hooks; github_e2e; circleci_e2e; gitlab_e2e ;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
