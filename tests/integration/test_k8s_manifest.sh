#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deploy/kubernetes/ (issue 14, item 5): the Indexed Job and the merge Job.
#
#   schema  every document of the manifests passes the Kubernetes schema of its kind
#           (kubernetes-models and @kubernetes/client-node's models, tests/k8s), and broken
#           copies do not: a wrong field type, a missing required field, a value outside an
#           enum, a misspelt field, a kind that does not exist
#   policy  what docs/scaling.md promises of the manifests: Indexed, completions = --shards,
#           one results file per index in the run's own folder, the run id from the Job's uid,
#           the exit codes' pod failure policy, non-root, read-only root, no escalation,
#           requests and limits, a deadline
#   run     the pods' command lines run here, taken from the manifests: SHARDS reprise
#           processes with JOB_COMPLETION_INDEX 0..SHARDS-1 and the env the manifest sets,
#           against the demo shop on loopback, then the merge Job's shell script; checked by the
#           shop's own API (every session's tenant has its one order, paid), the results files
#           (each session in exactly one shard) and the merged JUnit report and chat notice.
#           Needs `replay --shards` and `reprise merge` (the shard part of issue 14): without
#           them this part is skipped, saying so.
#
#   test_k8s_manifest.sh DEMO [schema|policy|run]
# ctest-parts: schema policy run
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
DEMO_BIN=${1:-${REPRISE_DEMO:?set REPRISE_DEMO}}
part=${2:-all}
case $part in schema|policy|run|all) ;; *) echo "$0: no part '$part'" >&2; exit 2 ;; esac
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tools/lib/check.sh"
source "$src/tools/lib/demo-app.sh"
need node jq
k8s=$src/tests/k8s
for m in kubernetes-models yaml @kubernetes/client-node; do
    [ -d "$k8s/node_modules/$m" ] ||
        skip "tests/k8s/node_modules/$m is missing (tools/install-deps.sh runs npm ci there)"
done
job=$src/deploy/kubernetes/reprise-job.yaml
merge=$src/deploy/kubernetes/reprise-merge.yaml
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

kv() { timeout 120 node "$k8s/k8s.mjs" "$@"; }
# validate FILE...: its output in $tmp/v.out, its exit code in $code
validate() { code=0; kv validate "$@" >"$tmp/v.out" 2>&1 || code=$?; }

# ================================================================================================
if [ "$part" = schema ] || [ "$part" = all ]; then
    validate "$job" "$merge"
    check "schema: the manifests pass (exit $code: $(grep -v '^ok' "$tmp/v.out" | head -n3 | tr '\n' ' '))" \
        test "$code" -eq 0
    check "schema: every document was checked: the volume claim, the replay Job, the merge Job" \
        test "$(grep -c '^ok ' "$tmp/v.out")" -eq 3
    check "schema: ... by its kind" test "$(awk '{ print $3 }' "$tmp/v.out" | tr '\n' ' ')" = \
        "PersistentVolumeClaim/reprise-results Job/reprise-replay Job/reprise-merge "

    # A broken copy: sed EXPR on FILE, which must change it, and must then fail naming WHAT.
    broken() { # NAME FILE SED-EXPR WHAT
        local f=$tmp/$1.yaml
        sed -E "$3" "$2" >"$f"
        if cmp -s "$f" "$2"; then
            bad "schema: $1: the edit changed nothing (the test is out of date)"
            return
        fi
        validate "$f"
        check "schema: $1 is refused (exit $code)" test "$code" -eq 1
        check "schema: ... saying why ($(grep '^not ok' "$tmp/v.out" | cut -c1-200))" \
            grep -q -- "$4" "$tmp/v.out"
    }
    broken completions-string "$job" 's/^  completions: 4$/  completions: "four"/' \
        'spec/completions must be integer'
    broken no-container-name "$job" 's/^        - name: reprise$/        - image: reprise-first/; s/^          image: registry.*$//' \
        'spec/template/spec/containers/0 must have required property name'
    broken no-template "$merge" 's/^  template:$/  notTemplate:/' \
        'data/spec must have required property template'
    broken bad-completion-mode "$job" 's/completionMode: Indexed/completionMode: Numbered/' \
        'completionMode must be equal to one of the allowed values'
    broken bad-failure-action "$job" 's/action: FailIndex/action: Retry/' \
        'podFailurePolicy/rules/1/action must be equal to one of the allowed values'
    broken run-as-non-root-string "$job" '0,/runAsNonRoot: true/s//runAsNonRoot: "yes"/' \
        'runAsNonRoot must be boolean'
    broken misspelt-field "$job" 's/backoffLimitPerIndex: 1/backoffLimitPerIndx: 1/' \
        'unknown field data/spec/backoffLimitPerIndx'
    broken misspelt-nested-field "$merge" 's/readOnlyRootFilesystem: true/readOnlyRootFilesytem: true/' \
        'unknown field data/spec/template/spec/containers/0/securityContext/readOnlyRootFilesytem'
    broken unknown-kind "$job" 's/^kind: PersistentVolumeClaim$/kind: PersistentVolumeClam/' \
        'no schema for apiVersion v1 kind PersistentVolumeClam'
    printf 'apiVersion: batch/v1\nkind: Job\nspec: [unclosed\n' >"$tmp/not-yaml.yaml"
    validate "$tmp/not-yaml.yaml"
    check "schema: a file that is not YAML is refused (exit $code)" test "$code" -eq 1
fi

# ================================================================================================
if [ "$part" = policy ] || [ "$part" = all ]; then
    kv json "$job" >"$tmp/job.json"
    kv json "$merge" >"$tmp/merge.json"
    J() { jq -r "$@" "$tmp/job.json"; }
    M() { jq -r "$@" "$tmp/merge.json"; }
    rj='.[] | select(.kind == "Job")'
    c0='.spec.template.spec.containers[0]'
    check "policy: the replay Job is Indexed" test "$(J "$rj | .spec.completionMode")" = Indexed
    shards=$(J "$rj | $c0.args | index(\"--shards\") as \$i | .[\$i + 1]")
    check "policy: completions ($(J "$rj | .spec.completions")) is --shards ($shards)" \
        test "$(J "$rj | .spec.completions")" = "$shards"
    check "policy: parallelism is at most completions" \
        test "$(J "$rj | .spec.parallelism <= .spec.completions")" = true
    check "policy: the merge takes every results file of the run's folder" \
        bash -c "jq -r '.[0] | $c0.args[0]' '$tmp/merge.json' | grep -q '^exec reprise merge .* /results/results-\*.jsonl.gz\$'"
    check "policy: the run has a rate cap" \
        bash -c "jq -e '.[] | select(.kind == \"Job\") | $c0.args | index(\"--rate\") as \$i | .[\$i + 1] | test(\"^[0-9]+k?\$\")' '$tmp/job.json' >/dev/null"
    check "policy: one results file per index" \
        test "$(J "$rj | $c0.args | index(\"--results\") as \$i | .[\$i + 1]")" = \
        '/results/results-$(JOB_COMPLETION_INDEX).jsonl.gz'
    check "policy: the run id is the Job's uid" \
        test "$(J "$rj | $c0.env[] | select(.name == \"REPRISE_RUN_ID\") | .valueFrom.fieldRef.fieldPath")" = \
        "metadata.labels['batch.kubernetes.io/controller-uid']"
    check "policy: each run writes in its own folder, in the replay and in the merge" \
        test "$(J "$rj | $c0.volumeMounts[] | select(.mountPath == \"/results\") | .subPathExpr")|$(M ".[0] | $c0.volumeMounts[] | select(.mountPath == \"/results\") | .subPathExpr")" = \
        '$(REPRISE_RUN_ID)|$(REPRISE_RUN_ID)'
    check "policy: the results volume is ReadWriteMany" \
        test "$(J '.[] | select(.kind == "PersistentVolumeClaim") | .spec.accessModes | join(",")')" = ReadWriteMany
    check "policy: the tenant names the index's try, so a re-run index never meets its first try's tenants" \
        bash -c "jq -e '.[] | select(.kind == \"Job\") | $c0.args | index(\"--tenant-template\") as \$i | .[\$i + 1] | test(\"[{]session[}].*[{]env:REPRISE_INDEX_TRY[}]\")' '$tmp/job.json' >/dev/null"
    check "policy: ... whose count is the Job controller's failure count of the index" \
        test "$(J "$rj | $c0.env[] | select(.name == \"REPRISE_INDEX_TRY\") | .valueFrom.fieldRef.fieldPath")" = \
        "metadata.annotations['batch.kubernetes.io/job-index-failure-count']"
    check "policy: exit 2 fails the Job, 1 and 3 fail the index without a re-run" \
        test "$(J "$rj | [.spec.podFailurePolicy.rules[] | \"\(.action):\(.onExitCodes.values | join(\",\"))\"] | join(\" \")")" = \
        "FailJob:2 FailIndex:1,3"
    check "policy: a re-run per index, once; the merge never re-runs" \
        test "$(J "$rj | .spec.backoffLimitPerIndex")|$(M '.[0].spec.backoffLimit')" = "1|0"
    for d in "$tmp/job.json" "$tmp/merge.json"; do
        w=$(basename "$d" .json)
        check "policy: $w: deadline, restartPolicy Never, no service account token" \
            test "$(jq -r ".[] | select(.kind == \"Job\") | [.spec.activeDeadlineSeconds > 0, .spec.template.spec.restartPolicy, .spec.template.spec.automountServiceAccountToken] | join(\",\")" "$d")" = \
            "true,Never,false"
        check "policy: $w: non-root, read-only root, no privilege escalation, no capabilities" \
            test "$(jq -r ".[] | select(.kind == \"Job\") | .spec.template.spec as \$p | [\$p.securityContext.runAsNonRoot, \$p.securityContext.runAsUser > 0, \$p.containers[0].securityContext.readOnlyRootFilesystem, \$p.containers[0].securityContext.allowPrivilegeEscalation, (\$p.containers[0].securityContext.capabilities.drop | join(\",\"))] | join(\",\")" "$d")" = \
            "true,true,true,false,ALL"
        check "policy: $w: CPU and memory requests and limits" \
            test "$(jq -r ".[] | select(.kind == \"Job\") | $c0.resources | [.requests.cpu, .requests.memory, .limits.cpu, .limits.memory] | map(. != null) | all" "$d")" = true
    done
    check "policy: the secrets come from a Secret, as REPRISE_SECRET_* keys" \
        test "$(J "$rj | $c0.envFrom[0].secretRef.name")" = reprise-secrets
    check "policy: no secret value in the manifests (no Secret kind, no REPRISE_SECRET_ value)" \
        bash -c "! grep -qE 'kind: Secret|REPRISE_SECRET_[A-Z_]+: ' '$job' '$merge'"
fi

# ================================================================================================
if [ "$part" = run ] || [ "$part" = all ]; then
    need curl python3
    # Into files first: grep -q stops reading early, and pipefail would count the SIGPIPE.
    "$REPRISE" replay --help >"$tmp/replay.help" 2>&1 || true
    if ! grep -q -- '--shards' "$tmp/replay.help" || ! "$REPRISE" merge --help >"$tmp/merge.help" 2>&1; then
        skip "this reprise has no 'replay --shards' or 'reprise merge' yet (issue 14's shard part): the pods' command lines were not run"
    fi
    password=correct-horse-battery-staple
    uid=5b7f3c1e-8d2a-4e6f-9a0b-1c2d3e4f5a6b # what the Job controller would put in the label
    demo_start "$DEMO_BIN"; pids+=("$DEMO_PID")
    python3 "$src/tests/integration/webhook.py" "$tmp/hook" >"$tmp/hook.url" &
    pids+=("$!")
    mkdir -p "$tmp/hook" "$tmp/recordings" "$tmp/results" "$tmp/bin"
    wait_for 30 test -s "$tmp/hook.url" || { bad "run: the webhook receiver started"; exit 1; }
    hook=$(head -n1 "$tmp/hook.url")/services/T0/B0/k8s-merge-test
    # The ConfigMap's files, and `reprise` on PATH as in the image.
    cp "$src/recordings/demo-checkout.jsonl.gz" "$tmp/recordings/"
    ln -s "$REPRISE" "$tmp/bin/reprise"
    pod() { # FILE JOB INDEX [--set NAME=VALUE]...: the pod's argv, env and mounts in $tmp/pod.json
        local f=$1 j=$2 i=$3
        shift 3
        kv pod "$f" "$j" "$i" \
            "metadata.labels['batch.kubernetes.io/controller-uid']=$uid" \
            "metadata.annotations['batch.kubernetes.io/job-index-failure-count']=0" \
            --secret "reprise-secrets=REPRISE_NOTIFY_URL=$hook" "$@" \
            --mount "/recordings=$tmp/recordings" --mount "/results=$tmp/results" \
            >"$tmp/pod.json" 2>"$tmp/pod.err" || { cat "$tmp/pod.err"; echo '{}' >"$tmp/pod.json"; }
    }
    # Runs the pod of $tmp/pod.json in the background with exactly its env, the Secret's key
    # (envFrom reprise-secrets) and PATH: sets last_pid.
    start_pod() { # OUT
        local -a argv envs
        # NUL-separated: the merge's script is one argument of many lines.
        mapfile -d '' -t argv < <(jq -j '.argv[] | ., "\u0000"' "$tmp/pod.json")
        mapfile -d '' -t envs < <(jq -j '.env | to_entries[] | "\(.key)=\(.value)", "\u0000"' "$tmp/pod.json")
        # The subPathExpr folders the kubelet makes.
        jq -r '.mounts[] | select(.local) | .local' "$tmp/pod.json" | xargs -r mkdir -p
        # The sanitizers' options are the harness's, not the pod's: passed through.
        local -a san=()
        local v
        for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
            [ -z "${!v:-}" ] || san+=("$v=${!v}")
        done
        env -i PATH="$tmp/bin:/usr/bin:/bin" HOME="$tmp" TMPDIR="$tmp" "${san[@]}" \
            REPRISE_SECRET_PASSWORD="$password" "${envs[@]}" \
            timeout 600 "${argv[@]}" >"$1.out" 2>"$1.err" &
        last_pid=$!
    }

    pod "$job" reprise-replay 0 --set "REPRISE_TARGET=$DEMO_URL"
    shards=$(jq -r '.completions' "$tmp/pod.json")
    sessions=$(jq -r '.argv | index("--sessions") as $i | .[$i + 1]' "$tmp/pod.json")
    steps=$(zcat "$tmp/recordings/demo-checkout.jsonl.gz" | tail -n +2 | grep -c .)
    check "run: the Job has shards ($shards) and sessions ($sessions)" \
        bash -c "[[ '$shards' =~ ^[0-9]+$ && '$sessions' =~ ^[0-9]+$ ]]"
    rate=$(jq -r '.argv | index("--rate") as $i | .[$i + 1]' "$tmp/pod.json")
    run_pids=()
    t0=$(date +%s.%N)
    for i in $(seq 0 $((shards - 1))); do
        pod "$job" reprise-replay "$i" --set "REPRISE_TARGET=$DEMO_URL"
        check "run: pod $i: its argv is reprise replay, its results file results-$i in the run's folder" \
            test "$(jq -r '"\(.argv[0]) \(.argv[2]) \(.argv | index("--results") as $j | .[$j + 1])"' "$tmp/pod.json")" = \
            "reprise replay $tmp/results/$uid/results-$i.jsonl.gz"
        start_pod "$tmp/pod$i"
        run_pids+=("$last_pid")
        pids+=("$last_pid")
    done
    for i in $(seq 0 $((shards - 1))); do
        code=0
        wait "${run_pids[$i]}" || code=$?
        check "run: pod $i exits 0 (exit $code; $(head -c 300 "$tmp/pod$i.err" | tr '\n' ' '))" test "$code" -eq 0
        check "run: pod $i wrote its results file" test -s "$tmp/results/$uid/results-$i.jsonl.gz"
    done
    t1=$(date +%s.%N)
    # --rate is the whole run's: the pods together took at least about requests / rate (less
    # a second for the rate's first burst), not requests / (rate × shards).
    check "run: the $shards pods held the run's --rate $rate ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s for $((sessions * steps)) requests)" \
        awk -v a="$t0" -v b="$t1" -v n="$((sessions * steps))" -v r="$rate" 'BEGIN { exit !(b - a >= n / r - 1) }'

    # Which sessions each shard ran, and the tenant each signed up, from the results files.
    for i in $(seq 0 $((shards - 1))); do
        zcat "$tmp/results/$uid/results-$i.jsonl.gz" 2>/dev/null | tail -n +2 |
            jq -c --arg i "$i" 'select(.check.session != null and (.check.attempt // 0) == 0 and (.request.url | endswith("/api/signup")))
                | {shard: $i, session: .check.session, tenant: (.request.body | fromjson | .tenant)}' || true
    done >"$tmp/signups.jsonl"
    S() { jq -s -r "$@" "$tmp/signups.jsonl"; }
    check "run: $sessions sessions signed up, over all the shards ($(S 'length'))" test "$(S 'length')" -eq "$sessions"
    check "run: each session ran in exactly one shard" \
        test "$(S '[.[].session] | unique | length')" -eq "$sessions"
    check "run: every shard ran some of them ($(S 'group_by(.shard) | map(length) | join(",")'))" \
        test "$(S 'group_by(.shard) | length')" -eq "$shards"
    check "run: the sessions are numbered 1..$sessions across the shards" \
        test "$(S '[.[].session | sub(".*#"; "") | tonumber] | sort == [range(1; '"$sessions"' + 1)]')" = true
    check "run: every tenant is its own, names the run and is the first try's" \
        test "$(S --arg u "$uid" '[.[].tenant | select(startswith("acme-" + $u + "-") and endswith("-a0"))] | unique | length')" -eq "$sessions"

    # The shop's own view: each tenant logs in and has exactly one order, paid.
    jar=$tmp/jar
    shop_ok=0
    while read -r t; do
        rm -f "$jar"
        curl -sS --max-time 30 -c "$jar" -H 'Content-Type: application/json' \
            -d "{\"tenant\":\"$t\",\"email\":\"owner@$t.test\",\"password\":\"$password\"}" \
            -o /dev/null "$DEMO_URL/api/login"
        o=$(curl -sS --max-time 30 -b "$jar" "$DEMO_URL/t/$t/api/orders" | jq -r '[.orders[].status] | join(",")')
        [ "$o" = paid ] && shop_ok=$((shop_ok + 1))
    done < <(S -r '.[].tenant')
    check "run: the shop: each of the $sessions tenants has one order, paid ($shop_ok)" test "$shop_ok" -eq "$sessions"

    # The merge Job's script, once every pod has finished.
    # The merge Job as the kubectl sequence of docs/scaling.md makes it: REPLAY_JOB_UID is the
    # replay Job's uid.
    sed "s/REPLAY_JOB_UID/$uid/" "$merge" >"$tmp/merge.yaml"
    pod "$tmp/merge.yaml" reprise-merge 0
    check "run: the merge Job's pod reads the run's folder" \
        test "$(jq -r '.mounts[] | select(.mountPath == "/results") | .local' "$tmp/pod.json")" = "$tmp/results/$uid"
    # `merge --html` came with the html and shard parts of issue 14; without it the script
    # runs without the flag, and says so.
    html=yes
    if ! grep -q -- '--html' "$tmp/merge.help"; then
        html=no
        echo "note - this reprise has no 'merge --html' yet: the merge runs without it"
        jq '.argv |= map(sub(" --html [^ ]*report.html"; ""))' "$tmp/pod.json" >"$tmp/pod2.json"
        mv "$tmp/pod2.json" "$tmp/pod.json"
    fi
    start_pod "$tmp/merge"
    code=0
    wait "$last_pid" || code=$?
    check "run: the merge exits 0 (exit $code; $(head -c 300 "$tmp/merge.err" | tr '\n' ' '))" test "$code" -eq 0
    check "run: the merge's summary counts every session as passed" \
        grep -qx "sessions: $sessions passed, 0 flaky, 0 failed, 0 infrastructure" "$tmp/merge.out"
    junit=$tmp/results/$uid/junit.xml
    check "run: the merged JUnit report: $((sessions * steps)) testcases, no failure, no error" \
        test "$(python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
c = list(r.iter("testcase"))
print(len(c), sum(1 for t in c for k in t if k.tag in ("failure", "error")))' "$junit" 2>/dev/null)" = "$((sessions * steps)) 0"
    if [ "$html" = yes ]; then
        h=$tmp/results/$uid/report.html
        check "run: the merged HTML report names the run" grep -q "$uid" "$h"
        check "run: ... whose summary counts $sessions sessions passed, $((sessions * steps)) steps passed" \
            test "$(grep -o 'data-k="sessions.passed">[0-9]*<\|data-k="steps.passed">[0-9]*<' "$h" | tr -dc '0-9 \n' | tr '\n' ' ')" = "$sessions $((sessions * steps)) "
        check "run: ... and every session it shows passed" \
            test "$(grep -o '<section class="session[^>]*data-verdict="[a-z]*"' "$h" | grep -vc 'data-verdict="passed"')" -eq 0
    fi
    check "run: one chat notice, from the merge" test "$(find "$tmp/hook" -name '*.json' | wc -l)" -eq 1
    check "run: ... naming the run and its $sessions passed sessions" \
        bash -c "jq -r .body '$tmp/hook/1.json' 2>/dev/null | grep -q '$uid' && jq -r .body '$tmp/hook/1.json' | grep -q '$sessions passed'"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
